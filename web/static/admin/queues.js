// admin-section 40 /api/v1/queues
import { resource } from "./resource.js";
import { t } from "../app.js";

const strategies = ["longest-idle", "ringall", "round-robin", "fewest-calls", "linear", "random", "weighted-random"];
const sec = (v) => (v ? `${v} s` : "–");

export function render(root) {
  return resource(root, {
    path: "/api/v1/queues", id: "queue", title: (q) => q.name,
    columns: [["name", (q) => q.name], ["display_name", (q) => q.display_name], ["strategy", (q) => t("strategy." + q.strategy)],
      ["max_wait_seconds", (q) => sec(q.max_wait_seconds)], ["wrap_up_seconds", (q) => sec(q.wrap_up_seconds)]],
    fields: [
      { name: "name", required: true, createOnly: true },
      { name: "display_name" },
      { name: "strategy", type: "select", options: () => strategies.map((s) => [s, t("strategy." + s)]), value: "longest-idle" },
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
      { name: "skills", json: true, rows: 3 },
    ],
  });
}
