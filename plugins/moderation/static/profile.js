// The profile page's "Block" / "Unblock" and "Report" actions.
import { api, el, flash } from "/static/api.js";
import { reportForm } from "./report_form.js";

const section = document.getElementById("profile");
const username = section.dataset.username;
const me = section.dataset.me;
const extras = document.getElementById("profile-extras");

async function draw() {
  if (!me || me === username) return;
  const { blocks } = await api("GET", "/api/moderation/blocks");
  const blocked = blocks.some((b) => b.user && b.user.username === username);
  const button = el("button", { type: "button", id: "block-button", class: blocked ? "" : "danger", onclick: async () => {
    try {
      if (blocked) await api("DELETE", `/api/moderation/blocks/${encodeURIComponent(username)}`);
      else await api("POST", "/api/moderation/blocks", { username });
      flash(blocked ? `You unblocked @${username}.` : `You blocked @${username}.`);
      await draw();
    } catch (error) { flash(error.message); }
  } }, blocked ? "Unblock" : "Block");
  const report = await reportForm(() => ({ kind: "user", username }), { id: "profile-report" });
  extras.replaceChildren(el("div", { class: "controls" }, button),
    el("details", { class: "profile-report" }, el("summary", {}, "Report"), report));
}

// The profile itself may be hidden from someone one blocked; the block list is not.
draw().catch((error) => flash(error.message));
