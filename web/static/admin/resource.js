// A list + form editor for one API resource, driven by a spec:
// {path, id: "queue", title(row), columns: [[key, row => text]], fields:
// [{name, type, options, json, num}], extra(row, box)}. Labels and help
// texts come from the strings "<id>.<field>" and "<id>.<field>.help".
import { api, el, field, onSubmit, notice, t, showError } from "../app.js";

export function values(form, fields, editing) {
  const body = {};
  for (const f of fields) {
    if (f.createOnly && editing) continue;
    const c = form.elements[f.name];
    if (f.type === "checkbox") { body[f.name] = c.checked; continue; }
    const v = c.value.trim();
    if (f.num) {
      if (v === "") continue;
      body[f.name] = Number(v);
    } else if (f.json) {
      if (v === "") continue;
      try { body[f.name] = JSON.parse(v); } catch (e) {
        return { error: { code: "invalid", field: f.name, message: t("form.badJSON") + " " + e.message } };
      }
    } else {
      body[f.name] = v;
    }
  }
  return { body };
}

export async function resource(root, spec) {
  const formBox = el("div", { id: spec.id + "-form-box" });
  const listBox = el("div", { id: spec.id + "-list" });
  const extraBox = el("div", { id: spec.id + "-extra" });
  root.append(formBox, el("h2", {}, t(spec.id + ".list")), listBox, extraBox);
  let rows = [];

  async function reload() {
    const r = await api("GET", spec.path);
    if (!r.ok) { listBox.replaceChildren(el("p", { class: "form-error", role: "alert" }, r.error.message)); return; }
    rows = r.data;
    if (rows.length === 0) { listBox.replaceChildren(el("p", {}, t("form.none"))); return; }
    listBox.replaceChildren(el("table", { id: spec.id + "-table" },
      el("thead", {}, el("tr", {}, spec.columns.map(([k]) => el("th", { scope: "col" }, t(spec.id + "." + k))),
        el("th", { scope: "col" }, t("form.actions")))),
      el("tbody", {}, rows.map((row) => el("tr", { "data-row": spec.title(row) },
        spec.columns.map(([, fn], i) => i === 0 ? el("th", { scope: "row" }, fn(row)) : el("td", {}, fn(row))),
        el("td", { class: "actions" },
          el("button", { type: "button", class: "secondary", "aria-label": `${t("form.edit")} ${spec.title(row)}`, onclick: () => showForm(row) }, t("form.edit")),
          spec.extra ? el("button", { type: "button", class: "secondary", "aria-label": `${t(spec.id + ".more")} ${spec.title(row)}`, onclick: () => spec.extra(row, extraBox) }, t(spec.id + ".more")) : null,
          el("button", { type: "button", class: "danger", "aria-label": `${t("form.delete")} ${spec.title(row)}`, onclick: () => remove(row) }, t("form.delete"))))))));
  }

  async function remove(row) {
    if (!confirm(t("form.confirmDelete"))) return;
    const r = await api("DELETE", `${spec.path}/${row.id}`);
    if (!r.ok) { showError(listBox, r.error); return; }
    notice(listBox, t("form.deleted"));
    await reload();
  }

  function showForm(row) {
    const editing = !!row;
    const id = spec.id + (editing ? "-edit" : "-new");
    const fields = spec.fields.filter((f) => !(f.createOnly && editing));
    const form = el("form", { id, class: "card stack", novalidate: true, "aria-labelledby": id + "-title" },
      el("h2", { id: id + "-title" }, editing ? `${t("form.edit")}: ${spec.title(row)}` : t(spec.id + ".new")),
      fields.map((f) => {
        let value = editing ? row[f.name] : f.value;
        if (f.json && value !== undefined && typeof value !== "string") value = JSON.stringify(value, null, 2);
        return field(id, { ...f, label: t(`${spec.id}.${f.name}`), help: t(`${spec.id}.${f.name}.help`), value,
          type: f.json ? "textarea" : f.type, rows: f.rows, options: typeof f.options === "function" ? f.options() : f.options });
      }),
      el("div", { class: "actions" },
        el("button", { type: "submit" }, editing ? t("form.save") : t("form.create")),
        editing ? el("button", { type: "button", class: "secondary", onclick: () => showForm(null) }, t("form.cancel")) : null));
    formBox.replaceChildren(form);
    if (spec.decorate) spec.decorate(form, row);
    onSubmit(form, async (f) => {
      if (spec.submit) return spec.submit(f, row);
      const v = values(f, fields, editing);
      if (v.error) return { ok: false, error: v.error };
      return api(editing ? "PATCH" : "POST", editing ? `${spec.path}/${row.id}` : spec.path, v.body);
    }, async () => {
      showForm(null);
      notice(formBox, t("form.saved"));
      await reload();
    });
    if (editing) form.querySelector("input, select, textarea").focus();
  }

  showForm(null);
  await reload();
  return { reload };
}
