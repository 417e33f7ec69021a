// The clubs pages: forms and buttons marked data-api="METHOD PATH" go to the JSON API;
// then the page follows data-then ("club", "room", a path) or reloads.
import { api, clearErrors, flash, showError } from "/static/api.js";
import "/static/local_time.js";

function formBody(form) {
  const body = {};
  for (const input of form.elements) {
    if (!input.name || input.disabled) continue;
    if (input.type === "checkbox") body[input.name] = input.checked;
    else if (input.type === "radio") { if (input.checked) body[input.name] = input.value; }
    else if ("list" in input.dataset) body[input.name] = input.value.split(",").map((s) => s.trim()).filter(Boolean);
    else if ("optional" in input.dataset && input.value.trim() === "") continue;
    else body[input.name] = input.value;
  }
  return body;
}

function go(then, result) {
  if (then === "club" && result && result.url) location.assign(result.url);
  else if (then === "room" && result && result.id) location.assign(`/rooms/${result.id}`);
  else if (then) location.assign(then);
  else location.reload();
}

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
  const [method, path] = form.dataset.api.split(" ");
  const button = form.querySelector("[type=submit]");
  if (button) button.disabled = true;
  try {
    const result = await api(method, path, formBody(form));
    clearErrors(form);
    go(form.dataset.then, result);
  } catch (error) {
    showError(form, error);
  } finally {
    if (button) button.disabled = false;
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-api]");
  if (!button) return;
  if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
  const [method, path] = button.dataset.api.split(" ");
  let body = method === "DELETE" ? undefined : {};
  if (button.dataset.from) {
    const source = document.getElementById(button.dataset.from);
    body = { [source.name]: source.value };
  }
  button.disabled = true;
  try {
    const result = await api(method, path, body);
    go(button.dataset.then, result);
  } catch (error) {
    flash(error.message);
    button.disabled = false;
  }
});

// Schedule in the reader's own time zone unless they pick another.
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
for (const select of document.querySelectorAll("select[data-default-zone]")) {
  if ([...select.options].some((o) => o.value === zone)) select.value = zone;
}
