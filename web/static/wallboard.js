// The wallboard: one server-sent event stream (GET /api/v1/live) pushes
// a snapshot after every change; the page only counts the seconds in
// between.
import { api, el, t, fmtDuration } from "./app.js";

const board = document.getElementById("board");
const agentsBox = document.getElementById("agents");
const status = document.getElementById("live-status");
const names = { queues: new Map(), agents: new Map() };
const STATES = ["ready", "ringing", "oncall", "wrapup", "paused"];

function setStatus(state) {
  status.dataset.state = state;
  status.textContent = t("wallboard." + state);
}

// loadNames fetches display names when the configuration API offers them;
// the live feed itself carries only IDs.
async function loadNames() {
  for (const [kind, path] of [["queues", "/api/v1/queues"], ["agents", "/api/v1/agents"]]) {
    if (document.body.dataset.kiosk) return;
    const r = await api("GET", path);
    if (!r.ok || !Array.isArray(r.data)) continue;
    for (const x of r.data) {
      if (kind === "queues") names.queues.set(x.name, x.display_name || x.name);
      else names.agents.set(x.engine_id, x.name);
    }
  }
}

const nameOf = (kind, id) => names[kind].get(id) || id;

function stateBadge(state, reason) {
  const text = t("state." + state) + (reason ? ` (${reason})` : "");
  return el("span", { class: `state state-${state}`, "data-state": state }, text);
}

// ticking values: the snapshot's value plus the time since it arrived.
function ticking(ms, received) {
  return el("span", { "data-tick": ms, "data-received": received }, fmtDuration(ms));
}

function render(snap) {
  const received = Date.now();
  const skew = received - Date.parse(snap.at);
  board.replaceChildren();
  if (snap.queues.length === 0) board.append(el("p", { id: "no-queues" }, t("wallboard.noQueues")));
  for (const q of snap.queues) {
    const fig = (key, value, attr) => [el("dt", {}, t("wallboard." + key)), el("dd", { "data-figure": attr || key }, value)];
    const counts = STATES.filter((s) => q.agents[s] > 0).map((s) =>
      el("li", {}, stateBadge(s), " ", el("span", { "data-count": s }, String(q.agents[s]))));
    board.append(el("section", { class: "card queue-card", "data-queue": q.id, "aria-labelledby": "q-" + q.id },
      el("h2", { id: "q-" + q.id }, nameOf("queues", q.id)),
      el("dl", { class: "figures" },
        fig("waiting", String(q.waiting)),
        fig("longest", q.waiting > 0 ? ticking(q.longest_wait_ms, received) : fmtDuration(0)),
        fig("answered", String(q.answered_today)),
        fig("abandoned", String(q.abandoned_today)),
        fig("serviceLevel", Math.round(q.service_level_today * 100) + " %"),
        fig("callbacks", String(q.callbacks))),
      el("ul", { class: "states", "aria-label": t("wallboard.agents") }, counts)));
  }
  const agents = snap.agents.filter((a) => a.state !== "loggedout");
  if (agents.length === 0) {
    agentsBox.replaceChildren(el("p", {}, t("wallboard.noAgents")));
    return;
  }
  agentsBox.replaceChildren(el("table", { id: "agent-table" },
    el("thead", {}, el("tr", {}, ["agent", "state", "since", "queues", "callsToday"].map((k) => el("th", { scope: "col" }, t("wallboard." + k))))),
    el("tbody", {}, agents.map((a) => el("tr", { "data-agent": a.id },
      el("th", { scope: "row" }, nameOf("agents", a.id)),
      el("td", {}, stateBadge(a.state, a.reason), a.queue ? ` – ${nameOf("queues", a.queue)}` : ""),
      el("td", {}, ticking(Math.max(0, received - skew - Date.parse(a.since)), received)),
      el("td", {}, a.queues.map((q) => nameOf("queues", q)).join(", ")),
      el("td", {}, String(a.calls_today)))))));
}

setInterval(() => {
  const now = Date.now();
  for (const e of document.querySelectorAll("[data-tick]")) {
    e.textContent = fmtDuration(Number(e.dataset.tick) + now - Number(e.dataset.received));
  }
}, 1000);

let retry = null;
function connect() {
  const es = new EventSource("/api/v1/live");
  es.addEventListener("open", () => setStatus("live"));
  es.addEventListener("snapshot", (ev) => {
    setStatus("live");
    render(JSON.parse(ev.data));
  });
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED) {
      // the server refused the stream (e.g. 503): try again a bit later
      setStatus("lost");
      clearTimeout(retry);
      retry = setTimeout(connect, 5000);
    } else {
      setStatus("lost");
    }
  });
}

loadNames().finally(connect);
