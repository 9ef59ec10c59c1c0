// admin-section 50 /api/v1/agents
// Staff (agents): a member of staff in one form — name, device (browser,
// desk phone, mobile), login (none, an existing user, or a new local
// login), skills and queues as rows — saved in one request (POST
// /api/v1/staff), so a refused part saves nothing. Editing changes the
// agent and its login link (PATCH /api/v1/agents/:id); "Køer" edits the
// queues of an existing agent. The list warns about browser agents
// without a login: nobody can log in to answer their calls.
import { resource } from "./resource.js";
import { api, el, field, onSubmit, t, showError } from "../app.js";

// device is the form's device: browser, desk phone or mobile (an
// endpoint whose dial string goes out through a trunk, "…@trunk").
const device = (a) => (a.device_kind !== "endpoint" ? "webrtc" : a.dial_string.includes("@") ? "mobile" : "endpoint");

export async function render(root) {
  const queues = await api("GET", "/api/v1/queues");
  const qs = queues.ok ? queues.data : [];
  const qname = (id) => qs.find((q) => q.id === id)?.name || String(id);
  let users = [];
  let linked = new Set(); // users linked to an agent: offered to no other
  const username = (id) => users.find((u) => u.id === id)?.username;

  async function loadUsers() {
    const [r, a] = await Promise.all([api("GET", "/api/v1/users"), api("GET", "/api/v1/agents")]);
    users = r.ok ? r.data : [];
    linked = new Set(a.ok ? a.data.filter((x) => x.user_id).map((x) => x.user_id) : []);
  }
  await loadUsers();

  const res = await resource(root, {
    path: "/api/v1/agents", id: "agent", title: (a) => a.name,
    columns: [["name", (a) => a.name], ["device_kind", (a) => t("agent.device." + device(a))],
      ["login", (a) => loginCell(a)],
      ["active", (a) => (a.active ? "✓ " + t("form.yes") : "✕ " + t("form.no"))]],
    fields: [
      { name: "name", required: true },
      { name: "device_kind", type: "select", options: () => ["webrtc", "endpoint", "mobile"].map((d) => [d, t("agent.device." + d)]), value: "webrtc" },
      { name: "dial_string" },
      { name: "wrap_up_seconds", type: "number", num: true, min: 0 },
    ],
    decorate: (form, row) => decorate(form, row),
    submit: (form, row) => submit(form, row),
    extra: memberships,
  });
  root.querySelector("#agent-list").before(el("p", { class: "help", id: "agent-no-login-help" }, t("agent.noLogin.help")));
  return res;

  // loginCell is the login of an agent, or the warning that a browser
  // agent has none.
  function loginCell(a) {
    if (a.user_id) return username(a.user_id) || "#" + a.user_id;
    if (a.device_kind !== "webrtc") return el("span", { class: "muted" }, t("agent.login.none"));
    return el("span", { class: "badge-warn", "data-no-login": "", "aria-describedby": "agent-no-login-help" }, t("agent.noLogin"));
  }

  // The login, skills and queue parts of the form.
  function decorate(form, row) {
    const editing = !!row;
    const id = form.id;
    const dial = form.querySelector(`#${id}-dial_string`).closest(".field");
    const kind = form.elements.device_kind;
    if (editing) kind.value = device(row);
    const showDial = () => { dial.hidden = kind.value === "webrtc"; };
    kind.addEventListener("change", showDial);
    showDial();

    // login: none, an existing user of the organisation not linked to
    // another agent, or (creating) a new local login
    const modes = [["none", t("agent.login.mode.none")], ["existing", t("agent.login.mode.existing")]];
    if (!editing) modes.push(["new", t("agent.login.mode.new")]);
    const free = users.filter((u) => u.active && !linked.has(u.id) || (editing && u.id === row.user_id));
    const userBox = el("div", { class: "stack" }, field(id, {
      name: "user_id", label: t("agent.user_id"), help: t("agent.user_id.help"), type: "select",
      options: free.map((u) => [String(u.id), `${u.username}${u.display_name ? " – " + u.display_name : ""}${u.oidc ? " (OIDC)" : ""}`]),
      value: editing && row.user_id ? String(row.user_id) : undefined,
    }));
    const newBox = el("div", { class: "stack" },
      field(id, { name: "login.username", label: t("agent.login.username"), help: t("agent.login.username.help"), autocomplete: "off" }),
      field(id, { name: "login.password", label: t("agent.login.password"), help: t("agent.login.password.help"), type: "password", autocomplete: "new-password" }));
    const mode = field(id, { name: "login", label: t("agent.login"), help: t("agent.login.help"), type: "select", options: modes,
      value: editing && row.user_id ? "existing" : "none" });
    const loginSet = el("fieldset", { class: "stack" }, el("legend", {}, t("agent.login.legend")), mode, userBox, newBox);
    const modeSelect = mode.querySelector("select");
    const showLogin = () => {
      const m = modeSelect.value;
      userBox.hidden = m !== "existing";
      newBox.hidden = m !== "new";
    };
    loginSet.addEventListener("change", showLogin);
    showLogin();

    // skills as rows: name and level 1–100
    const skillRows = el("div", { class: "stack" });
    const addSkill = (name = "", level = "") => {
      const i = skillRows.children.length;
      skillRows.append(el("div", { class: "row-fields" },
        field(id, { name: `skills[${i}].name`, label: t("agent.skill.name"), value: name, autocomplete: "off" }),
        field(id, { name: `skills[${i}].level`, label: t("agent.skill.level"), type: "number", min: 1, max: 100, value: level }),
        el("button", { type: "button", class: "secondary small", "aria-label": `${t("form.delete")} ${t("agent.skill.name")} ${i + 1}`,
          onclick: (e) => e.target.closest(".row-fields").remove() }, t("form.delete"))));
    };
    for (const [k, v] of Object.entries(editing ? row.skills || {} : {})) addSkill(k, v);
    const skillSet = el("fieldset", { class: "stack" }, el("legend", {}, t("agent.skills")), el("p", { class: "help" }, t("agent.skills.help")), skillRows,
      el("button", { type: "button", class: "secondary", id: id + "-add-skill", onclick: () => addSkill() }, t("agent.skill.add")));

    const parts = [loginSet, skillSet];
    if (!editing) {
      // queues with tier as rows
      const queueRows = el("div", { class: "stack" });
      const addQueue = () => {
        const i = queueRows.children.length;
        queueRows.append(el("div", { class: "row-fields" },
          field(id, { name: `memberships[${i}].queue_id`, label: t("agent.queue"), type: "select", options: qs.map((q) => [String(q.id), q.display_name || q.name]) }),
          field(id, { name: `memberships[${i}].tier`, label: t("agent.tier"), type: "number", min: 0, max: 100, value: 0 }),
          el("button", { type: "button", class: "secondary small", "aria-label": `${t("form.delete")} ${t("agent.queue")} ${i + 1}`,
            onclick: (e) => e.target.closest(".row-fields").remove() }, t("form.delete"))));
      };
      parts.push(el("fieldset", { class: "stack" }, el("legend", {}, t("agent.queues")), el("p", { class: "help" }, t("agent.tier.help")), queueRows,
        qs.length ? el("button", { type: "button", class: "secondary", id: id + "-add-queue", onclick: addQueue }, t("agent.addMembership")) : el("p", {}, t("agent.noQueues"))));
    }
    form.querySelector(".actions").before(...parts);
  }

  // rows reads the numbered rows prefix[i].key of the form, in order.
  function rows(form, prefix, keys) {
    const out = [];
    for (const c of form.querySelectorAll(`[name^="${prefix}["][name$=".${keys[0]}"]`)) {
      const i = c.name.slice(prefix.length + 1, c.name.indexOf("]"));
      const r = { i };
      for (const k of keys) r[k] = form.elements[`${prefix}[${i}].${k}`];
      out.push(r);
    }
    return out;
  }

  async function submit(form, row) {
    const e = form.elements;
    const invalid = (field, message) => ({ ok: false, error: { code: "invalid", field, message } });
    const body = { name: e.name.value.trim(), device_kind: e.device_kind.value === "webrtc" ? "webrtc" : "endpoint",
      dial_string: e.device_kind.value === "webrtc" ? "" : e.dial_string.value.trim() };
    if (!body.name) return invalid("name", t("agent.error.name"));
    const wrap = e.wrap_up_seconds.value.trim();
    if (wrap !== "") body.wrap_up_seconds = Number(wrap);
    else if (row) body.wrap_up_seconds = null;
    body.skills = {};
    for (const s of rows(form, "skills", ["name", "level"])) {
      const name = s.name.value.trim(), level = s.level.value.trim();
      if (!name && !level) continue;
      if (!name) return invalid(s.name.name, t("agent.error.skillName"));
      if (!/^\d+$/.test(level) || Number(level) < 1 || Number(level) > 100) return invalid(s.level.name, t("agent.error.skillLevel"));
      if (name in body.skills) return invalid(s.name.name, t("agent.error.skillTwice"));
      body.skills[name] = Number(level);
    }
    const mode = e.login.value;
    if (mode === "existing") {
      if (!e.user_id.value) return invalid("user_id", t("agent.error.noUser"));
      body.user_id = Number(e.user_id.value);
    } else if (row) {
      body.user_id = null;
    }
    if (mode === "new") {
      body.login = { username: e["login.username"].value.trim(), password: e["login.password"].value };
      if (!body.login.username) return invalid("login.username", t("agent.error.username"));
      if (!body.login.password) return invalid("login.password", t("agent.error.password"));
    }
    let r;
    if (row) {
      r = await api("PATCH", `/api/v1/agents/${row.id}`, body);
    } else {
      body.memberships = rows(form, "memberships", ["queue_id", "tier"]).map((m) => ({ queue_id: Number(m.queue_id.value), tier: Number(m.tier.value || 0) }));
      r = await api("POST", "/api/v1/staff", body);
    }
    if (r.ok) await loadUsers();
    if (!r.ok && r.error.field === "login.username" && r.error.code === "conflict") r.error = { ...r.error, code: "invalid", message: t("agent.error.usernameTaken") };
    // the API names the skills as a whole: show it at the first row
    if (!r.ok && r.error.field === "skills" && form.elements["skills[0].name"]) r.error.field = rows(form, "skills", ["name"])[0].name.name;
    return r;
  }

  // memberships: which queues an existing agent answers, and at which tier
  async function memberships(a, box) {
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
  }
}
