// admin-section 60 /api/v1/users
// Users: list, create, edit (name, role, active, new password), delete,
// and each user's API tokens — all through /api/v1/users.
import { api, el, field, onSubmit, notice, t, fmtTime, showError } from "../app.js";

const roles = () => ["agent", "supervisor", "admin"].map((r) => [r, t("role." + r)]);

export async function render(root) {
  const listBox = el("div", { id: "users-list" });
  const formBox = el("div", { id: "users-form-box" });
  const tokenBox = el("div", { id: "tokens-box" });
  root.append(formBox, el("h2", {}, t("users.list")), listBox, tokenBox);

  async function reload() {
    const r = await api("GET", "/api/v1/users");
    if (!r.ok) { listBox.replaceChildren(el("p", { class: "form-error", role: "alert" }, r.error.message)); return; }
    listBox.replaceChildren(table(r.data));
  }

  function table(users) {
    if (users.length === 0) return el("p", {}, t("form.none"));
    return el("table", { id: "users-table" },
      el("thead", {}, el("tr", {},
        ["users.username", "users.display_name", "users.role", "users.status", "form.actions"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, users.map((u) => el("tr", { "data-user": u.username },
        el("th", { scope: "row" }, u.username),
        el("td", {}, u.display_name),
        el("td", {}, t("role." + u.role)),
        el("td", {}, u.active ? "✓ " + t("users.activeYes") : "✕ " + t("users.activeNo")),
        el("td", { class: "actions" },
          el("button", { type: "button", class: "secondary", "aria-label": `${t("form.edit")} ${u.username}`, onclick: () => showForm(u) }, t("form.edit")),
          el("button", { type: "button", class: "secondary", "aria-label": `${t("users.tokens")} ${u.username}`, onclick: () => showTokens(u) }, t("users.tokens")),
          el("button", { type: "button", class: "danger", "aria-label": `${t("form.delete")} ${u.username}`, onclick: () => remove(u) }, t("form.delete")))))));
  }

  async function remove(u) {
    if (!confirm(t("form.confirmDelete"))) return;
    const r = await api("DELETE", `/api/v1/users/${u.id}`);
    if (!r.ok) { showError(listBox, r.error); return; }
    notice(listBox, t("form.deleted"));
    await reload();
  }

  function showForm(u) {
    const editing = !!u;
    const id = editing ? "user-edit" : "user-new";
    const fields = editing ? [
      field(id, { name: "display_name", label: t("users.display_name"), help: t("users.display_name.help"), value: u.display_name }),
      field(id, { name: "role", label: t("users.role"), help: t("users.role.help"), type: "select", options: roles(), value: u.role }),
      field(id, { name: "active", label: t("users.active"), help: t("users.active.help"), type: "checkbox", value: u.active }),
      field(id, { name: "password", label: t("users.newPassword"), help: t("users.newPassword.help"), type: "password", autocomplete: "new-password" }),
    ] : [
      field(id, { name: "username", label: t("users.username"), help: t("users.username.help"), required: true, autocomplete: "off" }),
      field(id, { name: "display_name", label: t("users.display_name"), help: t("users.display_name.help") }),
      field(id, { name: "password", label: t("users.password"), help: t("users.password.help"), type: "password", required: true, autocomplete: "new-password" }),
      field(id, { name: "role", label: t("users.role"), help: t("users.role.help"), type: "select", options: roles(), value: "agent" }),
    ];
    const form = el("form", { id, class: "card stack", novalidate: true, "aria-labelledby": id + "-title" },
      el("h2", { id: id + "-title" }, editing ? `${t("users.edit")}: ${u.username}` : t("users.new")),
      fields,
      el("div", { class: "actions" },
        el("button", { type: "submit" }, editing ? t("form.save") : t("form.create")),
        editing ? el("button", { type: "button", class: "secondary", onclick: () => showForm(null) }, t("form.cancel")) : null));
    formBox.replaceChildren(form);
    onSubmit(form, (f) => {
      const e = f.elements;
      if (!editing) {
        return api("POST", "/api/v1/users", {
          username: e.username.value, display_name: e.display_name.value, password: e.password.value, role: e.role.value,
        });
      }
      const patch = { display_name: e.display_name.value, role: e.role.value, active: e.active.checked };
      if (e.password.value) patch.password = e.password.value;
      return api("PATCH", `/api/v1/users/${u.id}`, patch);
    }, async () => {
      showForm(null);
      notice(formBox, t("form.saved"));
      await reload();
    });
    if (editing) form.querySelector("input, select").focus();
  }

  async function showTokens(u) {
    const r = await api("GET", `/api/v1/users/${u.id}/tokens`);
    const id = "token-new";
    const form = el("form", { id, class: "stack", novalidate: true },
      field(id, { name: "name", label: t("tokens.name"), help: t("tokens.name.help"), required: true }),
      field(id, { name: "scope", label: t("tokens.scope"), help: t("tokens.scope.help"), type: "select", value: "api",
        options: u.role === "agent" ? [["api", t("tokens.scope.api")]] : [["api", t("tokens.scope.api")], ["kiosk", t("tokens.scope.kiosk")]] }),
      el("button", { type: "submit" }, t("tokens.create")));
    const list = r.ok && r.data.length > 0 ? el("table", { id: "tokens-table" },
      el("thead", {}, el("tr", {}, ["tokens.name", "tokens.scope", "tokens.createdAt", "tokens.lastUsed", "form.actions"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, r.data.map((tok) => el("tr", {},
        el("th", { scope: "row" }, tok.name),
        el("td", {}, t(`tokens.scope.${tok.scope}`)),
        el("td", {}, fmtTime(tok.created_at)),
        el("td", {}, tok.last_used_at ? fmtTime(tok.last_used_at) : t("tokens.never")),
        el("td", {}, el("button", {
          type: "button", class: "danger", "aria-label": `${t("form.delete")} ${tok.name}`,
          onclick: async () => {
            if (!confirm(t("form.confirmDelete"))) return;
            const d = await api("DELETE", `/api/v1/users/${u.id}/tokens/${tok.id}`);
            if (d.ok) await showTokens(u); else showError(form, d.error);
          },
        }, t("form.delete"))))))) : el("p", {}, t("form.none"));
    const heading = el("h2", { id: "tokens-title", tabindex: "-1" }, t("tokens.title", { name: u.username }));
    tokenBox.replaceChildren(el("section", { class: "card", "aria-labelledby": "tokens-title" }, heading, list, form));
    onSubmit(form, (f) => api("POST", `/api/v1/users/${u.id}/tokens`, { name: f.elements.name.value, scope: f.elements.scope.value }), async (res) => {
      await showTokens(u);
      const kiosk = `${location.origin}/wallboard?token=${encodeURIComponent(res.data.token)}`;
      tokenBox.querySelector("section").append(el("div", { class: "notice", role: "status", id: "token-created" },
        t("tokens.created"), el("code", { class: "token" }, res.data.token),
        res.data.scope === "kiosk" ? [t("tokens.kiosk"), el("code", { class: "token" }, kiosk)] : null));
    });
    heading.focus();
  }

  showForm(null);
  await reload();
}
