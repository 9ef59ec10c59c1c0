// admin-section 20 /api/v1/flows
// Call flows: the definition as JSON beside a readable step-by-step tree,
// the API's validation problems shown at their step, and a "try it" box
// that runs the routing dry-run.
import { resource, values } from "./resource.js";
import { api, el, field, lang, onSubmit, t } from "../app.js";

// kinds are callflow's step kinds by name, from GET /api/v1/step-kinds
// (loaded by render), so a new kind needs no edit here.
let kinds = {};

// kindLabel names a step kind in the page's language.
function kindLabel(kind) {
  const k = kinds[kind];
  return k ? (lang === "da" ? k.label.da : k.label.en) : kind;
}

const example = {
  start: "åbent",
  steps: [
    { id: "åbent", kind: "schedule", schedule: { schedule: "borgerservice", open: "menu", closed: "lukket" } },
    { id: "menu", kind: "menu", menu: { announcement: "hovedmenu", options: { "1": "kø" }, exhausted: "kø" } },
    { id: "kø", kind: "queue", queue: { queue: "borgerservice" } },
    { id: "lukket", kind: "hangup" },
  ],
};

// branches lists a step's next steps as [label, id].
function branches(s) {
  const o = s[s.kind] || {};
  const out = [];
  for (const k of ["open", "closed", "holiday", "next", "invalid", "noInput", "exhausted", "full", "timeout", "noAgents", "default"]) {
    if (o[k]) out.push([t("flow.branch." + k), o[k]]);
  }
  for (const [key, id] of Object.entries(o.options || {})) out.push([t("flow.key", { key }), id]);
  for (const r of o.rules || []) out.push([t("flow.rule", { match: r.match }), r.next]);
  return out;
}

// tree renders the flow from its start, each step once, with problems
// (from the API) at the step they concern.
export function tree(def, problems) {
  const steps = new Map((def.steps || []).map((s) => [s.id, s]));
  const seen = new Set();
  const at = (id) => (problems || []).filter((p) => p.step === id);
  function node(id, label) {
    const s = steps.get(id);
    const head = [label ? el("span", { class: "branch" }, label + " → ") : null, el("strong", {}, id)];
    if (!s) return el("li", { "data-step": id }, head, " ", el("span", { class: "field-error" }, t("flow.missing")));
    const desc = ` (${kindLabel(s.kind)}${s[s.kind]?.queue ? ": " + s[s.kind].queue : ""}${s[s.kind]?.schedule && typeof s[s.kind].schedule === "string" ? ": " + s[s.kind].schedule : ""})`;
    const probs = at(id).map((p) => el("p", { class: p.severity === "warning" ? "notice" : "field-error", "data-problem": p.code }, p.message));
    if (seen.has(id)) return el("li", { "data-step": id }, head, " ", t("flow.seen"));
    seen.add(id);
    const kids = branches(s);
    return el("li", { "data-step": id }, head, desc, probs, kids.length ? el("ul", {}, kids.map(([l, n]) => node(n, l))) : null);
  }
  const general = (problems || []).filter((p) => !p.step || !steps.has(p.step)).map((p) => el("p", { class: "field-error" }, p.message));
  return el("div", { class: "flow-tree" }, general, def.start ? el("ul", { id: "flow-tree" }, node(def.start)) : null);
}

export async function render(root) {
  const ks = await api("GET", "/api/v1/step-kinds");
  if (ks.ok) kinds = Object.fromEntries(ks.data.map((k) => [k.kind, k]));
  const trial = el("div", { id: "flow-try" });
  const r = await resource(root, {
    path: "/api/v1/flows", id: "flow", title: (f) => f.name,
    columns: [["name", (f) => f.name], ["start", (f) => f.definition?.start || ""]],
    fields: [{ name: "name", required: true }, { name: "definition", json: true, rows: 16, value: example }],
    // draw the tree beside the JSON and check it with the API as it changes
    decorate: (form) => {
      const box = el("div", { id: form.id + "-tree", "aria-live": "polite" });
      form.querySelector(".actions").before(el("h3", {}, t("flow.steps")), box);
      const draw = async () => {
        const v = values(form, [{ name: "definition", json: true }], false);
        if (v.error) { box.replaceChildren(el("p", { class: "field-error" }, v.error.message)); return; }
        const c = await api("POST", "/api/v1/flows/validate", v.body.definition);
        box.replaceChildren(tree(v.body.definition || {}, c.ok ? c.data.problems : c.error?.problems));
      };
      form.elements.definition.addEventListener("change", draw);
      draw();
    },
    submit: async (form, row) => {
      const v = values(form, [{ name: "name" }, { name: "definition", json: true }], !!row);
      if (v.error) return { ok: false, error: v.error };
      const res = await api(row ? "PATCH" : "POST", row ? `/api/v1/flows/${row.id}` : "/api/v1/flows", v.body);
      if (!res.ok && res.error.problems) {
        form.querySelector(`#${form.id}-tree`).replaceChildren(tree(v.body.definition, res.error.problems));
      }
      return res;
    },
  });
  root.append(trial);
  tryIt(trial);
  return r;
}

// tryIt is the dry-run box: number, caller, date and time, keys pressed.
function tryIt(box) {
  const id = "simulate";
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const form = el("form", { id, class: "card stack", novalidate: true, "aria-labelledby": id + "-title" },
    el("h2", { id: id + "-title" }, t("flow.try")),
    el("p", { class: "intro" }, t("flow.try.intro")),
    field(id, { name: "number", label: t("flow.try.number"), help: t("flow.try.number.help") }),
    field(id, { name: "caller", label: t("flow.try.caller"), help: t("flow.try.caller.help") }),
    field(id, { name: "time", label: t("flow.try.time"), type: "datetime-local", value: local }),
    field(id, { name: "digits", label: t("flow.try.digits"), help: t("flow.try.digits.help") }),
    el("button", { type: "submit" }, t("flow.try.run")));
  const out = el("div", { id: "simulate-result", "aria-live": "polite" });
  box.append(form, out);
  onSubmit(form, (f) => {
    const e = f.elements;
    const body = { number: e.number.value.trim(), caller: e.caller.value.trim() };
    if (e.time.value) body.time = new Date(e.time.value).toISOString();
    if (e.digits.value.trim()) body.digits = e.digits.value.trim().split(/[\s,]+/);
    return api("POST", "/api/v1/flows/simulate", body);
  }, (r) => {
    out.replaceChildren(el("section", { class: "card", "aria-labelledby": "simulate-path" },
      el("h3", { id: "simulate-path" }, t("flow.try.path", { flow: r.data.flow || "" })),
      el("ol", { id: "simulate-steps" }, (r.data.path || []).map((p) => el("li", { "data-step": p.step },
        el("strong", {}, p.step), ` (${kindLabel(p.kind)}): ${p.explanation}`))),
      r.data.broken ? el("p", { class: "field-error" }, r.data.broken) : null,
      (r.data.problems || []).map((p) => el("p", { class: "field-error" }, `${p.step}: ${p.message}`))));
  });
}
