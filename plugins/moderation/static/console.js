// The moderation console: reports with their room context, suspensions, blocked
// instances, content rules, moderators and the audit log. Every call is checked on
// the server (moderators only); this page only draws what the API answers.
import { api, el, flash, formData, showError } from "/static/api.js";

const root = document.getElementById("moderation-console");
const isAdmin = root.dataset.admin === "yes";
const stateSelect = document.getElementById("report-state");

const who = (u) => (u ? `@${u.username}` : "someone");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

function contextOf(report) {
  const ctx = report.context || {};
  if (!ctx.room) return null;
  const r = ctx.room;
  return el("div", { class: "context" },
    el("div", {}, `Room “${r.title}” (${r.state}) by @${r.creator}; on stage: ${(r.stage || []).map((n) => "@" + n).join(", ") || "nobody"}; audience: ${(r.audience || []).length}`),
    (ctx.events || []).length ? el("ol", {}, ...ctx.events.slice(-10).map((e) =>
      el("li", {}, `${when(e.at)} ${e.kind}${e.user ? " @" + e.user : ""}${e.actor && e.actor !== e.user ? " by @" + e.actor : ""}`))) : null,
  );
}

async function act(fn) {
  try { await fn(); await refresh(); } catch (error) { flash(error.message); }
}

function reportItem(report) {
  const note = el("input", { name: "note", placeholder: "note", maxlength: "1000", "aria-label": "Note" });
  const duration = el("select", { name: "duration_hours", "aria-label": "Suspend for" },
    el("option", { value: "" }, "for ever"), el("option", { value: "24" }, "a day"), el("option", { value: "168" }, "a week"));
  const action = el("select", { name: "action", "aria-label": "Action taken" },
    ...["warned", "removed", "content_removed", "suspended", "other"].map((a) => el("option", { value: a }, a)));
  const open = report.state === "open";
  const target = report.user;
  return el("li", { class: "report", dataset: { reportId: report.id, state: report.state } },
    el("div", {}, el("strong", {}, `#${report.id} ${report.reason}`), ` · ${report.kind} `,
      target ? el("a", { href: `/users/${target.username}`, class: "reported" }, who(target)) : null,
      report.room_id ? el("a", { href: `/rooms/${report.room_id}` }, ` room ${report.room_id}`) : null,
      report.club_id ? ` club ${report.club_id}` : null),
    el("div", { class: "meta" }, `reported by ${report.remote_reporter ? `${report.remote_reporter} (another server)` : who(report.reporter)} · ${when(report.created_at)} · ${report.state}`,
      report.action ? ` (${report.action})` : "", report.note ? ` — ${report.note}` : "",
      report.handled_by ? ` by ${who(report.handled_by)}` : ""),
    report.text ? el("p", {}, report.text) : null,
    contextOf(report),
    open ? el("div", { class: "controls" }, note,
      target ? duration : null,
      target ? el("button", { type: "button", class: "danger suspend", onclick: () => act(async () => {
        const body = { username: target.username, reason: note.value || `report #${report.id}: ${report.reason}` };
        if (duration.value) body.duration_hours = Number(duration.value);
        await api("POST", "/api/moderation/suspensions", body);
        await api("POST", `/api/moderation/reports/${report.id}/triage`, { state: "resolved", action: "suspended", note: note.value });
        flash(`Suspended @${target.username}.`);
      }) }, `Suspend ${who(target)}`) : null,
      action,
      el("button", { type: "button", class: "resolve", onclick: () => act(() =>
        api("POST", `/api/moderation/reports/${report.id}/triage`, { state: "resolved", action: action.value, note: note.value })) }, "Resolve"),
      el("button", { type: "button", class: "dismiss", onclick: () => act(() =>
        api("POST", `/api/moderation/reports/${report.id}/triage`, { state: "dismissed", note: note.value })) }, "Dismiss"),
    ) : null,
  );
}

async function loadReports() {
  const state = stateSelect.value;
  const { reports } = await api("GET", `/api/moderation/reports${state ? `?state=${state}` : ""}`);
  const list = document.getElementById("reports");
  // Keep what a moderator is typing: redraw only when the reports changed.
  const key = JSON.stringify(reports.map((r) => [r.id, r.state]));
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(...reports.map(reportItem));
  }
  document.getElementById("reports-empty").hidden = reports.length > 0;
}

async function loadSuspensions() {
  const { suspensions } = await api("GET", "/api/moderation/suspensions");
  document.getElementById("suspensions").replaceChildren(...suspensions.map((s) =>
    el("li", { dataset: { username: s.user ? s.user.username : "" } },
      `${who(s.user)} — ${s.reason} · by ${who(s.by)} · ${s.expires_at ? "until " + when(s.expires_at) : "permanent"} `,
      el("button", { type: "button", onclick: () => act(() =>
        api("POST", `/api/moderation/suspensions/${s.user.username}/lift`, { reason: "" })) }, "Lift"))));
}

async function loadInstances() {
  const { instances } = await api("GET", "/api/moderation/instances");
  document.getElementById("instances").replaceChildren(...instances.map((i) =>
    el("li", {}, `${i.domain} (${i.source}) ${i.reason} `,
      i.source === "console" ? el("button", { type: "button", onclick: () => act(() =>
        api("DELETE", `/api/moderation/instances/${encodeURIComponent(i.domain)}`)) }, "Unblock") : null)));
}

async function loadRules() {
  const rules = await api("GET", "/api/moderation/content-rules");
  document.getElementById("rule-words").textContent = rules.words.join(", ") || "none";
  document.getElementById("rule-patterns").textContent = rules.patterns.join("  ") || "none";
}

async function loadModerators() {
  const { moderators } = await api("GET", "/api/moderation/moderators");
  document.getElementById("moderators").replaceChildren(...moderators.map((m) =>
    el("li", {}, `${who(m.user)} (${m.how}) `,
      isAdmin && m.how === "granted" ? el("button", { type: "button", onclick: () => act(() =>
        api("DELETE", `/api/moderation/moderators/${m.user.username}`)) }, "Revoke") : null)));
}

async function loadAudit() {
  const { entries } = await api("GET", "/api/moderation/audit");
  document.getElementById("audit").replaceChildren(...entries.map((e) =>
    el("li", { dataset: { action: e.action } }, `${when(e.created_at)} · ${who(e.actor)} · ${e.action} · ${e.target}${e.reason ? " — " + e.reason : ""}`)));
}

async function refresh() {
  await Promise.all([loadReports(), loadSuspensions(), loadInstances(), loadRules(), loadModerators(), loadAudit()]);
}

function onSubmit(id, send) {
  const form = document.getElementById(id);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await send(formData(form)); form.reset(); flash(""); await refresh(); } catch (error) { showError(form, error); }
  });
}

onSubmit("suspend-form", (data) => {
  const body = { username: data.username, reason: data.reason };
  if (data.duration_hours) body.duration_hours = Number(data.duration_hours);
  return api("POST", "/api/moderation/suspensions", body);
});
onSubmit("instance-form", (data) => api("POST", "/api/moderation/instances", data));
onSubmit("moderator-form", (data) => api("POST", "/api/moderation/moderators", data));
document.getElementById("reload-rules").addEventListener("click", () => act(async () => {
  await api("POST", "/api/moderation/content-rules/reload", {});
  flash("Content rules reloaded.");
}));
stateSelect.addEventListener("change", () => loadReports().catch((error) => flash(error.message)));

refresh().catch((error) => flash(error.message));
// New reports show up without a reload while the console is open.
setInterval(() => { if (!document.hidden) loadReports().then(loadAudit).catch(() => {}); }, 2000);
