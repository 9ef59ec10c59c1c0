// admin-section 10 /api/v1/numbers
import { resource } from "./resource.js";
import { api } from "../app.js";

export async function render(root) {
  const flows = await api("GET", "/api/v1/flows");
  const opts = () => (flows.ok ? flows.data : []).map((f) => [String(f.id), f.name]);
  const name = (id) => (flows.ok ? flows.data.find((f) => f.id === id)?.name : "") || String(id);
  return resource(root, {
    path: "/api/v1/numbers", id: "number", title: (n) => n.number,
    // number is the canonical form omstil compares; display is as typed.
    columns: [["number", (n) => n.display && n.display !== n.number ? `${n.number} (${n.display})` : n.number],
      ["flow_id", (n) => name(n.flow_id)], ["description", (n) => n.description]],
    fields: [
      { name: "number", required: true },
      { name: "flow_id", type: "select", options: opts, num: true },
      { name: "description" },
    ],
  });
}
