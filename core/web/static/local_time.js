// Server times (<time datetime="…" data-local>) in the reader's time zone and language.
import { localTime, parseTime } from "./api.js";

for (const node of document.querySelectorAll("time[data-local]")) {
  const iso = node.getAttribute("datetime");
  if (!parseTime(iso)) continue;
  node.textContent = localTime(iso);
  node.title = parseTime(iso).toISOString();
}
