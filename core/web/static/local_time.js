// Server times (<time datetime="…" data-local>) in the reader's time zone and language.
import { localTime, parseTime } from "./api.js";

export function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[data-local]")) {
    const iso = node.getAttribute("datetime");
    if (!parseTime(iso)) continue;
    node.textContent = localTime(iso);
    node.title = parseTime(iso).toISOString();
  }
}

localizeTimes();
