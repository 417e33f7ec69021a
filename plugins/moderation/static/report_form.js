// A small "Report" form, shared by the room and profile pages.
import { api, el, flash } from "/static/api.js";

let reasons = null;
async function reasonList() {
  if (!reasons) reasons = (await api("GET", "/api/moderation/reasons")).reasons;
  return reasons;
}

// A form reporting what TARGET() returns ({kind, username?, room_id?}) when sent.
export async function reportForm(target, { label = "Report", id = "report-form" } = {}) {
  const reason = el("select", { name: "reason", "aria-label": "Reason" },
    ...(await reasonList()).map((r) => el("option", { value: r }, r)));
  const text = el("input", { name: "text", maxlength: "2000", placeholder: "What happened?", "aria-label": "Details" });
  const form = el("form", { class: "report-form", id, novalidate: true },
    reason, text, el("button", { type: "submit", class: "danger" }, label));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const what = target();
    if (!what) { flash("Pick whom to report."); return; }
    try {
      await api("POST", "/api/moderation/reports", { ...what, reason: reason.value, text: text.value });
      text.value = "";
      flash("Thank you: the moderators will look at your report.");
    } catch (error) { flash(error.message); }
  });
  return form;
}
