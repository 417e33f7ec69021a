// "Send money" on a creator's profile (salon:profile) and in a room (salon:room).
// The payer picks an amount; the server quotes the breakdown (to the creator, the
// processing fee, the total); "Continue" creates the PaymentIntent and mounts Stripe's
// Payment Element with the instance's publishable key.
import { api, el } from "/static/api.js";

const STRIPE_JS = "https://js.stripe.com/v3/";

export function formatMoney(amount, currency, exponent) {
  try {
    return new Intl.NumberFormat(undefined, {
      style: "currency", currency: currency.toUpperCase(),
      minimumFractionDigits: exponent, maximumFractionDigits: exponent,
    }).format(amount / 10 ** exponent);
  } catch {
    return `${(amount / 10 ** exponent).toFixed(exponent)} ${currency.toUpperCase()}`;
  }
}

// "12.5" -> 1250 minor units (exponent 2); null when it is not an amount.
export function toMinor(text, exponent) {
  const cleaned = String(text).trim().replace(",", ".");
  const pattern = exponent > 0 ? new RegExp(`^\\d{1,9}(?:\\.\\d{0,${exponent}})?$`) : /^\d{1,9}$/;
  if (!pattern.test(cleaned)) return null;
  const [whole, part = ""] = cleaned.split(".");
  return Number(whole) * 10 ** exponent + Number((part + "0".repeat(exponent)).slice(0, exponent) || 0);
}

function newRequestId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `r${Date.now()}${Math.random().toString(16).slice(2)}`;
}

let stripeLoading = null;
function loadStripe() {
  if (window.Stripe) return Promise.resolve(window.Stripe);
  if (!stripeLoading) {
    stripeLoading = new Promise((resolve, reject) => {
      const script = el("script", { src: STRIPE_JS });
      script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error("Stripe.js did not start")));
      script.onerror = () => reject(new Error("Stripe.js could not be loaded"));
      document.head.append(script);
    }).catch((error) => { stripeLoading = null; throw error; });
  }
  return stripeLoading;
}

// The widget for paying CREATOR (a username); CONFIG is the plugin's public config.
export function sendMoney(creator, config, { roomId = null, label = null } = {}) {
  const { currency, exponent } = config;
  const fmt = (amount) => formatMoney(amount, currency, exponent);
  const status = el("p", { class: "status", role: "status", "data-part": "status" });
  const parts = {
    amount: el("dd", { "data-part": "amount" }, "–"),
    fee: el("dd", { "data-part": "fee" }, "–"),
    total: el("dd", { "data-part": "total" }, "–"),
  };
  const custom = el("input", {
    name: "amount", inputmode: "decimal", autocomplete: "off", "data-part": "custom",
    placeholder: (config.min_amount / 10 ** exponent).toFixed(exponent),
  });
  const anonymous = el("input", { type: "checkbox", name: "anonymous", "data-part": "anonymous" });
  const pay = el("button", { type: "button", class: "primary", disabled: true, "data-part": "pay" }, "Continue to payment");
  const cardForm = el("div", { class: "payment-element", "data-part": "payment-element" });
  let chosen = null;
  let requestId = newRequestId();
  let quoteSeq = 0;

  const presets = config.presets.map((value) => el("button", {
    type: "button", "aria-pressed": "false", "data-amount": value,
    onclick: () => { custom.value = ""; choose(value); },
  }, fmt(value)));

  async function choose(amount) {
    for (const b of presets) b.setAttribute("aria-pressed", String(Number(b.dataset.amount) === amount));
    custom.removeAttribute("aria-invalid");
    chosen = null;
    pay.disabled = true;
    requestId = newRequestId();
    if (amount === null) {
      status.textContent = `Enter an amount between ${fmt(config.min_amount)} and ${fmt(config.max_amount)}.`;
      custom.setAttribute("aria-invalid", "true");
      return;
    }
    const seq = ++quoteSeq;
    try {
      const quote = await api("GET", `/api/payments_stripe/quote?amount=${amount}`);
      if (seq !== quoteSeq) return;
      parts.amount.textContent = fmt(quote.amount);
      parts.fee.textContent = fmt(quote.fee);
      parts.total.textContent = fmt(quote.total);
      status.textContent = "";
      chosen = quote;
      pay.disabled = false;
    } catch (error) {
      if (seq !== quoteSeq) return;
      for (const p of Object.values(parts)) p.textContent = "–";
      status.textContent = error.message;
      if (error.field === "amount") custom.setAttribute("aria-invalid", "true");
    }
  }

  custom.addEventListener("input", () => {
    if (custom.value.trim() === "") return;
    choose(toMinor(custom.value, exponent));
  });

  pay.addEventListener("click", async () => {
    if (!chosen) return;
    pay.disabled = true;
    status.textContent = "Preparing the payment…";
    let payment;
    try {
      payment = await api("POST", "/api/payments_stripe/payments", {
        creator, amount: chosen.amount, anonymous: anonymous.checked,
        room_id: roomId, request_id: requestId,
      });
    } catch (error) {
      status.textContent = error.message;
      pay.disabled = false;
      return;
    }
    section.dataset.paymentId = payment.id;
    section.dataset.paymentIntent = payment.payment_intent_id || "";
    status.textContent = `Payment of ${fmt(payment.total)} prepared; loading the card form…`;
    try {
      const Stripe = await loadStripe();
      const stripe = Stripe(payment.publishable_key);
      const elements = stripe.elements({ clientSecret: payment.client_secret });
      elements.create("payment").mount(cardForm);
      const confirm = el("button", { type: "button", class: "primary" }, `Pay ${fmt(payment.total)}`);
      confirm.addEventListener("click", async () => {
        confirm.disabled = true;
        const { error } = await stripe.confirmPayment({
          elements, confirmParams: { return_url: `${location.origin}/payments?paid=${payment.id}` },
        });
        if (error) { status.textContent = error.message; confirm.disabled = false; }
      });
      cardForm.after(confirm);
      status.textContent = "";
    } catch (error) {
      status.textContent = `The card form could not load (${error.message}). Nothing was charged; try again later.`;
      pay.disabled = false;
    }
  });

  const headingId = `send-money-${creator}`;
  const section = el("section", { class: "send-money", "aria-labelledby": headingId, "data-creator": creator },
    el("h2", { id: headingId }, label || `Send money to @${creator}`),
    el("p", { class: "hint" }, `@${creator} receives the whole amount; the processing fee is added on top.`),
    el("div", { class: "controls", role: "group", "aria-label": "Amount" }, ...presets,
      el("label", {}, "Other amount ", custom)),
    el("label", { class: "check" }, anonymous, ` Hide my name from @${creator}`),
    el("dl", { class: "breakdown", "aria-live": "polite" },
      el("dt", {}, `To @${creator}`), parts.amount,
      el("dt", {}, "Processing fee"), parts.fee,
      el("dt", {}, "Total"), parts.total),
    pay, cardForm, status);
  return section;
}

// -- the profile page -------------------------------------------------------------------

function slot(containerId, id) {
  const container = document.getElementById(containerId);
  if (!container) return null;
  let box = document.getElementById(id);
  if (!box) {
    box = el("div", { id });
    container.append(box);
  }
  return box;
}

document.addEventListener("salon:profile", (event) => {
  const { profile, me } = event.detail;
  const info = profile.extras && profile.extras.payments;
  const box = slot("profile-extras", "payments-profile");
  if (!box || !info) return;
  if (me && me === profile.username) {
    const text = {
      enabled: "Your account can receive money.",
      pending: "Stripe has not enabled your account yet.",
      none: "Set up payouts to receive money from listeners.",
    }[info.onboarding] || "";
    box.replaceChildren(el("p", { class: "hint", id: "payments-onboarding", "data-status": info.onboarding },
      text, " ", el("a", { href: "/payments" }, "Payments")));
    return;
  }
  if (info.can_send) {
    if (box.firstElementChild && box.firstElementChild.dataset.creator === profile.username) return;
    box.replaceChildren(sendMoney(profile.username, info));
  } else if (info.can_receive && !me) {
    box.replaceChildren(el("p", { class: "hint" }, el("a", { href: `/login?next=/users/${profile.username}` }, "Log in"), " to send money."));
  } else {
    box.replaceChildren();
  }
});

// -- the room page ----------------------------------------------------------------------

let roomConfig = null;
const receivers = new Map(); // user id -> can receive
let roomWidgetFor = null;

async function refreshReceivers(ids) {
  const unknown = ids.filter((id) => !receivers.has(id));
  if (!unknown.length) return;
  const answer = await api("GET", `/api/payments_stripe/recipients?user_ids=${unknown.join(",")}`);
  for (const id of unknown) receivers.set(id, answer.user_ids.includes(id));
}

document.addEventListener("salon:room", async (event) => {
  const { room, members, me } = event.detail;
  const box = slot("room-extras", "payments-room");
  if (!box || !me) return;
  const stage = members.filter((m) => m.on_stage && m.user_id !== me && m.user);
  try {
    if (!roomConfig) roomConfig = await api("GET", "/api/payments_stripe/config");
    await refreshReceivers(stage.map((m) => m.user_id));
  } catch {
    return;
  }
  const payable = stage.filter((m) => receivers.get(m.user_id));
  if (!payable.length) { box.replaceChildren(); roomWidgetFor = null; return; }
  const buttons = payable.map((m) => el("button", {
    type: "button", "data-user": m.user.username,
    onclick: () => {
      roomWidgetFor = m.user.username;
      box.querySelector(".send-money")?.remove();
      box.append(sendMoney(m.user.username, roomConfig, { roomId: room.id }));
    },
  }, `Send money to @${m.user.username}`));
  const widget = box.querySelector(".send-money");
  const keep = widget && payable.some((m) => m.user.username === roomWidgetFor) ? widget : null;
  box.replaceChildren(el("div", { class: "controls" }, ...buttons), ...(keep ? [keep] : []));
});
