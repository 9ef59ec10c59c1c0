// Shared helpers of every page: texts, the API client, a small DOM
// builder and form handling. Plain ES module, no build step.

const strings = JSON.parse(document.body.dataset.i18n || "{}");

// t returns the text of key in the page's language, with {name}
// placeholders filled from vars.
export function t(key, vars) {
  let s = strings[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, v);
  return s;
}

// pauseReason is the text of a pause reason: omstil's own reasons
// (unreachable, page closed, autopause) in the page's language, an
// organisation's own as they were written.
export function pauseReason(reason) {
  const key = "pause." + reason.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return key in strings ? strings[key] : reason;
}

export const lang = document.documentElement.lang || "da";

// api calls the JSON API same-origin with the session cookie. It resolves
// to {ok, status, data, error} and never throws; error is the API's
// {code, message, field} or a network error.
export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, error: { code: "network", message: t("error.network") } };
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const error = (data && data.error) || { code: "http_" + res.status, message: res.statusText };
    if (res.status === 401 && !path.startsWith("/api/v1/auth/")) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
    }
    return { ok: false, status: res.status, data, error };
  }
  return { ok: true, status: res.status, data };
}

// message is the text to show for an API error: ours when we have one for
// its code, else the API's own.
export function message(error) {
  if (error.code === "invalid" || error.code === "bad_request") return error.message;
  // in use: ours, then the API's naming what uses it
  if (error.code === "in_use" && strings["error.in_use"] && error.message) return `${strings["error.in_use"]} (${error.message})`;
  const key = "error." + error.code;
  return strings[key] ?? error.message;
}

// el builds an element: el("p", {class: "x"}, "text", child…). Attributes
// starting with "on" are event listeners (no inline handlers: the CSP
// forbids them).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// field builds a labelled control with its help text and an error slot.
// spec: {name, label, help, type ("text", "password", "number",
// "select", "checkbox", "textarea", "file"), options [[value, text]],
// value, required, autocomplete}.
export function field(formId, spec) {
  const id = `${formId}-${spec.name}`;
  const helpId = id + "-help", errId = id + "-error";
  const described = [spec.help ? helpId : null, errId].filter(Boolean).join(" ");
  let control;
  if (spec.type === "select") {
    control = el("select", { id, name: spec.name, "aria-describedby": described, required: spec.required },
      spec.options.map(([v, text, title]) => el("option", { value: v, title, selected: String(spec.value) === String(v) }, text)));
  } else if (spec.type === "textarea") {
    control = el("textarea", { id, name: spec.name, rows: spec.rows || 4, "aria-describedby": described, required: spec.required });
    control.value = spec.value ?? "";
  } else if (spec.type === "checkbox") {
    control = el("input", { id, name: spec.name, type: "checkbox", "aria-describedby": described, checked: !!spec.value });
  } else {
    control = el("input", {
      id, name: spec.name, type: spec.type || "text", "aria-describedby": described, required: spec.required,
      autocomplete: spec.autocomplete, min: spec.min, max: spec.max, step: spec.step, accept: spec.accept,
    });
    if (spec.value !== undefined && spec.value !== null && spec.type !== "file") control.value = spec.value;
  }
  const label = el("label", { for: id }, spec.label);
  const help = spec.help ? el("p", { class: "help", id: helpId }, spec.help) : null;
  const err = el("p", { class: "field-error", id: errId, hidden: true });
  if (spec.type === "checkbox") return el("div", { class: "field check" }, control, label, help, err);
  return el("div", { class: "field" }, label, help, control, err);
}

// clearErrors hides every error of a form.
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error, .form-error")) { p.hidden = true; p.textContent = ""; }
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

// showError puts an API error next to its field (error.field) or at the
// top of the form, and moves focus there.
export function showError(form, error) {
  const msg = message(error);
  const f = error.field && form.querySelector(`[name="${CSS.escape(error.field)}"]`);
  if (f) {
    const p = document.getElementById(f.id + "-error");
    p.textContent = msg;
    p.hidden = false;
    f.setAttribute("aria-invalid", "true");
    f.focus();
    return;
  }
  let box = form.querySelector(".form-error");
  if (!box) {
    box = el("div", { class: "form-error", role: "alert" });
    form.prepend(box);
  }
  box.textContent = msg;
  box.hidden = false;
  box.setAttribute("tabindex", "-1");
  box.focus();
}

// onSubmit wires a form: fn(form) returns an api() result; errors are
// shown, the submit button is disabled while the request runs.
export function onSubmit(form, fn, done) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const btn = form.querySelector("[type=submit]");
    if (btn) btn.disabled = true;
    try {
      const r = await fn(form);
      if (!r.ok) showError(form, r.error);
      else if (done) await done(r);
    } finally {
      if (btn) btn.disabled = false;
    }
  });
}

// notice shows a short confirmation in a live region inside parent.
export function notice(parent, text) {
  let n = parent.querySelector(":scope > .notice");
  if (!n) {
    n = el("p", { class: "notice", role: "status" });
    parent.prepend(n);
  }
  n.textContent = text;
}

// fmtTime shows a time in the page's language.
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(lang === "da" ? "da-DK" : "en-GB", { dateStyle: "short", timeStyle: "medium" });
}

// fmtDuration shows milliseconds as m:ss or h:mm:ss.
export function fmtDuration(ms) {
  if (ms < 0) return "–";
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout");
    location.href = "/login";
  });
}
