import { api, el, flash, formData, showError } from "./api.js";

const form = document.getElementById("profile-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("PATCH", "/api/me", formData(form));
    flash("Saved.");
  } catch (error) { showError(form, error); }
});

async function loadTokens() {
  const list = document.getElementById("tokens");
  const { tokens } = await api("GET", "/api/tokens");
  list.replaceChildren(...tokens.map((t) => el("li", {},
    `${t.kind === "session" ? "Browser session" : `API token “${t.name}”`} · created ${new Date(t.created_at).toLocaleString()}`,
    t.current ? " (this one)" : "",
    t.current ? null : el("button", { type: "button", onclick: async () => {
      try { await api("DELETE", `/api/tokens/${t.id}`); await loadTokens(); } catch (error) { flash(error.message); }
    } }, "Revoke"),
  )));
}
loadTokens().catch((error) => flash(error.message));

const invite = document.getElementById("new-invite");
if (invite) {
  invite.addEventListener("click", async () => {
    try {
      const { code } = await api("POST", "/api/invites", {});
      document.getElementById("invite-code").textContent = code;
    } catch (error) { flash(error.message); }
  });
}

const deletion = document.getElementById("delete-account-form");
deletion.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { password, confirm } = formData(deletion);
  if (!confirm) {
    showError(deletion, { message: "Tick the box to confirm.", field: "confirm" });
    return;
  }
  try {
    await api("DELETE", "/api/me", { password });
    window.location.assign("/");  // the server ended this session
  } catch (error) { showError(deletion, error); }
});
