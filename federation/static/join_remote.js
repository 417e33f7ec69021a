// On the listener's own server: get a join grant for a room on another server, then
// go to that server's join page with the grant in the URL fragment.
import { api } from "/static/api.js";

const section = document.getElementById("join-remote");
const status = document.getElementById("join-remote-status");

async function go() {
  const room = section.dataset.room;
  if (!room) {
    status.textContent = "No room was named.";
    return;
  }
  try {
    const { join_url: joinUrl } = await api("POST", "/api/federation/grants", { room });
    status.textContent = "Going to the room…";
    location.assign(joinUrl);
  } catch (error) {
    status.textContent = `Could not join: ${error.message}`;
  }
}

go();
