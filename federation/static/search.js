// The remote-profile search page: find @name@host, follow or unfollow, and answer
// follow requests from other instances.
import { api, el, flash } from "/static/api.js";

const section = document.getElementById("federation-search");
const me = section.dataset.me;
const form = document.getElementById("federation-search-form");
const query = document.getElementById("federation-query");

// The remote bio is HTML from another server: show it as text only.
function plain(html) {
  return new DOMParser().parseFromString(html, "text/html").body.textContent || "";
}

async function show(q) {
  let profile;
  try {
    profile = await api("GET", `/api/federation/lookup?q=${encodeURIComponent(q)}`);
  } catch (error) {
    flash(error.message);
    return;
  }
  document.getElementById("remote-profile").hidden = false;
  document.getElementById("remote-name").textContent = profile.name;
  document.getElementById("remote-handle").textContent = `@${profile.handle} · ${profile.type}`;
  document.getElementById("remote-bio").textContent = plain(profile.summary);
  const link = document.getElementById("remote-link");
  link.href = profile.url;
  const actions = document.getElementById("remote-actions");
  actions.replaceChildren();
  if (!me) return;
  const followed = profile.follow_state !== null;
  const label = profile.follow_state === "pending" ? "Requested (cancel)" : followed ? "Unfollow" : "Follow";
  actions.append(el("button", {
    type: "button", id: "remote-follow", class: followed ? "" : "primary",
    onclick: async () => {
      try {
        await api("POST", followed ? "/api/federation/unfollow" : "/api/federation/follows", { actor: profile.id });
        await show(q);
      } catch (error) { flash(error.message); }
    },
  }, label));
}

async function loadRequests() {
  if (!me) return;
  const { requests } = await api("GET", "/api/federation/requests");
  const list = document.getElementById("follow-request-list");
  list.replaceChildren(...requests.map((r) => el("li", {},
    `${r.actor.display_name} (@${r.actor.username}) `,
    el("button", { type: "button", onclick: () => answer(r.id, "accept") }, "Accept"),
    el("button", { type: "button", onclick: () => answer(r.id, "reject") }, "Reject"),
  )));
  document.getElementById("follow-requests").hidden = requests.length === 0;
}

async function answer(id, verb) {
  try {
    await api("POST", `/api/federation/requests/${id}/${verb}`, {});
  } catch (error) { flash(error.message); }
  await loadRequests();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  history.replaceState(null, "", `?q=${encodeURIComponent(query.value)}`);
  show(query.value);
});
if (query.value) show(query.value);
loadRequests();
