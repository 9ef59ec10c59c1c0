// admin-section 75 /api/v1/reports/staffing
// Staffing: for a queue and the last weeks, per quarter of an hour of a
// chosen weekday, the calls, handling time and abandonment, the agents
// Erlang C and Erlang A ask for to meet the queue's goal, and the agents
// who were logged in (GET /api/v1/reports/staffing, docs/reports.md).
// The chart is a <meter> per row: no chart library, nothing inline.
import { api, el, field, onSubmit, t } from "../app.js";

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const num = (v, d = 1) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(document.documentElement.lang || "da", { maximumFractionDigits: d }));
const pct = (v) => (v === null || v === undefined ? "–" : num(v * 100, 0) + " %");

export async function render(root) {
  const qs = await api("GET", "/api/v1/queues");
  if (!qs.ok) { root.append(el("p", { class: "form-error", role: "alert" }, qs.error.message)); return; }
  const id = "staffing";
  if (!qs.data.length) { root.append(el("p", { id: id + "-none" }, t("staffing.noqueues"))); return; }
  const today = DAYS[(new Date().getDay() + 6) % 7];
  const form = el("form", { id, class: "card stack", novalidate: true },
    field(id, { name: "queue", label: t("staffing.queue"), type: "select",
      options: qs.data.map((q) => [q.id, q.display_name || q.name]) }),
    field(id, { name: "weeks", label: t("staffing.weeks"), help: t("staffing.weeks.help"), type: "number", min: 1, max: 52, value: 8 }),
    field(id, { name: "weekday", label: t("staffing.weekday"), type: "select",
      options: DAYS.map((d) => [d, t("staffing.day." + d)]), value: today }),
    el("div", { class: "actions" }, el("button", { type: "submit" }, t("staffing.show"))));
  const out = el("div", { id: id + "-result", "aria-live": "polite" });
  root.append(form, out);

  let report = null;
  const weekday = form.querySelector("[name=weekday]");

  function draw() {
    if (!report) return;
    const r = report;
    const rows = r.intervals.filter((iv) => iv.weekday === weekday.value && (iv.arrivals > 0 || iv.logged_in > 0));
    const max = Math.max(1, ...rows.map((iv) => Math.max(iv.erlang_a?.agents ?? 0, iv.erlang_c?.agents ?? 0, iv.logged_in)));
    const summary = el("p", { id: id + "-summary" }, t("staffing.summary", {
      sl: r.goal.service_level_percent, seconds: r.goal.service_level_seconds, occ: r.goal.max_occupancy_percent,
      weeks: r.weeks, aht: num(r.aht_seconds, 0), patience: r.patience_seconds === null ? "–" : num(r.patience_seconds, 0),
    }));
    if (!rows.length) {
      out.replaceChildren(summary, el("p", { id: id + "-empty" }, t("staffing.empty")));
      return;
    }
    const head = ["time", "arrivals", "aht", "abandon", "erlang_c", "erlang_a", "logged_in", "chart"]
      .map((k) => el("th", { scope: "col" }, t("staffing.col." + k)));
    out.replaceChildren(summary, el("table", { id: id + "-table" },
      el("caption", {}, t("staffing.caption", { day: t("staffing.day." + weekday.value) })),
      el("thead", {}, el("tr", {}, head)),
      el("tbody", {}, rows.map((iv) => {
        const need = iv.erlang_a?.agents ?? iv.erlang_c?.agents;
        return el("tr", { "data-start": iv.start },
          el("th", { scope: "row" }, iv.start),
          el("td", {}, num(iv.arrivals)),
          el("td", {}, num(iv.aht_seconds, 0) + " s"),
          el("td", {}, pct(iv.abandon_rate)),
          el("td", { title: iv.erlang_c ? t("staffing.gives", { sl: pct(iv.erlang_c.service_level), occ: pct(iv.erlang_c.occupancy) }) : "" },
            iv.erlang_c ? String(iv.erlang_c.agents) : "–"),
          el("td", { title: iv.erlang_a ? t("staffing.gives", { sl: pct(iv.erlang_a.service_level), occ: pct(iv.erlang_a.occupancy) }) : "" },
            iv.erlang_a ? String(iv.erlang_a.agents) : "–"),
          el("td", { class: iv.logged_in < (need ?? 0) ? "short" : "" }, num(iv.logged_in)),
          el("td", {},
            el("meter", { min: 0, max, value: need ?? 0, "aria-label": t("staffing.col.erlang_a") + " " + iv.start }),
            el("meter", { min: 0, max, value: iv.logged_in, low: need ?? 0, optimum: max, "aria-label": t("staffing.col.logged_in") + " " + iv.start })));
      }))));
  }

  weekday.addEventListener("change", draw);
  onSubmit(form, (f) => {
    const q = new URLSearchParams({ queue: f.querySelector("[name=queue]").value, weeks: f.querySelector("[name=weeks]").value });
    return api("GET", "/api/v1/reports/staffing?" + q);
  }, (res) => { report = res.data; draw(); });
}
