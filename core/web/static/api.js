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

// Mark the field the server blamed (aria-invalid, described by the message in #flash)
// and put the focus on it; any field blamed before is cleared first.
export function showError(form, error) {
  clearErrors(form);
  flash(error.message);
  if (form && error.field) {
    const input = form.querySelector(`[name="${CSS.escape(error.field)}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "flash");
      input.focus();
    }
  }
}

export function clearErrors(form) {
  if (!form) return;
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    if (input.getAttribute("aria-describedby") === "flash") input.removeAttribute("aria-describedby");
  }
}

// A time from the server, in the reader's time zone and language. A time without an
// offset is UTC (what the server stores).
export function parseTime(iso) {
  if (!iso) return null;
  const hasZone = /(?:Z|[+-]\d\d:?\d\d)$/i.test(iso);
  const date = new Date(hasZone ? iso : `${iso}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function localTime(iso) {
  const date = parseTime(iso);
  if (!date) return iso || "";
  return date.toLocaleString(undefined, {
    weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
  });
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
