// On the room's server: take the join grant from the URL fragment (it never reaches a
// server log or a Referer), trade it for a guest session, then enter the room.
import { api } from "/static/api.js";

const status = document.getElementById("join-status");

async function enter() {
  const params = new URLSearchParams(location.hash.slice(1));
  const grant = params.get("grant");
  // The grant is single-use: take it out of the address bar and the history.
  history.replaceState(null, "", location.pathname);
  if (!grant) {
    status.textContent = "This link carries no pass. Start again from your own server.";
    return;
  }
  try {
    const { room_url: roomUrl } = await api("POST", "/api/federation/join", { grant });
    status.textContent = "Entering the room…";
    location.replace(roomUrl);
  } catch (error) {
    status.dataset.code = error.code || "";
    status.textContent = `Could not join: ${error.message}`;
  }
}

enter();
