import { resource } from "./resource.js";
import { api, el, t } from "../app.js";

export function render(root) {
  return resource(root, {
    path: "/api/v1/announcements", id: "announcement", title: (a) => a.name,
    columns: [["name", (a) => a.name], ["description", (a) => a.description],
      ["duration_ms", (a) => (a.duration_ms / 1000).toFixed(1) + " s"],
      ["listen", (a) => el("audio", { controls: true, preload: "none", src: `/api/v1/announcements/${a.id}/audio`, "aria-label": `${t("announcement.listen")}: ${a.name}` })]],
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
