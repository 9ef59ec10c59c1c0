// admin-section 50 /api/v1/agents
import { resource } from "./resource.js";
import { api, el, field, onSubmit, t, showError } from "../app.js";

export async function render(root) {
  const queues = await api("GET", "/api/v1/queues");
  const qs = queues.ok ? queues.data : [];
  const qname = (id) => qs.find((q) => q.id === id)?.name || String(id);
  return resource(root, {
    path: "/api/v1/agents", id: "agent", title: (a) => a.name,
    columns: [["name", (a) => a.name], ["device_kind", (a) => t("agent.device." + a.device_kind)],
      ["active", (a) => (a.active ? "✓ " + t("form.yes") : "✕ " + t("form.no"))]],
    fields: [
      { name: "name", required: true },
      { name: "device_kind", type: "select", options: () => ["webrtc", "endpoint"].map((d) => [d, t("agent.device." + d)]), value: "webrtc" },
      { name: "dial_string" },
      { name: "wrap_up_seconds", type: "number", num: true, min: 0 },
      { name: "skills", json: true, rows: 3 },
    ],
    // memberships: which queues the agent answers, and at which tier
    extra: async function memberships(a, box) {
      const r = await api("GET", `/api/v1/agents/${a.id}/memberships`);
      const id = "membership-new";
      const form = el("form", { id, class: "stack", novalidate: true },
        field(id, { name: "queue_id", label: t("agent.queue"), type: "select", options: qs.map((q) => [String(q.id), q.name]) }),
        field(id, { name: "tier", label: t("agent.tier"), help: t("agent.tier.help"), type: "number", value: 0, min: 0 }),
        el("button", { type: "submit" }, t("agent.addMembership")));
      const list = r.ok && r.data.length ? el("ul", { id: "memberships" }, r.data.map((m) => el("li", {},
        `${qname(m.queue_id)} – ${t("agent.tier")} ${m.tier} `,
        el("button", { type: "button", class: "danger", "aria-label": `${t("form.delete")} ${qname(m.queue_id)}`, onclick: async () => {
          const d = await api("DELETE", `/api/v1/agents/${a.id}/memberships/${m.id}`);
          if (!d.ok) { showError(form, d.error); return; }
          await memberships(a, box);
        } }, t("form.delete"))))) : el("p", {}, t("form.none"));
      const heading = el("h2", { id: "membership-title", tabindex: "-1" }, t("agent.memberships", { name: a.name }));
      box.replaceChildren(el("section", { class: "card", "aria-labelledby": "membership-title" }, heading, list, form));
      onSubmit(form, (f) => api("POST", `/api/v1/agents/${a.id}/memberships`, {
        queue_id: Number(f.elements.queue_id.value), tier: Number(f.elements.tier.value || 0),
      }), () => memberships(a, box));
      heading.focus();
    },
  });
}
