// The JSON API from the browser: the session cookie rides along, the CSRF token goes
// in the X-CSRF-Token header (double-submit), errors become ApiError with the field.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `request failed (${status})`);
    this.status = status;
    this.code = err.code;
    this.field = err.field;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)salon_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(method, path, body) {
  const headers = { "Accept": "application/json", "X-CSRF-Token": csrfToken() };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function flash(message) {
  const el = document.getElementById("flash");
  if (!el) return;
  el.textContent = message || "";
  el.hidden = !message;
}

export function formData(form) {
  const data = {};
  for (const [key, value] of new FormData(form).entries()) data[key] = value;
  return data;
}

export function showError(form, error) {
  flash(error.message);
  if (form && error.field) {
    const input = form.querySelector(`[name="${error.field}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
