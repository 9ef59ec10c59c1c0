// admin-section 70 /api/v1/announcements
// Announcements: upload (multipart WAV), listen in the browser, see which
// call flows and queues use each one. Deleting one in use is refused by
// the API (409 in_use) and its message, naming the users, is shown.
import { resource } from "./resource.js";
import { api, el, t } from "../app.js";

// usage maps an announcement's name to where it is used, found the way the
// store checks it: menu and announcement steps of flows, queues' own
// announcements.
async function usage() {
  const [flows, queues] = await Promise.all([api("GET", "/api/v1/flows"), api("GET", "/api/v1/queues")]);
  const by = new Map();
  const add = (name, what) => {
    if (!name) return;
    if (!by.has(name)) by.set(name, []);
    const list = by.get(name);
    if (!list.some((w) => w.kind === what.kind && w.name === what.name)) list.push(what);
  };
  for (const f of flows.ok ? flows.data : []) {
    for (const s of f.definition?.steps || []) {
      add(s.menu?.announcement, { kind: "flow", name: f.name, step: s.id });
      add(s.announcement?.announcement, { kind: "flow", name: f.name, step: s.id });
    }
  }
  for (const q of queues.ok ? queues.data : []) {
    for (const ca of q.custom_announcements || []) add(ca.announcement, { kind: "queue", name: q.name });
  }
  return by;
}

function usedBy(list) {
  if (!list || list.length === 0) return el("span", { class: "muted" }, t("announcement.unused"));
  return el("ul", { class: "used-by" }, list.map((w) => el("li", {},
    el("a", { href: w.kind === "flow" ? "/admin/flows" : "/admin/queues" }, `${t("announcement.usedBy." + w.kind)} ${w.name}`),
    w.step ? ` (${t("announcement.step")} ${w.step})` : "")));
}

export async function render(root) {
  const by = await usage();
  return resource(root, {
    path: "/api/v1/announcements", id: "announcement", title: (a) => a.name,
    columns: [["name", (a) => a.name], ["description", (a) => a.description],
      ["duration_ms", (a) => (a.duration_ms / 1000).toFixed(1) + " s"],
      ["listen", (a) => el("audio", { controls: true, preload: "none", src: `/api/v1/announcements/${a.id}/audio`, "aria-label": `${t("announcement.listen")}: ${a.name}` })],
      ["used", (a) => usedBy(by.get(a.name))]],
    fields: [
      { name: "name", required: true },
      { name: "description" },
      { name: "file", type: "file", accept: "audio/wav,.wav", createOnly: true },
    ],
    // upload as multipart; editing changes name and description only
    submit: (form, row) => {
      if (row) return api("PATCH", `/api/v1/announcements/${row.id}`, { name: form.elements.name.value, description: form.elements.description.value });
      return api("POST", "/api/v1/announcements", new FormData(form));
    },
  });
}
