// The Payments page: start or continue Stripe onboarding, open the Express dashboard.
import { api, flash } from "/static/api.js";

async function go(path) {
  try {
    const { url } = await api("POST", path, {});
    location.assign(url);
  } catch (error) {
    flash(error.message);
  }
}

document.getElementById("start-onboarding")?.addEventListener("click", () => go("/api/payments_stripe/onboarding"));
document.getElementById("open-dashboard")?.addEventListener("click", () => go("/api/payments_stripe/dashboard"));
