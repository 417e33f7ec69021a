// The room page: one socket per room (a snapshot, then numbered events), the stage and
// the audience drawn from that state, and the controls each person's role allows.
//
// Every event redraws the lists and the controls. So that a keyboard user keeps their
// place, each control carries a stable data-key and sits in a data-focus-group (a
// person, or "your controls"); after a redraw the focus returns to the same control,
// else to its group, else to the list it was in.
import { api, el, flash, localTime } from "./api.js";

const section = document.getElementById("room");
const roomId = section.dataset.roomId;
const me = section.dataset.me ? Number(section.dataset.me) : null;
const RANK = { host: 3, moderator: 2, speaker: 1, listener: 0 };
const FINAL_CLOSE_CODES = new Set([4001, 4003, 4004]);
const CONTAINERS = ["stage", "audience", "my-controls"];

const state = {
  room: null, members: new Map(), seq: 0, epoch: null, triedJoin: false, removed: false,
};
let socket = null;
let retryDelay = 500;

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let url = `${scheme}//${location.host}/api/rooms/${roomId}/ws`;
  if (state.epoch) url += `?since=${state.seq}&epoch=${encodeURIComponent(state.epoch)}`;
  setConnection("connecting…");
  const ws = new WebSocket(url);
  socket = ws;
  ws.addEventListener("open", () => { retryDelay = 500; setConnection(""); });
  ws.addEventListener("message", (message) => { if (ws === socket) receive(JSON.parse(message.data)); });
  ws.addEventListener("close", (event) => {
    if (ws !== socket) return;
    if (FINAL_CLOSE_CODES.has(event.code)) {
      setConnection("");
      if (event.code === 4001 && state.room && state.room.state !== "ended") {
        state.room.state = "ended";
        state.members.clear();
        render();
      }
      return;
    }
    setConnection("reconnecting…");
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

function setConnection(text) {
  document.getElementById("connection").textContent = text;
}

function announce(text) {
  const region = document.getElementById("announcer");
  if (region && text) region.textContent = text;
}

function nameOf(user, userId) {
  return user ? user.display_name : `#${userId}`;
}

// What a screen reader hears for an event (the lists themselves are not live regions:
// they are redrawn whole on every event).
function describe(msg) {
  const mine = msg.user_id === me;
  const who = mine ? "You" : nameOf(msg.user || (msg.member && msg.member.user), msg.user_id);
  const m = msg.member;
  switch (msg.kind) {
    case "opened": return "The room is live.";
    case "ended": return "This room has ended.";
    case "updated": return "The room's title or description changed.";
    case "member_joined": return mine ? "You joined the room." : `${who} joined.`;
    case "member_left": return mine ? "You left the room." : `${who} left.`;
    case "member_removed": return mine ? "You were removed from this room." : `${who} was removed.`;
    case "hand_raised": return mine ? "Your hand is raised." : `${who} raised their hand.`;
    case "hand_lowered": return mine ? "Your hand is lowered." : `${who} lowered their hand.`;
    case "invited_to_speak": return mine ? "You're invited to speak." : `${who} was invited to speak.`;
    case "invitation_declined": return mine ? "" : `${who} declined to speak.`;
    case "role_changed":
      if (!m) return "";
      if (!m.on_stage) return mine ? "You're in the audience." : `${who} moved to the audience.`;
      return mine ? `You're on stage as ${m.role}.` : `${who} is on stage as ${m.role}.`;
    case "mute_changed":
      if (!m || !mine) return "";
      if (m.muted_by_moderator) return "A moderator muted you.";
      return m.muted ? "You're muted." : "Your microphone is on.";
    default: return "";
  }
}

function receive(msg) {
  if (msg.error) { flash(msg.error.message); return; }
  if (msg.type === "snapshot") {
    state.room = msg.room;
    state.members = new Map([...msg.room.stage, ...msg.room.audience].map((m) => [m.user_id, m]));
    state.seq = msg.seq;
    state.epoch = msg.epoch;
    render();
    maybeJoin();
    return;
  }
  if (msg.type !== "event") {
    // Messages that are not room state (e.g. speaking indicators) are for plugins' scripts.
    document.dispatchEvent(new CustomEvent("salon:room-message", { detail: msg }));
    return;
  }
  if (msg.epoch !== state.epoch || msg.seq !== state.seq + 1) {
    // A gap: drop this socket and resume from the last event we applied.
    socket.close();
    return;
  }
  state.seq = msg.seq;
  if (msg.user_id !== null && msg.user_id !== undefined) {
    if (msg.member) state.members.set(msg.user_id, msg.member);
    else state.members.delete(msg.user_id);
  }
  Object.assign(state.room, msg.room);
  if (msg.kind === "ended") state.members.clear();
  if (msg.kind === "member_removed" && msg.user_id === me) {
    state.removed = true;
    flash("You were removed from this room.");
  }
  render();
  announce(describe(msg));
  // Whoever waited on the page of a scheduled room goes in when it opens (its opener
  // is already in: the next event says so).
  if (msg.kind === "opened" && msg.actor_id !== me) maybeJoin();
}

async function maybeJoin() {
  if (!me || state.triedJoin || state.removed || state.room.state !== "live" || state.members.has(me)) return;
  state.triedJoin = true;
  await act("POST", "join");
}

async function act(method, path, body = {}) {
  try {
    await api(method, `/api/rooms/${roomId}/${path}`, method === "DELETE" ? undefined : body);
    if (!state.removed) flash("");
    return true;
  } catch (error) {
    flash(error.message);
    if (error.code === "room_forbidden" && path === "join") {
      // Removed earlier: say so instead of offering a Join that cannot work.
      state.removed = true;
      render();
    }
    return false;
  }
}

function button(key, label, onclick, attrs = {}) {
  return el("button", { type: "button", onclick, dataset: { key }, ...attrs }, label);
}

// Line icons drawn inline (no emoji font needed), after Feather (MIT) and Lucide (ISC).
const ICONS = {
  mic: '<path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z"/><path d="M19 10v2a7 7 0 0 1-14 0v-2"/><path d="M12 19v4M8 23h8"/>',
  "mic-off": '<path d="M1 1l22 22"/><path d="M9 9v3a3 3 0 0 0 5.12 2.12M15 9.34V5a3 3 0 0 0-5.94-.6"/><path d="M17 16.95A7 7 0 0 1 5 12v-2m14 0v2a7 7 0 0 1-.11 1.23"/><path d="M12 19v4M8 23h8"/>',
  hand: '<path d="M18 11V6a2 2 0 0 0-4 0"/><path d="M14 10V4a2 2 0 0 0-4 0v2"/><path d="M10 10.5V6a2 2 0 0 0-4 0v8"/><path d="M18 8a2 2 0 1 1 4 0v6a8 8 0 0 1-8 8h-2c-2.8 0-4.5-.86-6-2.34l-3.6-3.6a2 2 0 0 1 2.83-2.83L7 15"/>',
};

// An icon; with a LABEL it is an image of that name, without it is decoration.
function icon(name, label) {
  const attrs = label ? { class: `icon ${name}`, role: "img", "aria-label": label, title: label }
    : { class: `icon ${name}`, "aria-hidden": "true" };
  const node = el("span", attrs);
  node.innerHTML = `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">${ICONS[name]}</svg>`;
  return node;
}

function myControls(mine) {
  const room = state.room;
  if (room.state === "ended") return [el("p", { class: "ended" }, "This room has ended.")];
  if (room.state === "scheduled") {
    return room.creator && room.creator.id === me
      ? [button("open", "Open the room now", () => act("POST", "open"), { class: "primary" })]
      : [];
  }
  if (!me) return [];
  if (state.removed) return [el("p", { class: "note" }, "You were removed from this room.")];
  if (!mine) return [button("join", "Join", () => act("POST", "join"), { class: "primary" })];
  const out = [];
  if (!mine.on_stage) {
    if (mine.invited_to_speak) {
      out.push(el("span", { class: "note" }, "You're invited to speak."));
      out.push(button("accept", "Join the stage", () => act("POST", "invitation/accept"), { class: "primary" }));
      out.push(button("decline", "Not now", () => act("POST", "invitation/decline")));
    }
    out.push(mine.hand_raised
      ? button("hand", "Lower hand", () => act("DELETE", "hand"))
      : button("hand", [icon("hand"), "Raise hand"], () => act("POST", "hand"), { class: "primary" }));
  } else {
    if (mine.muted_by_moderator) out.push(el("span", { class: "note" }, "A moderator muted you."));
    out.push(mine.muted
      ? button("mic", [icon("mic"), "Unmute"], () => act("POST", "mute", { user_id: me, muted: false }), { disabled: mine.muted_by_moderator })
      : button("mic", [icon("mic-off"), "Mute"], () => act("POST", "mute", { user_id: me, muted: true })));
    if (mine.role !== "host") out.push(button("step-down", "Move to audience", () => act("POST", "move-to-audience", { user_id: me })));
  }
  if (RANK[mine.role] >= RANK.moderator) {
    out.push(button("end", "End room", () => { if (confirm("End this room for everyone?")) act("POST", "end"); }, { class: "danger" }));
  }
  out.push(button("leave", "Leave quietly", async () => {
    await act("POST", "leave");
    location.href = "/";
  }));
  return out;
}

function memberActions(mine, m) {
  if (!mine || m.user_id === me || state.room.state !== "live") return [];
  const canAct = mine.role === "host" || (mine.role === "moderator" && RANK[m.role] < RANK.moderator);
  if (!canAct) return [];
  const target = { user_id: m.user_id };
  const name = nameOf(m.user, m.user_id);
  const out = [];
  if (!m.on_stage && !m.invited_to_speak) out.push(button("invite", "Invite to speak", () => act("POST", "invite-to-speak", target), { "aria-label": `Invite ${name} to speak` }));
  if (m.on_stage && m.role !== "host") out.push(button("move", "Move to audience", () => act("POST", "move-to-audience", target), { "aria-label": `Move ${name} to the audience` }));
  if (m.on_stage) {
    out.push(m.muted_by_moderator
      ? button("mute", "Lift mute", () => act("POST", "mute", { ...target, muted: false }), { "aria-label": `Lift the mute on ${name}` })
      : button("mute", "Mute", () => act("POST", "mute", { ...target, muted: true }), { "aria-label": `Mute ${name}` }));
  }
  if (mine.role === "host" && m.role === "speaker") out.push(button("promote", "Make moderator", () => act("POST", "make-moderator", target), { "aria-label": `Make ${name} a moderator` }));
  out.push(button("remove", "Remove", () => { if (confirm(`Remove ${name} from this room?`)) act("POST", "remove", target); }, { class: "danger", "aria-label": `Remove ${name}` }));
  return out;
}

function memberItem(mine, m) {
  const name = nameOf(m.user, m.user_id);
  const badges = [];
  if (m.user_id === me) badges.push(el("span", { class: "note" }, "(you)"));
  if (m.role !== "listener" && m.role !== "speaker") badges.push(el("span", { class: `badge ${m.role}` }, m.role));
  if (m.on_stage) badges.push(m.muted ? icon("mic-off", "muted") : icon("mic", "microphone on"));
  if (m.hand_raised) badges.push(icon("hand", "hand raised"));
  if (m.invited_to_speak) badges.push(el("span", { class: "note" }, "invited"));
  return el("li", { class: "person", dataset: { userId: m.user_id, role: m.role, focusGroup: `member-${m.user_id}` } },
    el("span", { class: "avatar", "aria-hidden": "true" }, name.slice(0, 1).toUpperCase()),
    el("span", { class: "who" },
      el("a", { class: "name", href: m.user ? `/users/${encodeURIComponent(m.user.username)}` : "#" }, name),
      ...badges),
    el("span", { class: "actions" }, ...memberActions(mine, m)),
  );
}

// Where the focus is, as keys that survive a redraw.
function focusPlace() {
  const active = document.activeElement;
  if (!active || active === document.body) return null;
  const container = active.closest(CONTAINERS.map((id) => `#${id}`).join(", "));
  if (!container) return null;
  const group = active.closest("[data-focus-group]");
  return {
    key: active.dataset.key || (active.classList.contains("name") ? "name" : null),
    group: group ? group.dataset.focusGroup : null,
    container: container.id,
  };
}

function restoreFocus(place) {
  if (!place || (document.activeElement && document.activeElement !== document.body)) return;
  const groupEl = place.group ? section.querySelector(`[data-focus-group="${place.group}"]`) : null;
  const candidates = [];
  if (groupEl && place.key === "name") candidates.push(groupEl.querySelector("a.name"));
  else if (groupEl && place.key) candidates.push(groupEl.querySelector(`[data-key="${place.key}"]`));
  if (groupEl) candidates.push(groupEl.matches("[tabindex]") ? groupEl : groupEl.querySelector("a.name"));
  candidates.push(document.getElementById(place.container));
  for (const target of candidates) {
    if (!target) continue;
    target.focus();
    if (document.activeElement === target) return;
  }
}

function render() {
  const room = state.room;
  const mine = me ? state.members.get(me) : undefined;
  const place = focusPlace();
  document.getElementById("room-title").textContent = room.title;
  document.getElementById("room-description").textContent = room.description;
  const stateEl = document.getElementById("room-state");
  stateEl.textContent = room.state;
  stateEl.className = `state ${room.state}`;
  document.getElementById("room-when").textContent =
    room.state === "scheduled" && room.scheduled_for ? ` · starts ${localTime(room.scheduled_for)}` : "";
  document.getElementById("room-count").textContent = state.members.size;
  const members = [...state.members.values()];
  const stage = members.filter((m) => m.on_stage).sort((a, b) => RANK[b.role] - RANK[a.role] || (a.stage_order ?? 0) - (b.stage_order ?? 0));
  const audience = members.filter((m) => !m.on_stage).sort((a, b) => (b.hand_raised - a.hand_raised) || a.joined_order - b.joined_order);
  document.getElementById("stage").replaceChildren(...stage.map((m) => memberItem(mine, m)));
  document.getElementById("audience").replaceChildren(...audience.map((m) => memberItem(mine, m)));
  document.getElementById("audience-empty").hidden = audience.length > 0 || room.state !== "live";
  document.getElementById("my-controls").replaceChildren(...myControls(mine));
  restoreFocus(place);
  // Plugins' scripts (salon_page_assets) draw their parts from the same state.
  document.dispatchEvent(new CustomEvent("salon:room", {
    detail: { room, members: members, me, mine: mine || null },
  }));
}

connect();
