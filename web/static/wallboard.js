// The wallboard: one server-sent event stream (GET /api/v1/live) pushes
// a snapshot after every change; the page only counts the seconds in
// between. Supervisors (not a kiosk TV) can change an agent's state and
// queue memberships through the API from here (wallboard-control.js).
import { api, el, t, fmtDuration, pauseReason } from "./app.js";
import { openControl, controlSnapshot } from "./wallboard-control.js";

const board = document.getElementById("board");
const agentsBox = document.getElementById("agents");
const status = document.getElementById("live-status");
const showAll = document.getElementById("show-loggedout");
const kiosk = !!document.body.dataset.kiosk;
const names = { queues: new Map(), agents: new Map() };
const STATES = ["ready", "ringing", "on_call", "wrap_up", "paused"];
let last = null;

function setStatus(state) {
  status.dataset.state = state;
  status.textContent = t("wallboard." + state);
}

// loadNames fetches display names when the configuration API offers them;
// the live feed itself carries only IDs.
async function loadNames() {
  if (kiosk) return;
  for (const [kind, path] of [["queues", "/api/v1/queues"], ["agents", "/api/v1/agents"]]) {
    const r = await api("GET", path);
    if (!r.ok || !Array.isArray(r.data)) continue;
    for (const x of r.data) {
      if (kind === "queues") names.queues.set(x.name, x.display_name || x.name);
      else names.agents.set(x.engine_id, x.name);
    }
  }
}

// nameOf: the engine names a queue "<organisation>/<name>"; the
// configuration API lists it by name.
function nameOf(kind, id) {
  const m = names[kind];
  if (m.has(id)) return m.get(id);
  if (kind === "queues" && id.includes("/")) return m.get(id.slice(id.indexOf("/") + 1)) || id;
  return id;
}

function stateBadge(state, reason) {
  const text = t("state." + state) + (reason ? ` (${pauseReason(reason)})` : "");
  return el("span", { class: `state state-${state}`, "data-state": state }, text);
}

// ticking values: the snapshot's value plus the time since it arrived.
function ticking(ms, received) {
  return el("span", { "data-tick": ms, "data-received": received }, fmtDuration(ms));
}

// the engine's agent ID is the agent's database ID in decimal; agents
// the configuration does not know cannot be controlled from here.
const controllable = (id) => !kiosk && /^[1-9][0-9]*$/.test(id) && names.agents.has(id);

function render(snap) {
  last = snap;
  const received = Date.now();
  const skew = received - Date.parse(snap.at);
  // keep the keyboard focus on the same control across the re-render
  const focused = document.activeElement?.dataset?.control;
  board.replaceChildren();
  if (snap.queues.length === 0) board.append(el("p", { id: "no-queues" }, t("wallboard.noQueues")));
  for (const q of snap.queues) {
    const fig = (key, value, attr) => [el("dt", {}, t("wallboard." + key)), el("dd", { "data-figure": attr || key }, value)];
    const counts = STATES.filter((s) => q.agents[s] > 0).map((s) =>
      el("li", {}, stateBadge(s), " ", el("span", { "data-count": s }, String(q.agents[s]))));
    const hid = "q-" + q.id.replace(/[^A-Za-z0-9_-]/g, "_");
    board.append(el("section", { class: "card queue-card", "data-queue": q.id, "aria-labelledby": hid },
      el("h2", { id: hid }, nameOf("queues", q.id)),
      el("dl", { class: "figures" },
        fig("waiting", String(q.waiting)),
        fig("longest", q.waiting > 0 ? ticking(q.longest_wait_ms, received) : fmtDuration(0)),
        fig("answered", String(q.answered_today)),
        fig("abandoned", String(q.abandoned_today)),
        fig("serviceLevel", Math.round(q.service_level_today * 100) + " %"),
        fig("callbacks", String(q.callbacks))),
      el("ul", { class: "states", "aria-label": t("wallboard.agents") }, counts)));
  }
  controlSnapshot(snap);
  const agents = snap.agents.filter((a) => a.state !== "logged_out" || (showAll && showAll.checked));
  if (agents.length === 0) {
    agentsBox.replaceChildren(el("p", {}, t("wallboard.noAgents")));
    return;
  }
  const controls = !kiosk && agents.some((a) => controllable(a.id));
  const heads = ["agent", "state", "since", "queues", "callsToday"].concat(controls ? ["actions"] : []);
  agentsBox.replaceChildren(el("table", { id: "agent-table" },
    el("thead", {}, el("tr", {}, heads.map((k) => el("th", { scope: "col" }, t("wallboard." + k))))),
    el("tbody", {}, agents.map((a) => el("tr", { "data-agent": a.id },
      el("th", { scope: "row" }, nameOf("agents", a.id)),
      el("td", {}, stateBadge(a.state, a.reason), a.queue ? ` – ${nameOf("queues", a.queue)}` : ""),
      el("td", {}, a.state === "logged_out" ? "" : ticking(Math.max(0, received - skew - Date.parse(a.since)), received)),
      el("td", {}, a.queues.map((q) => nameOf("queues", q)).join(", ")),
      el("td", {}, String(a.calls_today)),
      controls ? el("td", {}, controllable(a.id) ? el("button", {
        type: "button", class: "secondary", "data-control": a.id,
        "aria-label": `${t("control.open")}: ${nameOf("agents", a.id)}`,
        onclick: () => openControl(a.id, nameOf("agents", a.id)),
      }, t("control.open")) : "") : null)))));
  if (focused) agentsBox.querySelector(`[data-control="${CSS.escape(focused)}"]`)?.focus();
}

setInterval(() => {
  const now = Date.now();
  for (const e of document.querySelectorAll("[data-tick]")) {
    e.textContent = fmtDuration(Number(e.dataset.tick) + now - Number(e.dataset.received));
  }
}, 1000);

if (showAll) showAll.addEventListener("change", () => { if (last) render(last); });

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
