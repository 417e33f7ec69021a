import { api, formData, showError } from "./api.js";

const form = document.getElementById("auth-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form);
    const mode = form.dataset.mode;
    if (mode === "signup" && !data.invite_code) delete data.invite_code;
    try {
      await api("POST", mode === "signup" ? "/api/auth/signup" : "/api/auth/login", data);
      const next = new URLSearchParams(location.search).get("next");
      location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
    } catch (error) {
      showError(form, error);
    }
  });
}
