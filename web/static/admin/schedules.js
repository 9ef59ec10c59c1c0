// admin-section 30 /api/v1/schedules
// Opening hours: a form for the weekly hours (several ranges a day),
// Danish public holidays on/off, the municipality's closing days and
// special days with their own hours; a calendar of the coming twelve
// months. The API validates; its problems are shown at the range or date
// they name (error.problems[].field, e.g. "weekly.monday[1]").
import { resource } from "./resource.js";
import { api, el, t, lang } from "../app.js";

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const standard = {
  weekly: { monday: [{ from: "08:00", to: "15:00" }], tuesday: [{ from: "08:00", to: "15:00" }], wednesday: [{ from: "08:00", to: "15:00" }],
    thursday: [{ from: "08:00", to: "17:00" }], friday: [{ from: "08:00", to: "13:00" }] },
  publicHolidays: true, closingDays: [], specialDays: [],
};

export async function render(root) {
  const r = await resource(root, {
    path: "/api/v1/schedules", id: "schedule", title: (s) => s.name,
    columns: [["name", (s) => s.name], ["week", (s) => weekSummary(s.definition)]],
    fields: [{ name: "name", required: true }],
    decorate: (form, row) => editor(form, row ? row.definition : standard),
    submit: (form, row) => save(form, row),
    extra: (s, box) => calendar(box, s),
  });
  await calendar(root.querySelector("#schedule-extra"), null);
  return r;
}

function weekSummary(def) {
  const w = def.weekly || {};
  return DAYS.filter((d) => (w[d] || []).length).map((d) =>
    `${t("day.short." + d)} ${(w[d]).map((r) => `${r.from}–${r.to}`).join(", ")}`).join("; ") || t("schedule.closedAllWeek");
}

// --- the editor ---

let seq = 0;

// errorSlot is where the API's message for one field goes; the controls
// listed get aria-invalid and point at it.
function errorSlot(form, apiField, controls) {
  const id = `${form.id}-err-${++seq}`;
  const p = el("p", { class: "field-error", id, hidden: true, "data-error-for": apiField });
  for (const c of controls) c.setAttribute("aria-describedby", [c.getAttribute("aria-describedby"), id].filter(Boolean).join(" "));
  p.controls = controls;
  return p;
}

// rangeList edits [{from, to}]; apiField is the list's name in the API
// ("weekly.monday", "specialDays[0].hours"), label names it for screen
// readers.
function rangeList(form, apiField, label, ranges) {
  const list = el("ul", { class: "ranges", "data-ranges": apiField });
  const add = el("button", { type: "button", class: "secondary small", "aria-label": `${t("schedule.addRange")}: ${label}` }, "+ " + t("schedule.addRange"));
  function row(r) {
    const n = ++seq;
    const from = el("input", { id: `${form.id}-r${n}-from`, class: "time", inputmode: "numeric", placeholder: "08:00", "data-part": "from", size: 5 });
    const to = el("input", { id: `${form.id}-r${n}-to`, class: "time", inputmode: "numeric", placeholder: "15:00", "data-part": "to", size: 5 });
    from.value = r.from || "";
    to.value = r.to || "";
    const li = el("li", { class: "range" },
      el("label", { for: from.id, class: "sr-only" }, `${label}: ${t("schedule.from")}`), from, " – ",
      el("label", { for: to.id, class: "sr-only" }, `${label}: ${t("schedule.to")}`), to, " ",
      el("button", { type: "button", class: "danger small", "aria-label": `${t("schedule.removeRange")}: ${label}`, onclick: () => { li.remove(); renumber(); } }, t("schedule.removeRange")));
    li.append(errorSlot(form, "", [from, to]));
    list.append(li);
  }
  // the API names a range by its index; keep the slots in step with the order
  function renumber() {
    [...list.children].forEach((li, i) => { li.querySelector("[data-error-for]").dataset.errorFor = `${list.dataset.ranges}[${i}]`; });
  }
  add.addEventListener("click", () => { row({}); renumber(); list.lastElementChild.querySelector("input").focus(); });
  for (const r of ranges || []) row(r);
  renumber();
  const box = el("div", { class: "range-box" }, list, add);
  box.append(errorSlot(form, apiField, []));
  box.read = () => [...list.children].map((li) => ({ from: li.querySelector('[data-part="from"]').value.trim(), to: li.querySelector('[data-part="to"]').value.trim() }))
    .filter((r) => r.from || r.to);
  return box;
}

// dayList edits closing days [{date, name}] or special days [{date, name,
// hours}].
function dayList(form, kind, days) {
  const list = el("ul", { class: "days", id: `${form.id}-${kind}` });
  const rows = [];
  function row(d) {
    const n = ++seq, i = () => rows.indexOf(item);
    const date = el("input", { id: `${form.id}-d${n}-date`, class: "date", placeholder: "2026-12-24 / 12-24", size: 12 });
    const name = el("input", { id: `${form.id}-d${n}-name`, size: 20 });
    date.value = d.date || "";
    name.value = d.name || "";
    const dateErr = errorSlot(form, "", [date]), nameErr = errorSlot(form, "", [name]);
    const li = el("li", { class: "day" },
      el("div", { class: "inline-field" }, el("label", { for: date.id }, t("schedule.day.date")), date, dateErr),
      el("div", { class: "inline-field" }, el("label", { for: name.id }, t("schedule.day.name")), name, nameErr));
    const item = { li, read: null };
    let hours = null;
    if (kind === "specialDays") {
      hours = rangeList(form, "", t("schedule.specialHours"), d.hours);
      li.append(el("div", { class: "inline-field" }, el("p", { class: "help" }, t("schedule.specialHours.help")), hours));
    }
    li.append(el("button", { type: "button", class: "danger small", "aria-label": `${t("form.delete")}: ${t("schedule." + kind)}`, onclick: () => { rows.splice(i(), 1); li.remove(); renumber(); } }, t("form.delete")));
    item.read = () => {
      const v = { date: date.value.trim(), name: name.value.trim() };
      if (hours) v.hours = hours.read();
      return v;
    };
    item.renumber = (k) => {
      dateErr.dataset.errorFor = `${kind}[${k}].date`;
      nameErr.dataset.errorFor = `${kind}[${k}].name`;
      if (hours) {
        const f = `${kind}[${k}].hours`;
        hours.querySelector("[data-ranges]").dataset.ranges = f;
        hours.lastElementChild.dataset.errorFor = f;
        [...hours.querySelectorAll("li.range")].forEach((r, j) => { r.querySelector("[data-error-for]").dataset.errorFor = `${f}[${j}]`; });
      }
    };
    rows.push(item);
    list.append(li);
    return item;
  }
  function renumber() { rows.forEach((r, k) => r.renumber(k)); }
  for (const d of days || []) row(d);
  renumber();
  const add = el("button", { type: "button", class: "secondary", onclick: () => { const r = row({}); renumber(); r.li.querySelector("input").focus(); } }, t("schedule.add." + kind));
  const box = el("div", {}, list, add);
  if (kind === "closingDays") {
    box.append(" ", el("button", { type: "button", class: "secondary", onclick: () => {
      for (const [date, key] of [["12-24", "schedule.christmasEve"], ["12-31", "schedule.newYearsEve"]]) {
        if (!rows.some((r) => r.read().date === date)) row({ date, name: t(key) });
      }
      renumber();
    } }, t("schedule.addChristmas")));
  }
  box.read = () => rows.map((r) => r.read()).filter((d) => d.date || d.name);
  return box;
}

function editor(form, def) {
  def = def || {};
  const weekly = def.weekly || {};
  const dayBoxes = {};
  const week = el("fieldset", { class: "week" }, el("legend", {}, t("schedule.weekly")),
    el("p", { class: "help" }, t("schedule.weekly.help")),
    el("div", { class: "week-grid" }, DAYS.map((d) => {
      dayBoxes[d] = rangeList(form, "weekly." + d, t("day." + d), weekly[d]);
      return el("div", { class: "week-day", "data-day": d }, el("h3", { class: "day-name" }, t("day." + d)), dayBoxes[d]);
    })));
  const ph = el("input", { type: "checkbox", id: form.id + "-publicHolidays", name: "publicHolidays", checked: !!def.publicHolidays });
  const closing = dayList(form, "closingDays", def.closingDays);
  const special = dayList(form, "specialDays", def.specialDays);
  const body = el("div", { class: "schedule-editor stack" }, week,
    el("div", { class: "field check" }, ph, el("label", { for: ph.id }, t("schedule.publicHolidays")),
      el("p", { class: "help" }, t("schedule.publicHolidays.help"))),
    el("fieldset", {}, el("legend", {}, t("schedule.closingDays")), el("p", { class: "help" }, t("schedule.closingDays.help")), closing),
    el("fieldset", {}, el("legend", {}, t("schedule.specialDays")), el("p", { class: "help" }, t("schedule.specialDays.help")), special));
  form.querySelector(".actions").before(body);
  form.readDefinition = () => {
    const w = {};
    for (const d of DAYS) { const rs = dayBoxes[d].read(); if (rs.length) w[d] = rs; }
    return { weekly: w, publicHolidays: ph.checked, closingDays: closing.read(), specialDays: special.read() };
  };
}

// save sends the form; problems the API names are put at their field and
// the form's summary says how many there are.
async function save(form, row) {
  const body = { name: form.elements.name.value.trim(), definition: form.readDefinition() };
  const r = await api(row ? "PATCH" : "POST", row ? `/api/v1/schedules/${row.id}` : "/api/v1/schedules", body);
  if (r.ok || !r.error || !Array.isArray(r.error.problems)) return r;
  let first = null, placed = 0;
  for (const p of r.error.problems) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(p.field || "")}"]`);
    if (!slot || !p.field) continue;
    slot.textContent = slot.hidden ? p.message : slot.textContent + " " + p.message;
    slot.hidden = false;
    for (const c of slot.controls || []) c.setAttribute("aria-invalid", "true");
    first = first || (slot.controls && slot.controls[0]);
    placed++;
  }
  if (placed === r.error.problems.length) {
    return { ok: false, error: { code: "invalid", message: t("schedule.problems", { n: placed }) } };
  }
  return r;
}

// --- the calendar ---

// calendar shows the coming twelve months with the public holidays, or
// a schedule's closing, special and public days, month by month, and the
// same days as a dated list.
async function calendar(box, sched) {
  const today = new Date();
  const y0 = today.getFullYear(), m0 = today.getMonth();
  const days = new Map();
  for (const year of [y0, y0 + 1]) {
    const q = new URLSearchParams({ year: String(year) });
    if (sched) q.set("schedule_id", String(sched.id));
    const r = await api("GET", "/api/v1/schedules/holidays?" + q);
    if (!r.ok) { box.replaceChildren(el("p", { class: "form-error", role: "alert" }, r.error.message)); return; }
    for (const d of r.data.days || []) days.set(d.date, d);
  }
  const locale = lang === "da" ? "da-DK" : "en-GB";
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const first = new Date(y0, m0, 1), end = new Date(y0, m0 + 12, 1);
  const weekly = sched ? sched.definition.weekly || {} : null;
  const heading = el("h2", { id: "calendar-title", tabindex: "-1" },
    sched ? t("schedule.calendarFor", { name: sched.name }) : t("schedule.calendar"));
  const months = [];
  for (let m = 0; m < 12; m++) {
    const start = new Date(y0, m0 + m, 1);
    const cells = [];
    const lead = (start.getDay() + 6) % 7; // Monday first
    for (let i = 0; i < lead; i++) cells.push(el("td", {}));
    for (let d = new Date(start); d.getMonth() === start.getMonth(); d.setDate(d.getDate() + 1)) {
      const h = days.get(iso(d));
      const closedWeekday = weekly && !(weekly[DAYS[(d.getDay() + 6) % 7]] || []).length;
      const cls = ["cal-day", h ? "cal-" + h.kind : "", !h && closedWeekday ? "cal-closed" : ""].filter(Boolean).join(" ");
      cells.push(el("td", { class: cls, "data-date": iso(d) }, String(d.getDate()),
        h ? el("span", { class: "cal-mark", "aria-hidden": "true" }, t("schedule.mark." + h.kind)) : null,
        h ? el("span", { class: "sr-only" }, `: ${h.name} (${t("schedule.kind." + h.kind)})`) : null));
    }
    const weeks = [];
    for (let i = 0; i < cells.length; i += 7) weeks.push(el("tr", {}, cells.slice(i, i + 7)));
    months.push(el("table", { class: "cal-month" },
      el("caption", {}, start.toLocaleDateString(locale, { month: "long", year: "numeric" })),
      el("thead", {}, el("tr", {}, DAYS.map((d) => el("th", { scope: "col", abbr: t("day." + d) }, t("day.short." + d))))),
      el("tbody", {}, weeks)));
  }
  const listed = [...days.values()].filter((d) => d.date >= iso(first) && d.date < iso(end)).sort((a, b) => a.date < b.date ? -1 : 1);
  const legend = el("ul", { class: "cal-legend" }, ["public", "closing", "special"].map((k) =>
    el("li", {}, el("span", { class: "cal-day cal-" + k, "aria-hidden": "true" }, t("schedule.mark." + k)), " ", t("schedule.kind." + k))),
    weekly ? el("li", {}, el("span", { class: "cal-day cal-closed", "aria-hidden": "true" }, "–"), " ", t("schedule.closedWeekday")) : null);
  box.replaceChildren(el("section", { class: "card", "aria-labelledby": "calendar-title", id: "calendar" }, heading, legend,
    el("div", { class: "cal-grid" }, months),
    el("h3", { id: "holidays-title" }, t("schedule.holidays", { year: `${first.toLocaleDateString(locale, { month: "long", year: "numeric" })} – ${new Date(y0, m0 + 11, 1).toLocaleDateString(locale, { month: "long", year: "numeric" })}` })),
    el("table", { id: "holidays-table", "aria-labelledby": "holidays-title" },
      el("thead", {}, el("tr", {}, ["date", "name", "kind"].map((k) => el("th", { scope: "col" }, t("schedule.day." + k))))),
      el("tbody", {}, listed.map((d) => el("tr", { "data-date": d.date },
        el("th", { scope: "row" }, new Date(d.date + "T12:00:00").toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long", year: "numeric" })),
        el("td", {}, d.name),
        el("td", {}, t("schedule.kind." + d.kind) + (d.hours && d.hours.length ? ` ${d.hours.map((r) => `${r.from}–${r.to}`).join(", ")}` : ""))))))));
  if (sched) heading.focus();
}
