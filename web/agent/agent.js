// The agent softphone page: one signalling WebSocket to omstil (JSON
// messages, docs/softphone.md), one RTCPeerConnection for the whole shift,
// call control by buttons. No framework, no build step.
import { strings, languages, pick, remember } from "./i18n.js";
import { Ringer } from "./ring.js";

const $ = (id) => document.getElementById(id);

// ---- texts ---------------------------------------------------------------

let lang = pick();

function t(key, args) {
  let s = (strings[lang] && strings[lang][key]) || strings.da[key] || key;
  if (args) for (const [k, v] of Object.entries(args)) s = s.replaceAll("{" + k + "}", String(v));
  return s;
}

// has reports whether a text exists for key.
function has(key) { return !!(strings.da[key] || (strings[lang] && strings[lang][key])); }

function applyTexts() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const l of languages) {
    const b = $("lang-" + l);
    b.setAttribute("aria-current", l === lang ? "true" : "false");
  }
}

function duration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const m = Math.floor(sec / 60), s = sec % 60;
  return m + ":" + String(s).padStart(2, "0");
}

function spoken(sec) {
  sec = Math.max(0, Math.floor(sec));
  return sec < 60 ? t("seconds", { n: sec }) : t("minutes", { m: Math.floor(sec / 60), s: sec % 60 });
}

// ---- state ---------------------------------------------------------------

const st = {
  setup: null,          // GET /agent/setup
  agentState: "logged_out",
  reason: "",
  call: null,           // {id, queue, caller, waited, phase, hold, muted, attended, start, from, consult}
                        // from: the colleague who consults us (an attended transfer to us)
                        // consult: {state, with} of our own consultation
  wrapUntil: 0,         // ms since epoch; 0: no wrap-up
  conn: "connecting",   // connecting | ok | lost | stopped
  retryAt: 0,
  media: "waiting",     // waiting | connecting | ok | lost
  mic: "waiting",       // waiting | ok | lost
};

const ringer = new Ringer();
const store = window.sessionStorage;

function saveCall() {
  const c = st.call;
  if (c) store.setItem("omstil.call", JSON.stringify(c));
  else store.removeItem("omstil.call");
}

function loadCall(id) {
  try {
    const c = JSON.parse(store.getItem("omstil.call") || "null");
    return c && c.id === id ? c : null;
  } catch { return null; }
}

// ---- rendering -----------------------------------------------------------

function setStatus(el, ok, icon, text) {
  el.dataset.ok = ok;
  el.querySelector(".icon").textContent = icon;
  el.querySelector(".text").textContent = text;
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = !text;
}

function render() {
  const now = Date.now();
  // Connection indicators: icon and words, never colour alone.
  const conn = { connecting: ["…", "unknown", t("conn.connecting")], ok: ["✔", "yes", t("conn.ok")],
    lost: ["✖", "no", t("conn.lost", { s: Math.max(0, Math.ceil((st.retryAt - now) / 1000)) })],
    stopped: ["✖", "no", t("conn.stopped")] }[st.conn];
  setStatus($("conn-status"), conn[1], conn[0], conn[2]);
  const media = { waiting: ["…", "unknown", t("media.waiting")], connecting: ["…", "unknown", t("media.connecting")],
    ok: ["✔", "yes", t("media.ok")], lost: ["✖", "no", t("media.lost")] }[st.media];
  setStatus($("media-status"), media[1], media[0], media[2]);
  const mic = { waiting: ["…", "unknown", t("mic.waiting")], ok: ["✔", "yes", t("mic.ok")], lost: ["✖", "no", t("mic.lost")] }[st.mic];
  setStatus($("mic-status"), mic[1], mic[0], mic[2]);
  $("btn-mic-retry").hidden = st.mic !== "lost";

  const c = st.call;
  let shown = st.agentState;
  if (c) shown = c.phase === "ringing" ? "ringing" : "busy";
  else if (st.wrapUntil) shown = "wrap_up";
  const stEl = $("state-text");
  stEl.dataset.state = shown;
  const icon = { ready: "●", paused: "⏸", logged_out: "○", wrap_up: "✎", busy: "🗣", ringing: "☎" }[shown] || "•";
  let label = t("state.is." + shown);
  if (shown === "paused" && st.reason) label += " – " + reasonLabel(st.reason);
  stEl.textContent = icon + " " + label;

  const ringing = !!c && c.phase === "ringing";
  const incall = !!c && c.phase === "connected";
  $("incoming").hidden = !ringing;
  $("incall").hidden = !incall;
  $("wrapup").hidden = !st.wrapUntil || !!c;
  if (ringing) {
    $("incoming-kind").textContent = c.from ? t("ring.consult") : t("ring.title");
    $("incoming-from").hidden = !c.from;
    if (c.from) $("incoming-from").textContent = t("ring.from", { name: c.from });
    $("incoming-queue").textContent = c.queueName || c.queue || "–";
    $("incoming-caller").textContent = c.caller || t("call.hidden");
    $("incoming-waited-label").hidden = $("incoming-waited").hidden = !!c.from;
    $("incoming-waited").textContent = spoken(c.waited + (now - c.seen) / 1000);
  }
  if (incall) {
    $("call-queue").textContent = c.queueName || c.queue || "–";
    $("call-caller").textContent = c.caller || t("call.hidden");
    $("call-timer").textContent = duration((now - c.start) / 1000);
    const mute = $("btn-mute"), hold = $("btn-hold");
    mute.setAttribute("aria-pressed", c.muted ? "true" : "false");
    mute.textContent = c.muted ? t("call.unmute") : t("call.mute");
    hold.setAttribute("aria-pressed", c.hold ? "true" : "false");
    hold.textContent = c.hold ? t("call.unhold") : t("call.hold");
    const flags = [];
    if (c.muted) flags.push("🔇 " + t("call.muted"));
    if (c.hold) flags.push("⏸ " + t("call.onhold"));
    $("call-flags").textContent = flags.join(" · ");
    // consulted by a colleague: talk or hang up; the call is not ours yet.
    const consulted = !!c.from;
    $("call-consult").hidden = !consulted;
    if (consulted) $("call-consult").textContent = t("consult.talking.from", { name: c.from });
    hold.hidden = consulted;
    $("keypad-box").hidden = consulted;
    $("attended").hidden = !c.attended || consulted;
    $("transfer-form").hidden = !!c.attended || consulted;
    if (c.attended) {
      const cs = c.consult || {};
      $("attended-text").textContent = cs.state === "ringing" ? t("consult.ringing", { name: cs.with || "" })
        : cs.state === "up" ? t("consult.up", { name: cs.with || "" }) : t("transfer.talking");
      $("btn-transfer-complete").disabled = cs.state === "ringing";
    }
  }
  if (st.wrapUntil) $("wrapup-left").textContent = duration((st.wrapUntil - now) / 1000);
  const busy = !!c;
  for (const id of ["btn-ready", "btn-pause", "btn-logout", "pause-reason"]) $(id).disabled = busy;
  document.title = (ringing ? "☎ " + t("ring.title") + " – " : "") + t("title");
}

// reasonLabel: the organisation's label of a reason, or the text of one
// of omstil's own (unreachable, page closed, autopause).
function reasonLabel(id) {
  const r = st.setup && st.setup.pauseReasons.find((p) => p.id === id);
  if (r) return r.label;
  const key = "pause." + id.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return has(key) ? t(key) : id;
}

// syncTransferKind shows the colleague list for a transfer to a colleague
// and the free field (with the queues as suggestions) otherwise.
function syncTransferKind() {
  const kind = $("transfer-kind").value, agent = kind === "agent";
  $("transfer-agent").hidden = $("transfer-agent-label").hidden = !agent;
  $("transfer-to").hidden = $("transfer-to-label").hidden = agent;
  if (kind === "queue") $("transfer-to").setAttribute("list", "transfer-queues");
  else $("transfer-to").removeAttribute("list");
  if (agent) loadColleagues();
}

// loadColleagues fills the colleague list: name and state now, ready ones
// first (the server's order); those logged out cannot be chosen.
async function loadColleagues() {
  const sel = $("transfer-agent");
  try {
    const r = await fetch("/agent/colleagues", { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(t("transfer.nocolleagues") + " (" + r.status + ")");
    const list = await r.json();
    const keep = sel.value;
    sel.replaceChildren();
    for (const c of list) {
      const o = new Option(c.name + " – " + t("colleague." + c.state), c.id);
      o.disabled = c.state === "logged_out";
      sel.append(o);
    }
    if (!list.length) {
      const o = new Option(t("transfer.nocolleagues"), "");
      o.disabled = true;
      sel.append(o);
    }
    const ready = list.find((c) => c.state === "ready");
    if (keep && list.some((c) => c.id === keep)) sel.value = keep;
    else sel.value = ready ? ready.id : "";
  } catch (e) { showError(e); }
}

function renderSetup() {
  const s = st.setup;
  $("agent-name").textContent = s.name;
  const sel = $("pause-reason");
  sel.replaceChildren();
  const none = new Option(t("state.noreason"), "");
  sel.append(none);
  for (const r of s.pauseReasons) sel.append(new Option(r.label, r.id));
  const list = $("queues-list");
  list.replaceChildren();
  const dl = $("transfer-queues");
  dl.replaceChildren();
  for (const q of s.queues) {
    const id = "queue-" + q.id;
    const wrap = document.createElement("div");
    wrap.className = "check";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = id;
    box.name = "queue";
    box.value = q.id;
    box.checked = q.selected;
    const lab = document.createElement("label");
    lab.htmlFor = id;
    lab.textContent = q.name;
    wrap.append(box, lab);
    list.append(wrap);
    const o = document.createElement("option");
    o.value = q.id;
    o.label = q.name;
    dl.append(o);
  }
  $("queues-none").hidden = s.queues.length > 0;
  $("queues-save").hidden = s.queues.length === 0;
}

// ---- signalling ----------------------------------------------------------

let ws = null;
let seq = 0;
const pending = new Map(); // id → {resolve, reject, timer}
let chain = Promise.resolve(); // incoming messages are handled in order
let backoff = 1000;
let pingTimer = 0;

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

// request sends msg and resolves with the reply that carries its ID (ack,
// answer, offer, pong) or rejects with the error.
function request(msg) {
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      reject({ code: "offline", message: t("conn.stopped") });
      return;
    }
    const id = "r" + (++seq);
    const timer = setTimeout(() => {
      pending.delete(id);
      reject({ code: "timeout", message: "timeout" });
    }, 15000);
    pending.set(id, { resolve, reject, timer });
    send({ ...msg, id });
  });
}

function failPending(reason) {
  for (const [id, p] of pending) {
    clearTimeout(p.timer);
    p.reject({ code: "offline", message: reason });
    pending.delete(id);
  }
}

function showError(e) {
  if (!e) return;
  if (e.code === "refused" && e.reason && has("refused." + e.reason)) notice(t("refused." + e.reason));
  else if (e.code === "not-your-call") notice(t("error.not-your-call"));
  else if (e.code === "failed") notice(t("error.failed"));
  else if (e.code === "unavailable") notice(t("error.unavailable"));
  else notice(t("error.generic", { message: e.message || e.code }));
}

function connect() {
  if (st.conn === "stopped") return;
  st.conn = "connecting";
  render();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const sock = new WebSocket(proto + "//" + location.host + "/agent/ws");
  ws = sock;
  sock.onopen = () => {
    if (ws !== sock) return;
    backoff = 1000;
    st.conn = "ok";
    notice("");
    render();
    send({ type: "hello", id: "hello" });
    clearInterval(pingTimer);
    pingTimer = setInterval(keepalive, 15000);
  };
  sock.onmessage = (ev) => {
    if (ws !== sock) return;
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    // Replies settle their request at once (startMedia waits for its
    // answer inside the chain); everything else is handled in order.
    if (m.id && pending.has(m.id)) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.type === "error") p.reject(m);
      else p.resolve(m);
      if (m.type !== "offer") return;
    }
    // An error that answers no request ends or disturbs the connection
    // (another tab, logout, shutdown): act at once, not behind a
    // negotiation that may never finish.
    if (m.type === "error") { onMessage(m).catch((err) => console.error("omstil:", err)); return; }
    chain = chain.then(() => onMessage(m)).catch((err) => console.error("omstil:", err));
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    clearInterval(pingTimer);
    failPending(t("conn.stopped"));
    closeMedia();
    if (st.conn === "stopped") { render(); return; }
    st.conn = "lost";
    st.retryAt = Date.now() + backoff;
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
    render();
  };
}

function keepalive() {
  const sock = ws;
  request({ type: "ping" }).catch(() => { if (ws === sock && sock) sock.close(); });
}

function stop(section, text) {
  st.conn = "stopped";
  if (ws) { const s = ws; ws = null; s.close(); }
  clearInterval(pingTimer);
  failPending(t("conn.stopped"));
  closeMedia();
  ringer.stop();
  if (section) { $("console").hidden = true; $(section).hidden = false; }
  if (text) notice(text);
  render();
}

async function onMessage(m) {
  switch (m.type) {
    case "welcome":
      await startMedia(m.iceServers || []);
      if (m.call && st.call && st.call.id === m.call) st.call.muted = !!m.muted;
      else if (m.call) adoptCall(m.call, "connected", { muted: !!m.muted });
      else if (st.call && (st.call.phase === "ringing" || st.call.from)) {
        // nothing rings or is attached any more (omstil restarted, or it
        // ended while the page was away); a ring still going on is
        // replayed right after this message and restores it.
        st.call = null;
        ringer.stop();
      }
      break;
    case "state":
      st.agentState = m.state;
      st.reason = m.reason || "";
      if (m.state === "wrap_up") startWrapUp();
      else { st.wrapUntil = 0; store.removeItem("omstil.wrapUntil"); }
      break;
    case "ring": {
      const known = loadCall(m.call);
      st.call = known || { id: m.call, queue: m.queue || "", caller: m.caller || "", waited: m.waited || 0,
        seen: Date.now(), phase: "ringing", hold: false, muted: false, attended: false, start: 0, from: m.from || "" };
      st.call.phase = "ringing";
      st.call.queueName = queueName(st.call.queue);
      saveCall();
      ringer.start();
      render();
      $("btn-answer").focus();
      break;
    }
    case "connected":
      adoptCall(m.call, "connected");
      break;
    case "hold":
      if (st.call && st.call.id === m.call) { st.call.hold = !!m.on; saveCall(); }
      break;
    case "consult":
      if (st.call && st.call.id === m.call) onConsult(m);
      break;
    case "ended":
      if (st.call && st.call.id === m.call) endCall(m.reason);
      break;
    case "media":
      st.media = m.state === "connected" ? "ok" : (m.state === "failed" || m.state === "disconnected") ? "lost" : "connecting";
      break;
    case "offer":
      await onServerOffer(m);
      break;
    case "candidate":
      if (pc && m.candidate) await pc.addIceCandidate(m.candidate).catch((e) => console.warn("candidate", e));
      break;
    case "error":
      switch (m.code) {
        case "replaced": stop("replaced-section"); $("btn-takeover").focus(); break;
        case "logged-out": stop(null, t("loggedout.text")); break;
        case "shutdown": notice(t("shutdown.text")); break;
        case "slow": notice(t("error.slow")); break;
        default: showError(m);
      }
      break;
  }
  render();
}

function queueName(id) {
  const q = st.setup && st.setup.queues.find((x) => x.id === id);
  return q ? q.name : id;
}

function adoptCall(id, phase, extra) {
  let c = st.call && st.call.id === id ? st.call : loadCall(id);
  if (!c) c = { id, queue: "", caller: "", waited: 0, seen: Date.now(), hold: false, muted: false, attended: false, start: 0 };
  Object.assign(c, extra || {});
  if (phase === "connected" && c.phase !== "connected") {
    c.phase = "connected";
    if (!c.start) c.start = Date.now();
    ringer.stop();
    st.call = c;
    saveCall();
    render();
    $("btn-hangup").focus();
    return;
  }
  c.phase = phase;
  st.call = c;
  saveCall();
}

// onConsult follows an attended transfer: our own consultation of a
// colleague, or, when we are the colleague, the hand-over of the call.
function onConsult(m) {
  const c = st.call;
  switch (m.state) {
    case "ringing":
    case "up":
      c.attended = true;
      c.consult = { state: m.state, with: m.with || "" };
      break;
    case "ended":
      c.attended = false;
      c.consult = { state: "ended" };
      notice(t("consult.ended." + (m.reason || "cancelled"), { name: m.with || "" }));
      $("btn-hangup").focus();
      break;
    case "taken-over":
      // the call is ours now: timer from here, hold and transfer work.
      c.from = "";
      c.start = Date.now();
      notice(t("consult.takenover", { name: m.with || "" }));
      break;
  }
  saveCall();
}

function endCall(reason) {
  const wasConnected = st.call && st.call.phase === "connected";
  const consulted = st.call && st.call.from;
  st.call = null;
  saveCall();
  ringer.stop();
  if (micTrack) micTrack.enabled = true;
  if (consulted) {
    // a colleague's consultation ended: no call of ours, no wrap-up.
    if (wasConnected) notice(t("consult.over", { name: consulted }));
  } else if (wasConnected) {
    notice(t("call.ended"));
    if (st.setup && st.setup.wrapUpSeconds > 0) startWrapUp();
  }
  render();
  (st.wrapUntil ? $("btn-wrapup-ready") : $("btn-ready")).focus();
}

// ---- wrap-up -------------------------------------------------------------

function startWrapUp() {
  if (st.wrapUntil) return;
  const secs = (st.setup && st.setup.wrapUpSeconds) || 0;
  st.wrapUntil = Date.now() + secs * 1000;
  store.setItem("omstil.wrapUntil", String(st.wrapUntil));
}

// micTick notices a microphone that stopped (unplugged, revoked); the
// track's ended event does not fire in every case.
function micTick() {
  if (micTrack && micTrack.readyState === "ended" && st.mic !== "lost") st.mic = "lost";
}

function wrapUpTick() {
  if (!st.wrapUntil || st.call || Date.now() < st.wrapUntil) return;
  st.wrapUntil = 0;
  store.removeItem("omstil.wrapUntil");
  if (st.setup && st.setup.autoReady) goReady();
}

async function goReady() {
  st.wrapUntil = 0;
  store.removeItem("omstil.wrapUntil");
  try {
    await request({ type: "ready" });
    st.agentState = "ready";
    st.reason = "";
  } catch (e) { showError(e); }
  render();
}

// ---- media ---------------------------------------------------------------

let pc = null;
let micStream = null;
let micTrack = null;
let sender = null;

async function ensureMic() {
  if (micTrack && micTrack.readyState === "live") return micTrack;
  try {
    micStream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    micTrack = micStream.getAudioTracks()[0];
    micTrack.onended = () => { st.mic = "lost"; render(); };
    micTrack.onmute = () => { st.mic = "lost"; render(); };
    micTrack.onunmute = () => { st.mic = "ok"; render(); };
    st.mic = "ok";
    if (st.call && st.call.muted) micTrack.enabled = false;
    if (sender) await sender.replaceTrack(micTrack);
  } catch (e) {
    console.warn("omstil: microphone", e);
    micTrack = null;
    st.mic = "lost";
  }
  render();
  return micTrack;
}

async function startMedia(iceServers) {
  closeMedia();
  await ensureMic();
  st.media = "connecting";
  const conn = new RTCPeerConnection({ iceServers });
  pc = conn;
  const tr = conn.addTransceiver(micTrack || "audio", { direction: "sendrecv", streams: micStream ? [micStream] : [] });
  sender = tr.sender;
  // omstil relays G.711 µ-law only: offer just that.
  if (tr.setCodecPreferences && window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities) {
    const caps = RTCRtpReceiver.getCapabilities("audio");
    const pcmu = caps ? caps.codecs.filter((c) => c.mimeType.toLowerCase() === "audio/pcmu") : [];
    if (pcmu.length) { try { tr.setCodecPreferences(pcmu); } catch (e) { console.warn(e); } }
  }
  conn.ontrack = (ev) => {
    const audio = $("remote-audio");
    audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
    audio.play().catch(() => {});
  };
  conn.onicecandidate = (ev) => {
    if (pc !== conn) return;
    send(ev.candidate ? { type: "candidate", candidate: ev.candidate.toJSON() } : { type: "candidate" });
  };
  conn.onconnectionstatechange = () => {
    if (pc !== conn) return;
    const s = conn.connectionState;
    st.media = s === "connected" ? "ok" : (s === "failed" || s === "disconnected") ? "lost" : "connecting";
    if (s === "failed") request({ type: "ice-restart" }).catch((e) => console.warn("ice-restart", e));
    render();
  };
  const offer = await conn.createOffer();
  await conn.setLocalDescription(offer);
  try {
    const answer = await request({ type: "offer", sdp: conn.localDescription.sdp });
    if (pc === conn) await conn.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  } catch (e) {
    st.media = "lost";
    showError(e);
  }
}

async function onServerOffer(m) {
  if (!pc) return;
  await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  request({ type: "answer", sdp: pc.localDescription.sdp }).catch(showError);
}

function closeMedia() {
  if (pc) { const p = pc; pc = null; sender = null; p.close(); }
  st.media = "waiting";
}

// audioStats sums the page's WebRTC audio counters; shown in the
// diagnostics panel and read by the browser tests.
async function audioStats() {
  const out = { packetsReceived: 0, audioLevel: 0, totalAudioEnergy: 0, packetsSent: 0, connection: pc ? pc.connectionState : "none" };
  if (!pc) return out;
  const rep = await pc.getStats();
  rep.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.packetsReceived += r.packetsReceived || 0;
      out.audioLevel = Math.max(out.audioLevel, r.audioLevel || 0);
      out.totalAudioEnergy += r.totalAudioEnergy || 0;
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") out.packetsSent += r.packetsSent || 0;
  });
  return out;
}
window.omstilAgent = { audioStats, ringing: () => ringer.ringing, microphone: () => micTrack };

async function diagTick() {
  const d = $("diag-text");
  if (!d.closest("details").open) return;
  const s = await audioStats();
  d.textContent = t("diag.text", { in: s.packetsReceived, level: s.audioLevel.toFixed(3), out: s.packetsSent });
}

// ---- controls ------------------------------------------------------------

function callReq(msg) {
  if (!st.call) return Promise.reject({ code: "no-call", message: "no call" });
  return request({ ...msg, call: st.call.id });
}

function on(id, fn) {
  $(id).addEventListener("click", (ev) => { ringer.unlock(); fn(ev); });
}

function wire() {
  for (const l of languages) {
    $("lang-" + l).addEventListener("click", () => {
      lang = l;
      remember(l);
      applyTexts();
      if (st.setup) renderSetup();
      render();
    });
  }
  $("login-form").addEventListener("submit", login);
  on("btn-takeover", () => {
    $("replaced-section").hidden = true;
    $("console").hidden = false;
    notice("");
    st.conn = "connecting";
    connect();
  });
  on("btn-mic-retry", async () => {
    await ensureMic();
    $("main").focus(); // the retry button is gone now
  });
  on("btn-ready", goReady);
  on("btn-wrapup-ready", goReady);
  on("btn-pause", async () => {
    const reason = $("pause-reason").value;
    try {
      await request({ type: "pause", reason });
      st.agentState = "paused";
      st.reason = reason;
      st.wrapUntil = 0;
    } catch (e) { showError(e); }
    render();
  });
  on("btn-logout", async () => {
    try {
      await request({ type: "logout" });
      st.agentState = "logged_out";
      st.wrapUntil = 0;
    } catch (e) { showError(e); }
    render();
  });
  $("queues-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const queues = [...document.querySelectorAll("#queues-list input:checked")].map((b) => b.value);
    const r = await fetch("/agent/queues", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ queues }) });
    if (r.ok) notice(t("queues.saved"));
    else notice(t("error.generic", { message: await errorText(r) }));
  });
  on("btn-answer", async () => {
    try {
      await callReq({ type: "answer" });
      if (st.call) adoptCall(st.call.id, "connected");
    } catch (e) {
      showError(e);
      if (e && e.code === "not-your-call") {
        // someone else has it, or it ended: stop ringing for it
        st.call = null;
        saveCall();
        ringer.stop();
      }
    }
    render();
  });
  on("btn-decline", async () => {
    try {
      await callReq({ type: "decline" });
      st.call = null;
      saveCall();
      ringer.stop();
    } catch (e) { showError(e); }
    render();
    $("btn-ready").focus();
  });
  on("btn-hangup", async () => {
    try {
      await callReq({ type: "hangup" });
      if (st.call) endCall("agent-hangup");
    } catch (e) { showError(e); }
    render();
  });
  on("btn-mute", async () => {
    const want = !st.call.muted;
    try {
      await callReq({ type: "mute", on: want });
      if (st.call) { st.call.muted = want; saveCall(); }
      if (micTrack) micTrack.enabled = !want;
    } catch (e) { showError(e); }
    render();
  });
  on("btn-hold", async () => {
    const want = !st.call.hold;
    try {
      await callReq({ type: "hold", on: want });
      if (st.call) { st.call.hold = want; saveCall(); }
    } catch (e) { showError(e); }
    render();
  });
  const transfer = async (mode) => {
    const field = $("transfer-kind").value === "agent" ? $("transfer-agent") : $("transfer-to");
    const to = field.value.trim();
    if (!to && (mode === "blind" || mode === "attended")) {
      notice(t("transfer.missing"));
      field.focus();
      return;
    }
    const tr = mode === "complete" || mode === "cancel" ? { mode } : { kind: $("transfer-kind").value, to, mode };
    try {
      await callReq({ type: "transfer", transfer: tr });
      if (!st.call) return;
      if (mode === "attended") {
        // the consult messages drive the card; one that ended already
        // (the colleague could not be rung) may come before this ack.
        if (!st.call.consult || st.call.consult.state !== "ended") st.call.attended = true;
        saveCall(); render(); $(st.call.attended ? "btn-transfer-cancel" : "btn-hangup").focus();
      }
      else if (mode === "cancel") { st.call.attended = false; saveCall(); render(); $("btn-hangup").focus(); }
      else endCall("transferred");
    } catch (e) { showError(e); }
    render();
  };
  $("transfer-kind").addEventListener("change", syncTransferKind);
  $("transfer-agent").addEventListener("focus", loadColleagues);
  $("transfer-form").addEventListener("submit", (ev) => { ev.preventDefault(); ringer.unlock(); transfer("blind"); });
  on("btn-transfer-attended", () => transfer("attended"));
  on("btn-transfer-complete", () => transfer("complete"));
  on("btn-transfer-cancel", () => transfer("cancel"));
  for (const b of document.querySelectorAll("#keypad button")) {
    on(b.id || (b.id = "dtmf-" + ({ "*": "star", "#": "hash" }[b.dataset.digit] || b.dataset.digit)), () => {
      callReq({ type: "dtmf", digits: b.dataset.digit }).catch(showError);
    });
  }
  document.addEventListener("keydown", () => ringer.unlock(), { once: true });
  navigator.mediaDevices && navigator.mediaDevices.addEventListener("devicechange", () => {
    if (!micTrack || micTrack.readyState !== "live") ensureMic();
  });
}

async function errorText(r) {
  try { const b = await r.json(); return b.error.message || b.error.code; } catch { return String(r.status); }
}

// ---- start ---------------------------------------------------------------

async function login(ev) {
  ev.preventDefault();
  ringer.unlock();
  const err = $("login-error");
  err.hidden = true;
  const body = JSON.stringify({ username: $("login-username").value, password: $("login-password").value });
  const r = await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  if (!r.ok) {
    let code = String(r.status);
    try { code = (await r.json()).error.code; } catch { /* keep the status */ }
    err.textContent = code === "bad_credentials" ? t("login.failed") : t("login.error", { code });
    err.hidden = false;
    $("login-username").focus();
    return;
  }
  $("login-password").value = "";
  start();
}

async function start() {
  const r = await fetch("/agent/setup", { headers: { Accept: "application/json" } });
  if (r.status === 401) {
    $("login-section").hidden = false;
    $("console").hidden = true;
    st.conn = "stopped";
    render();
    $("login-username").focus();
    return;
  }
  if (!r.ok) {
    let code = "";
    try { code = (await r.json()).error.code; } catch { /* none */ }
    st.conn = "stopped";
    notice(code === "not_an_agent" ? t("notagent.text") : t("error.generic", { message: code || r.status }));
    render();
    return;
  }
  st.setup = await r.json();
  $("login-section").hidden = true;
  $("console").hidden = false;
  renderSetup();
  const w = Number(store.getItem("omstil.wrapUntil") || 0);
  if (w > Date.now()) st.wrapUntil = w;
  if (!st.setup.available) {
    st.conn = "stopped";
    notice(t("unavailable.text"));
    render();
    return;
  }
  st.conn = "connecting";
  render();
  $("main").focus();
  connect();
}

applyTexts();
wire();
setInterval(() => { wrapUpTick(); micTick(); render(); diagTick(); }, 1000);
start();
