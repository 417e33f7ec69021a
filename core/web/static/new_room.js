import { api, clearErrors, formData, showError } from "./api.js";

const form = document.getElementById("room-form");
const toggle = document.getElementById("schedule-toggle");
const fields = document.getElementById("schedule-fields");
const when = form.elements.scheduled_for;
const submit = form.querySelector('button[type="submit"]');
document.getElementById("tz").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;

function sync() {
  fields.hidden = !toggle.checked;
  when.required = toggle.checked;
  submit.textContent = toggle.checked ? "Schedule" : "Start";
}
toggle.addEventListener("change", sync);
sync();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const data = formData(form);
  const body = { title: data.title, description: data.description, visibility: data.visibility };
  if (toggle.checked) {
    const start = data.scheduled_for ? new Date(data.scheduled_for) : null;
    if (!start || Number.isNaN(start.getTime())) {
      showError(form, { message: "Pick a start time", field: "scheduled_for" });
      return;
    }
    if (start.getTime() <= Date.now()) {
      showError(form, { message: "Pick a start time in the future", field: "scheduled_for" });
      return;
    }
    body.scheduled_for = start.toISOString();
  }
  submit.disabled = true;
  try {
    const room = await api("POST", "/api/rooms", body);
    location.href = `/rooms/${room.id}`;
  } catch (error) {
    submit.disabled = false;
    showError(form, error);
  }
});
