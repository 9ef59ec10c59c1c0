import { resource } from "./resource.js";
import { api, el, t } from "../app.js";

const example = { weekly: { mon: [["08:00", "15:00"]], tue: [["08:00", "15:00"]], wed: [["08:00", "15:00"]], thu: [["08:00", "17:00"]], fri: [["08:00", "13:00"]] }, publicHolidays: true, closingDays: [], specialDays: [] };

export async function render(root) {
  const r = await resource(root, {
    path: "/api/v1/schedules", id: "schedule", title: (s) => s.name,
    columns: [["name", (s) => s.name]],
    fields: [{ name: "name", required: true }, { name: "definition", json: true, rows: 14, value: example }],
    extra: (s, box) => holidays(box, s.id),
  });
  await holidays(root.querySelector("#schedule-extra"));
  return r;
}

// holidays lists the public holidays (and a schedule's closing and
// special days) of the coming year, from the API.
async function holidays(box, scheduleId) {
  const year = new Date().getFullYear() + (new Date().getMonth() >= 9 ? 1 : 0);
  const q = new URLSearchParams({ year: String(year) });
  if (scheduleId) q.set("schedule_id", String(scheduleId));
  const r = await api("GET", "/api/v1/schedules/holidays?" + q);
  const heading = el("h2", { id: "holidays-title", tabindex: "-1" }, t("schedule.holidays", { year }));
  if (!r.ok) { box.replaceChildren(heading, el("p", { class: "form-error", role: "alert" }, r.error.message)); return; }
  box.replaceChildren(el("section", { class: "card", "aria-labelledby": "holidays-title" }, heading,
    el("table", { id: "holidays-table" },
      el("thead", {}, el("tr", {}, ["date", "name", "kind"].map((k) => el("th", { scope: "col" }, t("schedule.day." + k))))),
      el("tbody", {}, (r.data.days || []).map((d) => el("tr", {},
        el("th", { scope: "row" }, new Date(d.date + "T12:00:00").toLocaleDateString(document.documentElement.lang === "da" ? "da-DK" : "en-GB", { weekday: "long", day: "numeric", month: "long" })),
        el("td", {}, d.name), el("td", {}, t("schedule.kind." + d.kind))))))));
  if (scheduleId) heading.focus();
}
