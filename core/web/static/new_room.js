import { api, formData, showError } from "./api.js";

const form = document.getElementById("room-form");
const toggle = document.getElementById("schedule-toggle");
const fields = document.getElementById("schedule-fields");
document.getElementById("tz").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
toggle.addEventListener("change", () => { fields.hidden = !toggle.checked; });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = formData(form);
  const body = { title: data.title, description: data.description, visibility: data.visibility };
  if (toggle.checked) {
    if (!data.scheduled_for) {
      showError(form, { message: "Pick a start time", field: "scheduled_for" });
      return;
    }
    body.scheduled_for = new Date(data.scheduled_for).toISOString();
  }
  try {
    const room = await api("POST", "/api/rooms", body);
    location.href = `/rooms/${room.id}`;
  } catch (error) {
    showError(form, error);
  }
});
