// admin-section 40 /api/v1/queues
import { resource } from "./resource.js";
import { api, lang, t } from "../app.js";

const sec = (v) => (v ? `${v} s` : "–");

export async function render(root) {
  // the strategies, with their names and help in both languages, come from
  // the engine's registry; the default comes first.
  const res = await api("GET", "/api/v1/strategies");
  const strategies = res.ok ? res.data : [];
  const text = (s, key) => s[key][lang] ?? s[key].en;
  const label = (name) => { const s = strategies.find((x) => x.name === name); return s ? text(s, "label") : name; };
  return resource(root, {
    path: "/api/v1/queues", id: "queue", title: (q) => q.name,
    columns: [["name", (q) => q.name], ["display_name", (q) => q.display_name], ["strategy", (q) => label(q.strategy)],
      ["max_wait_seconds", (q) => sec(q.max_wait_seconds)], ["wrap_up_seconds", (q) => sec(q.wrap_up_seconds)]],
    fields: [
      { name: "name", required: true, createOnly: true },
      { name: "display_name" },
      { name: "strategy", type: "select", options: () => strategies.map((s) => [s.name, text(s, "label"), text(s, "help")]),
        value: strategies.find((s) => s.default)?.name },
      { name: "ring_timeout_seconds", type: "number", num: true, min: 0 },
      { name: "wrap_up_seconds", type: "number", num: true, min: 0 },
      { name: "max_wait_seconds", type: "number", num: true, min: 0 },
      { name: "max_len", type: "number", num: true, min: 0 },
      { name: "empty_policy", type: "select", options: () => ["join", "refuse", "leave"].map((s) => [s, t("queue.empty." + s)]), value: "join" },
      { name: "max_parallel_offers", type: "number", num: true, min: 0 },
      { name: "retry_delay_seconds", type: "number", num: true, min: 0 },
      { name: "auto_pause_after", type: "number", num: true, min: 0 },
      { name: "weight", type: "number", num: true, min: 0 },
      { name: "ring_in_use", type: "checkbox" },
      { name: "service_level_seconds", type: "number", num: true, min: 0 },
      { name: "service_level_percent", type: "number", num: true, min: 0, max: 100 },
      { name: "max_occupancy_percent", type: "number", num: true, min: 0, max: 100 },
      { name: "skills", json: true, rows: 3 },
    ],
  });
}
