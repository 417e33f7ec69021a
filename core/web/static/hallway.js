// Keeps the hallway current: every few seconds while the tab is visible (and when it
// becomes visible again) the page is fetched anew and its list swapped in if it changed.
import { localizeTimes } from "./local_time.js";

const list = document.getElementById("hallway-rooms");
const seconds = Number(list.dataset.refreshSeconds) || 10;
let lastHtml = list.innerHTML;

async function refresh() {
  if (document.visibilityState !== "visible") return;
  try {
    const response = await fetch(location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("hallway-rooms");
    if (!fresh || fresh.innerHTML === lastHtml) return;
    lastHtml = fresh.innerHTML;
    list.innerHTML = fresh.innerHTML;
    localizeTimes(list);
  } catch {
    // Offline for a moment: the next round tries again.
  }
}

setInterval(refresh, seconds * 1000);
document.addEventListener("visibilitychange", refresh);
