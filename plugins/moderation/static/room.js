// The room page's "Report" action: pick a person in the room (or the room itself),
// a reason and a few words; the report carries the room's recent events. People who
// left or were removed while the page was open stay in the list, so a host who removed
// someone can escalate it to the moderators.
import { el } from "/static/api.js";
import { reportForm } from "./report_form.js";

const extras = document.getElementById("room-extras");
const seen = new Map(); // user_id -> username, everyone met on this page
let select = null;
let building = null;

async function build(roomId) {
  select = el("select", { name: "subject", id: "report-subject", "aria-label": "Whom to report" });
  const form = await reportForm(() => {
    const value = select.value;
    if (value === "room") return { kind: "room", room_id: roomId };
    return value ? { kind: "user", username: value, room_id: roomId } : null;
  }, { id: "room-report" });
  form.prepend(select);
  extras.append(el("details", { class: "room-report" }, el("summary", {}, "Report"), form));
}

function fill(members, me) {
  for (const m of members) if (m.user) seen.set(m.user_id, m.user.username);
  const here = new Set(members.map((m) => m.user_id));
  const people = [...seen].filter(([id]) => id !== me);
  const key = people.map(([id, name]) => `${name}:${here.has(id)}`).join(",");
  if (select.dataset.key === key) return;
  select.dataset.key = key;
  const current = select.value;
  select.replaceChildren(
    ...people.filter(([id]) => here.has(id)).map(([, name]) => el("option", { value: name }, `@${name}`)),
    ...people.filter(([id]) => !here.has(id)).map(([, name]) => el("option", { value: name }, `@${name} (no longer here)`)),
    el("option", { value: "room" }, "this room"),
  );
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

document.addEventListener("salon:room", async (event) => {
  const { room, members, me } = event.detail;
  if (!me) return;
  if (!building) building = build(room.id);
  await building;
  fill(members, me);
});
