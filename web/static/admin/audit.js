// admin-section 80 /api/v1/audit
// The audit log, newest first, with before/after of every change.
import { api, el, t, fmtTime } from "../app.js";

const pretty = (v) => (v === undefined ? "" : JSON.stringify(v, null, 2));

export async function render(root) {
  const tbody = el("tbody");
  const more = el("button", { type: "button", class: "secondary", id: "audit-more", hidden: true }, t("audit.more"));
  root.append(el("table", { id: "audit-table" },
    el("thead", {}, el("tr", {}, ["audit.when", "audit.who", "audit.action", "audit.object", "audit.change"].map((k) => el("th", { scope: "col" }, t(k))))),
    tbody), el("p", {}, more));
  let before = 0;
  async function load() {
    const q = new URLSearchParams({ limit: "50" });
    if (before) q.set("before", String(before));
    const r = await api("GET", "/api/v1/audit?" + q);
    if (!r.ok) { root.append(el("p", { class: "form-error", role: "alert" }, r.error.message)); return; }
    for (const e of r.data) {
      tbody.append(el("tr", { "data-audit": e.id },
        el("td", {}, fmtTime(e.at)),
        el("td", {}, e.actor),
        el("td", {}, e.action),
        el("td", {}, `${e.object_type} ${e.object_id}`),
        el("td", {}, e.before || e.after ? el("details", {},
          el("summary", {}, t("audit.show")),
          e.before ? [el("strong", {}, t("audit.before")), el("pre", {}, pretty(e.before))] : null,
          e.after ? [el("strong", {}, t("audit.after")), el("pre", {}, pretty(e.after))] : null) : "")));
    }
    more.hidden = r.data.length < 50;
    if (r.data.length) before = r.data[r.data.length - 1].id;
  }
  more.addEventListener("click", load);
  await load();
}
