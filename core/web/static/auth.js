import { api, clearErrors, formData, showError } from "./api.js";

// Back to where "Log in" was clicked: a path on this site only, never elsewhere.
function nextPage() {
  const next = new URLSearchParams(location.search).get("next");
  if (!next || !next.startsWith("/")) return "/";
  const url = new URL(next, location.origin);
  return url.origin === location.origin ? url.pathname + url.search + url.hash : "/";
}

const form = document.getElementById("auth-form");
if (form) {
  const submit = form.querySelector('button[type="submit"]');
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = formData(form);
    const mode = form.dataset.mode;
    if (mode === "signup" && !data.invite_code) delete data.invite_code;
    submit.disabled = true;
    try {
      await api("POST", mode === "signup" ? "/api/auth/signup" : "/api/auth/login", data);
      location.href = nextPage();
    } catch (error) {
      submit.disabled = false;
      showError(form, error);
    }
  });
}
