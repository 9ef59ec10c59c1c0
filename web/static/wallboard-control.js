// Supervisor controls on the wallboard: one agent's state (ready, paused
// with a reason, logged out) through PUT /api/v1/agents/{id}/state, and
// its queue memberships through /api/v1/agents/{id}/memberships. The
// engine's agent ID is the agent's database ID, so it is the API's {id}.
import { api, el, field, onSubmit, notice, showError, t, pauseReason } from "./app.js";

const dialog = document.getElementById("agent-dialog");
let current = null; // {id, name, opener}
let lastSnap = null;

// controlSnapshot keeps the dialog's "now" line in step with the feed.
export function controlSnapshot(snap) {
  lastSnap = snap;
  if (current) showNow();
}

function showNow() {
  const now = dialog.querySelector("#agent-dialog-now");
  const a = lastSnap?.agents.find((x) => x.id === current.id);
  if (!now || !a) return;
  now.replaceChildren(t("control.now"), " ",
    el("span", { class: `state state-${a.state}` }, t("state." + a.state) + (a.reason ? ` (${pauseReason(a.reason)})` : "")));
}

function close() {
  const opener = current && document.querySelector(`[data-control="${CSS.escape(current.id)}"]`);
  current = null;
  dialog.close();
  dialog.replaceChildren();
  if (opener) opener.focus();
}

if (dialog) {
  dialog.addEventListener("cancel", (ev) => { ev.preventDefault(); close(); });
}

export async function openControl(id, name) {
  if (!dialog) return;
  current = { id, name };
  const [reasons, queues] = await Promise.all([api("GET", "/api/v1/pause-reasons"), api("GET", "/api/v1/queues")]);
  const rs = reasons.ok ? reasons.data.reasons : [];
  const qs = queues.ok ? queues.data : [];

  const stateForm = el("form", { id: "agent-state", class: "stack", novalidate: true, "aria-labelledby": "agent-dialog-title" },
    field("agent-state", { name: "state", label: t("control.state"), help: t("control.state.help"), type: "select",
      options: ["ready", "paused", "logged_out"].map((s) => [s, t("control.state." + s)]) }),
    field("agent-state", { name: "reason", label: t("control.reason"), help: t("control.reason.help"), type: "select",
      options: rs.map((r) => [r, r]) }),
    el("button", { type: "submit" }, t("control.submit")));
  const stateSel = stateForm.elements.state, reasonBox = stateForm.elements.reason.closest(".field");
  const a = lastSnap?.agents.find((x) => x.id === id);
  stateSel.value = a && a.state === "paused" ? "ready" : "paused";
  const toggle = () => { reasonBox.hidden = stateSel.value !== "paused"; };
  stateSel.addEventListener("change", toggle);
  toggle();
  onSubmit(stateForm, (f) => {
    const body = { state: f.elements.state.value };
    if (body.state === "paused") body.reason = f.elements.reason.value;
    return api("PUT", `/api/v1/agents/${id}/state`, body);
  }, () => close());

  const memBox = el("div", { id: "agent-memberships-box" });
  dialog.replaceChildren(
    el("h2", { id: "agent-dialog-title" }, name),
    el("p", { id: "agent-dialog-now" }),
    stateForm,
    el("h3", { id: "agent-queues-title" }, t("control.queues")),
    el("p", { class: "help" }, t("control.queues.help")),
    memBox,
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", id: "agent-dialog-close", onclick: close }, t("control.close"))));
  showNow();
  await memberships(id, qs, memBox);
  if (!dialog.open) dialog.showModal();
  stateSel.focus();
}

async function memberships(id, qs, box) {
  const r = await api("GET", `/api/v1/agents/${id}/memberships`);
  const ms = r.ok ? r.data : [];
  const qname = (qid) => { const q = qs.find((x) => x.id === qid); return q ? (q.display_name || q.name) : String(qid); };
  const form = el("form", { id: "agent-membership", class: "stack", novalidate: true, "aria-labelledby": "agent-queues-title" });
  const free = qs.filter((q) => !ms.some((m) => m.queue_id === q.id));
  const list = ms.length ? el("ul", { id: "agent-memberships" }, ms.map((m) => el("li", { "data-queue-id": m.queue_id },
    `${qname(m.queue_id)} – ${t("agent.tier")} ${m.tier} `,
    el("button", { type: "button", class: "danger", "aria-label": `${t("control.remove")}: ${qname(m.queue_id)}`, onclick: async () => {
      const d = await api("DELETE", `/api/v1/agents/${id}/memberships/${m.id}`);
      if (!d.ok) { showError(form, d.error); return; }
      await memberships(id, qs, box);
      notice(box, t("form.saved"));
    } }, t("control.remove"))))) : el("p", {}, t("control.noQueues"));
  if (free.length) {
    form.append(
      field("agent-membership", { name: "queue_id", label: t("agent.queue"), type: "select", options: free.map((q) => [String(q.id), q.display_name || q.name]) }),
      field("agent-membership", { name: "tier", label: t("agent.tier"), help: t("agent.tier.help"), type: "number", value: 0, min: 0 }),
      el("button", { type: "submit" }, t("control.add")));
    onSubmit(form, (f) => api("POST", `/api/v1/agents/${id}/memberships`, {
      queue_id: Number(f.elements.queue_id.value), tier: Number(f.elements.tier.value || 0),
    }), async () => {
      await memberships(id, qs, box);
      notice(box, t("form.saved"));
    });
  } else {
    form.append(el("p", {}, t("control.allQueues")));
  }
  box.replaceChildren(list, form);
}
