package arisim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// --- request and response helpers -------------------------------------------

// params reads an ARI parameter from the query string or, as Asterisk does,
// from a JSON object body.
type params struct {
	q    url.Values
	body map[string]any
}

func readParams(r *http.Request) params {
	p := params{q: r.URL.Query()}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return p
	}
	var b []byte
	if n := r.ContentLength; n > 0 && n <= 1<<20 {
		b = make([]byte, n)
		n, _ := io.ReadFull(r.Body, b)
		b = b[:n]
	} else {
		b, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &p.body)
	}
	return p
}

func (p params) get(name string) string {
	if v := p.q.Get(name); v != "" {
		return v
	}
	switch v := p.body[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// all returns a repeatable parameter (media=a&media=b or media=a,b).
func (p params) all(name string) []string {
	var out []string
	for _, v := range p.q[name] {
		out = append(out, strings.Split(v, ",")...)
	}
	if len(out) == 0 {
		if v := p.get(name); v != "" {
			out = strings.Split(v, ",")
		}
	}
	return out
}

// variables reads {"variables": {"NAME": "value" | {"value": "v"}}}.
func (p params) variables() (map[string]string, *ariError) {
	raw, ok := p.body["variables"].(map[string]any)
	if !ok {
		return nil, nil
	}
	out := map[string]string{}
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			out[k] = x
		case map[string]any:
			s, ok := x["value"].(string)
			if !ok {
				return nil, errf(400, "Each object value in 'variables' must include string field 'value'")
			}
			out[k] = s
		default:
			return nil, errf(400, "Each value in 'variables' must be a string or an object with 'value' and optional 'report_events'")
		}
	}
	return out, nil
}

var modelBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	buf := modelBufs.Get().(*[]byte)
	defer modelBufs.Put(buf)
	if b, ok := appendModel((*buf)[:0], v); ok {
		*buf = append(b, '\n')
		_, _ = w.Write(*buf)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

func writeAriError(w http.ResponseWriter, e *ariError) {
	if e.body != nil {
		writeJSON(w, e.code, e.body)
		return
	}
	writeError(w, e.code, e.msg)
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
	writeError(w, http.StatusUnauthorized, "Authentication required")
}

// ariHandler wraps a handler with auth and the simulator lock.
type ariHandler func(w http.ResponseWriter, r *http.Request, p params)

func (s *Sim) locked(h ariHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			unauthorized(w)
			return
		}
		p := readParams(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			writeError(w, http.StatusServiceUnavailable, "Asterisk not booted")
			return
		}
		h(w, r, p)
	}
}

// findControl is find_control in resource_channels.c: 404 when the channel
// does not exist, 409 when it is not in a Stasis application.
func (s *Sim) findControl(w http.ResponseWriter, id string) *channel {
	ch := s.channels[id]
	if ch == nil {
		writeError(w, 404, "Channel not found")
		return nil
	}
	if ch.stasisApp == "" {
		writeError(w, 409, "Channel not in Stasis application")
		return nil
	}
	return ch
}

// stateInvalid is channel_state_invalid: outbound channels that are Down,
// Rsrved or Ringing cannot be answered, played to, etc.
func stateInvalid(w http.ResponseWriter, ch *channel) bool {
	switch ch.state {
	case "Down", "Rsrved", "Ringing":
		writeError(w, 412, "Channel in invalid state")
		return true
	}
	return false
}

// --- routes ------------------------------------------------------------------

// simModules are the modules GET /asterisk/modules lists: those an
// Asterisk serving omstil runs (deploy/asterisk/README.md), as Asterisk
// 22.10.1 names them.
var simModules = []string{
	"app_echo.so", "app_stasis.so", "bridge_holding.so", "bridge_simple.so", "bridge_softmix.so",
	"chan_bridge_media.so", "chan_pjsip.so", "chan_rtp.so", "codec_ulaw.so", "format_wav.so", "pbx_config.so",
	"res_ari.so", "res_ari_applications.so", "res_ari_asterisk.so", "res_ari_bridges.so", "res_ari_channels.so",
	"res_ari_device_states.so", "res_ari_endpoints.so", "res_ari_events.so", "res_ari_model.so", "res_ari_playbacks.so",
	"res_ari_sounds.so", "res_curl.so", "res_http_media_cache.so", "res_http_websocket.so", "res_musiconhold.so",
	"res_rtp_asterisk.so", "res_stasis.so", "res_stasis_answer.so", "res_stasis_device_state.so",
	"res_stasis_playback.so", "res_stasis_snoop.so", "res_timing_timerfd.so",
}

func (s *Sim) routesARI(mux *http.ServeMux) {
	h := func(pattern string, f ariHandler) { mux.HandleFunc(pattern, s.locked(f)) }
	mux.HandleFunc("GET /ari/events", s.handleEvents)
	h("/ari/", func(w http.ResponseWriter, r *http.Request, p params) {
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "/ari/" {
			writeError(w, 404, "ARI URLs do not end with a slash. Try /ari/"+strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/ari/"), "/"))
			return
		}
		writeError(w, 404, "Resource not found")
	})
	h("GET /ari/api-docs/resources.json", s.apiResources)
	h("GET /ari/asterisk/info", s.asteriskInfo)
	h("GET /ari/asterisk/ping", func(w http.ResponseWriter, r *http.Request, p params) {
		writeJSON(w, 200, map[string]string{"asterisk_id": s.opts.AsteriskID, "ping": "pong", "timestamp": asteriskTime(s.now())})
	})
	h("GET /ari/asterisk/modules", func(w http.ResponseWriter, r *http.Request, p params) {
		out := make([]map[string]any, 0, len(simModules))
		for _, m := range simModules {
			out = append(out, map[string]any{"name": m, "description": "", "use_count": 1, "status": "Running", "support_level": "core"})
		}
		writeJSON(w, 200, out)
	})
	h("GET /ari/sounds/{id}", func(w http.ResponseWriter, r *http.Request, p params) {
		id := r.PathValue("id")
		if s.opts.SoundExists != nil && !s.opts.SoundExists(id) {
			writeError(w, 404, "Sound not found")
			return
		}
		writeJSON(w, 200, map[string]any{"id": id, "formats": []map[string]string{{"language": "en", "format": "gsm"}, {"language": "da", "format": "gsm"}}})
	})
	h("POST /ari/events/user/{eventName}", s.userEventHandler)
	h("GET /ari/applications", func(w http.ResponseWriter, r *http.Request, p params) {
		out := []Application{}
		for _, a := range s.sortedApps() {
			app, _ := s.applicationLocked(a)
			out = append(out, app)
		}
		writeJSON(w, 200, out)
	})
	h("GET /ari/applications/{name}", func(w http.ResponseWriter, r *http.Request, p params) {
		a := s.apps[r.PathValue("name")]
		if a == nil || !s.appVisible(a) {
			writeError(w, 404, "Application does not exist.")
			return
		}
		app, _ := s.applicationLocked(a.name)
		writeJSON(w, 200, app)
	})

	h("GET /ari/channels", func(w http.ResponseWriter, r *http.Request, p params) {
		writeJSON(w, 200, s.channelSnapshots())
	})
	h("POST /ari/channels", s.originateHandler)
	h("POST /ari/channels/externalMedia", s.externalMediaHandler)
	h("GET /ari/channels/{id}", func(w http.ResponseWriter, r *http.Request, p params) {
		ch := s.channels[r.PathValue("id")]
		if ch == nil {
			writeError(w, 404, "Channel not found")
			return
		}
		writeJSON(w, 200, ch.snapshot())
	})
	h("POST /ari/channels/{id}", s.originateHandler)
	h("DELETE /ari/channels/{id}", s.hangupHandler)
	h("POST /ari/channels/{id}/answer", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		s.answer(ch)
		noContent(w)
	}))
	h("POST /ari/channels/{id}/ring", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		if ch.ringing == nil {
			ch.ringing = newToneGen("ring")
		}
		s.indicateRinging(ch)
		s.mediaAdd(ch)
		noContent(w)
	}))
	h("DELETE /ari/channels/{id}/ring", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		ch.ringing = nil
		noContent(w)
	}))
	h("POST /ari/channels/{id}/progress", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		noContent(w)
	}))
	h("POST /ari/channels/{id}/moh", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		ch.moh = newToneGen(strconv.Itoa(MOHHz))
		s.mediaAdd(ch)
		noContent(w)
	}))
	h("DELETE /ari/channels/{id}/moh", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		ch.moh = nil
		noContent(w)
	}))
	h("POST /ari/channels/{id}/silence", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		ch.silence = true
		noContent(w)
	}))
	h("DELETE /ari/channels/{id}/silence", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		ch.silence = false
		noContent(w)
	}))
	// hold/unhold indicate towards the device; Asterisk 22.10.1 sent no
	// ChannelHold/ChannelUnhold for them (to any app).
	h("POST /ari/channels/{id}/hold", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		noContent(w)
	}))
	h("DELETE /ari/channels/{id}/hold", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
		noContent(w)
	}))
	for _, m := range []string{"POST", "DELETE"} {
		on := m == "POST"
		h(m+" /ari/channels/{id}/mute", s.controlled(true, func(ch *channel, w http.ResponseWriter, p params) {
			dir := p.get("direction")
			if dir == "" {
				dir = "both"
			}
			switch dir {
			case "both":
				ch.muteIn, ch.muteOut = on, on
			case "in":
				ch.muteIn = on
			case "out":
				ch.muteOut = on
			default:
				writeError(w, 400, "Invalid direction specified")
				return
			}
			noContent(w)
		}))
	}
	h("POST /ari/channels/{id}/dtmf", s.dtmfHandler)
	h("POST /ari/channels/{id}/play", s.playChannelHandler)
	h("POST /ari/channels/{id}/play/{playbackId}", s.playChannelHandler)
	h("POST /ari/channels/{id}/continue", s.continueHandler)
	h("POST /ari/channels/{id}/move", s.moveHandler)
	h("GET /ari/channels/{id}/variable", s.getVarHandler)
	h("POST /ari/channels/{id}/variable", s.setVarHandler)
	for _, pat := range []string{
		"POST /ari/channels/create", "POST /ari/channels/{id}/dial", "POST /ari/channels/{id}/redirect",
		"POST /ari/channels/{id}/record", "POST /ari/channels/{id}/snoop", "POST /ari/channels/{id}/snoop/{snoopId}",
		"GET /ari/channels/{id}/rtp_statistics",
	} {
		h(pat, func(w http.ResponseWriter, r *http.Request, p params) {
			writeError(w, 501, "Not implemented by the omstil ARI simulator")
		})
	}

	h("GET /ari/bridges", func(w http.ResponseWriter, r *http.Request, p params) {
		out := []Bridge{}
		for _, b := range s.sortedBridges() {
			out = append(out, b.snapshot())
		}
		writeJSON(w, 200, out)
	})
	h("POST /ari/bridges", s.createBridgeHandler)
	h("POST /ari/bridges/{bridgeId}", s.createBridgeHandler)
	h("GET /ari/bridges/{bridgeId}", s.withBridge(func(b *bridge, w http.ResponseWriter, p params) {
		writeJSON(w, 200, b.snapshot())
	}))
	h("DELETE /ari/bridges/{bridgeId}", s.withBridge(func(b *bridge, w http.ResponseWriter, p params) {
		s.destroyBridge(b)
		noContent(w)
	}))
	h("POST /ari/bridges/{bridgeId}/addChannel", s.withBridge(s.addChannelHandler))
	h("POST /ari/bridges/{bridgeId}/removeChannel", s.withBridge(s.removeChannelHandler))
	h("POST /ari/bridges/{bridgeId}/moh", s.withBridge(func(b *bridge, w http.ResponseWriter, p params) {
		b.moh = newToneGen(strconv.Itoa(MOHHz))
		s.mediaAddBridge(b)
		noContent(w)
	}))
	h("DELETE /ari/bridges/{bridgeId}/moh", s.withBridge(func(b *bridge, w http.ResponseWriter, p params) {
		if b.moh == nil {
			writeError(w, 409, "Bridge isn't playing music")
			return
		}
		b.moh = nil
		noContent(w)
	}))
	h("POST /ari/bridges/{bridgeId}/play", s.withBridge(func(b *bridge, w http.ResponseWriter, p params) {
		s.playBridgeHandler(b, w, p, "")
	}))
	h("POST /ari/bridges/{bridgeId}/play/{playbackId}", func(w http.ResponseWriter, r *http.Request, p params) {
		s.withBridge(func(b *bridge, w http.ResponseWriter, p params) {
			s.playBridgeHandler(b, w, p, r.PathValue("playbackId"))
		})(w, r, p)
	})

	h("GET /ari/playbacks/{playbackId}", func(w http.ResponseWriter, r *http.Request, p params) {
		pb := s.playbacks[r.PathValue("playbackId")]
		if pb == nil {
			writeError(w, 404, "Playback not found")
			return
		}
		writeJSON(w, 200, pb.snapshot())
	})
	h("DELETE /ari/playbacks/{playbackId}", func(w http.ResponseWriter, r *http.Request, p params) {
		pb := s.playbacks[r.PathValue("playbackId")]
		if pb == nil {
			writeError(w, 404, "Playback not found")
			return
		}
		s.finishPlayback(pb, "done")
		noContent(w)
	})
}

func (s *Sim) sortedApps() []string {
	var names []string
	for n, a := range s.apps {
		if s.appVisible(a) {
			names = append(names, n)
		}
	}
	sortStrings(names)
	return names
}

// controlled wraps a channel operation with find_control and, when
// checkState, channel_state_invalid.
func (s *Sim) controlled(checkState bool, f func(ch *channel, w http.ResponseWriter, p params)) ariHandler {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		ch := s.findControl(w, r.PathValue("id"))
		if ch == nil {
			return
		}
		if checkState && stateInvalid(w, ch) {
			return
		}
		f(ch, w, p)
	}
}

func (s *Sim) withBridge(f func(b *bridge, w http.ResponseWriter, p params)) ariHandler {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		b := s.bridges[r.PathValue("bridgeId")]
		if b == nil {
			writeError(w, 404, "Bridge not found")
			return
		}
		f(b, w, p)
	}
}

// --- asterisk -------------------------------------------------------------------

func (s *Sim) apiResources(w http.ResponseWriter, r *http.Request, p params) {
	apis := []map[string]string{}
	for _, n := range []string{"asterisk", "endpoints", "channels", "bridges", "recordings", "sounds", "playbacks", "deviceStates", "mailboxes", "events", "applications"} {
		apis = append(apis, map[string]string{"path": "/api-docs/" + n + ".{format}", "description": n + " resources"})
	}
	writeJSON(w, 200, map[string]any{
		"_copyright":     "omstil ARI simulator",
		"apiVersion":     "10.0.0",
		"swaggerVersion": "1.1",
		"basePath":       "http://" + r.Host + "/ari",
		"apis":           apis,
	})
}

func (s *Sim) asteriskInfo(w http.ResponseWriter, r *http.Request, p params) {
	all := map[string]any{
		"build": map[string]string{
			"os": "Linux", "kernel": "6.1.0", "options": "", "machine": "x86_64",
			"date": "2026-01-01 00:00:00 UTC", "user": "arisim",
		},
		"system": map[string]string{"version": "22.10.1 (omstil arisim)", "entity_id": s.opts.AsteriskID},
		"config": map[string]any{
			"name": "", "default_language": "en",
			"setid": map[string]string{"user": "asterisk", "group": "asterisk"},
		},
		"status": map[string]string{
			"startup_time": asteriskTime(s.started), "last_reload_time": asteriskTime(s.started),
		},
	}
	if only := p.get("only"); only != "" {
		out := map[string]any{}
		for _, k := range strings.Split(only, ",") {
			if v, ok := all[k]; ok {
				out[k] = v
			}
		}
		all = out
	}
	writeJSON(w, 200, all)
}

// --- channels --------------------------------------------------------------------

func (s *Sim) originateHandler(w http.ResponseWriter, r *http.Request, p params) {
	vars, aerr := p.variables()
	if aerr != nil {
		writeAriError(w, aerr)
		return
	}
	prio, _ := strconv.ParseInt(p.get("priority"), 10, 64)
	req := originateReq{
		endpoint: p.get("endpoint"), app: p.get("app"), appArgs: p.get("appArgs"),
		callerID: p.get("callerId"), context: p.get("context"), extension: p.get("extension"),
		priority: prio, timeout: atoiDefault(p.get("timeout"), 30),
		channelID: p.get("channelId"), otherID: p.get("otherChannelId"), variables: vars,
	}
	if id := r.PathValue("id"); id != "" {
		req.channelID = id
	}
	ch, aerr := s.originate(req)
	if aerr != nil {
		writeAriError(w, aerr)
		return
	}
	writeJSON(w, 200, ch.snapshot())
}

func (s *Sim) hangupHandler(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.channels[r.PathValue("id")]
	if ch == nil {
		writeError(w, 404, "Channel not found")
		return
	}
	reason, code := p.get("reason"), p.get("reason_code")
	cause := causeNormal
	switch {
	case reason != "" && code != "":
		writeError(w, 400, "The reason and reason_code can't both be specified")
		return
	case code != "":
		n, err := strconv.Atoi(code)
		if err != nil {
			writeError(w, 400, "Invalid reason for hangup reason code provided")
			return
		}
		cause = n
	case reason != "":
		n, ok := hangupReasons[reason]
		if !ok {
			writeError(w, 400, "Invalid reason for hangup reason provided")
			return
		}
		cause = n
	}
	noContent(w)
	s.hangup(ch, cause, softHangupReq(softhangupExplicit))
}

func (s *Sim) dtmfHandler(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findControl(w, r.PathValue("id"))
	if ch == nil || stateInvalid(w, ch) {
		return
	}
	digits := p.get("dtmf")
	if digits == "" {
		writeError(w, 400, "DTMF is required")
		return
	}
	before := atoiDefault(p.get("before"), 0)
	between := atoiDefault(p.get("between"), 100)
	duration := atoiDefault(p.get("duration"), 100)
	noContent(w)
	// DTMF sent on a channel reaches its far end; for a Local half that is
	// the other half, which reports ChannelDtmfReceived.
	if ch.peer != nil {
		s.sendDTMF(ch.peer, digits, before, between, duration)
	}
}

// sendDTMF makes ChannelDtmfReceived events on ch, one per digit, at the
// time each digit ends.
func (s *Sim) sendDTMF(ch *channel, digits string, beforeMS, betweenMS, durationMS int) {
	at := msDur(beforeMS)
	for _, d := range digits {
		digit := string(d)
		if !strings.ContainsRune("0123456789*#ABCDabcd", d) {
			at += msDur(betweenMS) // 'w'/'W' and unknown characters pause
			continue
		}
		at += msDur(durationMS)
		ch.addTimer(s.after(at, func() {
			if ch.gone {
				return
			}
			s.emitChannel(ch, simEvent{typ: "ChannelDtmfReceived", strs: [3]kv{{"digit", strings.ToUpper(digit)}}, durationMS: durationMS, hasDur: true, channel: ch})
		}))
		at += msDur(betweenMS)
	}
}

func (s *Sim) playChannelHandler(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findControl(w, r.PathValue("id"))
	if ch == nil || stateInvalid(w, ch) {
		return
	}
	medias := p.all("media")
	if len(medias) == 0 {
		writeError(w, 400, "media is required")
		return
	}
	if n := atoiDefault(p.get("skipms"), 0); n < 0 {
		writeError(w, 400, "skipms cannot be negative")
		return
	}
	if n := atoiDefault(p.get("offsetms"), 0); n < 0 {
		writeError(w, 400, "offsetms cannot be negative")
		return
	}
	id := r.PathValue("playbackId")
	if id == "" {
		id = p.get("playbackId")
	}
	pb := s.newPlayback(id, medias, p.get("lang"))
	pb.ch = ch
	pb.target = "channel:" + ch.id
	snap := pb.snapshot()
	w.Header().Set("Location", "/playbacks/"+pb.id)
	writeJSON(w, 201, snap)
	s.startPlayback(pb)
}

func (s *Sim) playBridgeHandler(b *bridge, w http.ResponseWriter, p params, pathID string) {
	medias := p.all("media")
	if len(medias) == 0 {
		writeError(w, 400, "media is required")
		return
	}
	id := pathID
	if id == "" {
		id = p.get("playbackId")
	}
	if id == "" {
		id = p.q.Get("playbackId")
	}
	pb := s.newPlayback(id, medias, p.get("lang"))
	pb.br = b
	pb.target = "bridge:" + b.id
	w.Header().Set("Location", "/playbacks/"+pb.id)
	writeJSON(w, 201, pb.snapshot())
	s.startPlayback(pb)
}

func (s *Sim) continueHandler(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findControl(w, r.PathValue("id"))
	if ch == nil || stateInvalid(w, ch) {
		return
	}
	context, exten := p.get("context"), p.get("extension")
	prio, _ := strconv.ParseInt(p.get("priority"), 10, 64)
	if context == "" {
		context = ch.dp.Context
	}
	if exten == "" {
		exten = ch.dp.Exten
	}
	if prio <= 0 {
		if p.get("context") == "" && p.get("extension") == "" {
			prio = ch.dp.Priority + 1
		} else {
			prio = 1
		}
	}
	noContent(w)
	s.leaveStasis(ch)
	s.runDialplan(ch, context, exten, prio)
}

func (s *Sim) moveHandler(w http.ResponseWriter, r *http.Request, p params) {
	ch := s.findControl(w, r.PathValue("id"))
	if ch == nil {
		return
	}
	to := p.get("app")
	if to == "" {
		writeError(w, 400, "app is required")
		return
	}
	args := splitArgs(p.get("appArgs"))
	noContent(w)
	if !s.appActive(to) {
		s.deliver(ch.stasisApp, simEvent{typ: "ApplicationMoveFailed", channel: ch, strs: [3]kv{{"destination", to}}, args: args, hasArgs: true})
		return
	}
	s.leaveStasis(ch)
	s.enterStasis(ch, to, args)
}

func (s *Sim) getVarHandler(w http.ResponseWriter, r *http.Request, p params) {
	s.stats.VarReads++
	name := p.get("variable")
	if name == "" {
		writeError(w, 400, "Variable name is required")
		return
	}
	ch := s.channels[r.PathValue("id")]
	if ch == nil {
		writeError(w, 404, "Provided channel was not found")
		return
	}
	v, ok := s.readVar(ch, name)
	if !ok {
		writeError(w, 404, "Provided variable was not found")
		return
	}
	writeJSON(w, 200, map[string]string{"value": v})
}

// readVar knows a few dialplan functions besides plain variables.
func (s *Sim) readVar(ch *channel, name string) (string, bool) {
	switch name {
	case "CALLERID(num)":
		return ch.caller.Number, true
	case "CALLERID(name)":
		return ch.caller.Name, true
	case "CHANNEL(name)":
		return ch.name, true
	case "CHANNEL(uniqueid)", "UNIQUEID":
		return ch.id, true
	case "EXTEN":
		return ch.dp.Exten, true
	case "CONTEXT":
		return ch.dp.Context, true
	}
	v, ok := ch.vars[name]
	return v, ok
}

func (s *Sim) setVarHandler(w http.ResponseWriter, r *http.Request, p params) {
	name := p.get("variable")
	if name == "" {
		writeError(w, 400, "Variable name is required")
		return
	}
	ch := s.findControl(w, r.PathValue("id"))
	if ch == nil {
		return
	}
	s.setVar(ch, name, p.get("value"), true)
	noContent(w)
}

// externalMediaHandler creates a UnicastRTP channel that sends the audio
// written to it as RTP to external_host and plays RTP it receives.
func (s *Sim) externalMediaHandler(w http.ResponseWriter, r *http.Request, p params) {
	app := p.get("app")
	if app == "" {
		writeError(w, 400, "app cannot be empty")
		return
	}
	enc := orDefault(p.get("encapsulation"), "rtp")
	transport := orDefault(p.get("transport"), "udp")
	if enc == "rtp" && transport != "udp" {
		writeError(w, 400, "transport must be 'udp' for rtp encapsulation")
		return
	}
	host := p.get("external_host")
	if host == "" {
		writeError(w, 400, "external_host is required for all but websocket server connections")
		return
	}
	remote, err := net.ResolveUDPAddr("udp", host)
	if err != nil || !strings.Contains(host, ":") {
		writeError(w, 400, "external_host must be <host>:<port> for all transports other than websocket")
		return
	}
	format := p.get("format")
	if format == "" {
		writeError(w, 400, "format cannot be empty")
		return
	}
	if dir := p.get("direction"); dir != "" && dir != "both" {
		writeError(w, 400, "Invalid direction specified")
		return
	}
	if enc != "rtp" {
		writeError(w, 501, "The encapsulation and/or transport is not supported")
		return
	}
	if format != "ulaw" {
		// Asterisk knows more formats; the simulator carries PCMU only.
		writeError(w, 400, fmt.Sprintf("Provided format (%s) was not found", format))
		return
	}
	vars, aerr := p.variables()
	if aerr != nil {
		writeAriError(w, aerr)
		return
	}
	id := p.get("channelId")
	if id != "" && s.channels[id] != nil {
		writeError(w, 409, "Channel with given unique ID already exists")
		return
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(s.opts.RTPHost)})
	if err != nil {
		writeAriError(w, errAllocFailed)
		return
	}
	local := conn.LocalAddr().(*net.UDPAddr)
	seq := s.nameSeq + 1
	ch := s.newChannel(kindExternal, fmt.Sprintf("UnicastRTP/%s-0x7f%010x", host, seq), id)
	ch.ext = &externalMedia{conn: conn, remote: remote, ssrc: 0x5e000000 | uint32(seq), seq: uint16(seq * 7919)}
	for k, v := range vars {
		ch.vars[k] = v
	}
	ch.vars["UNICASTRTP_LOCAL_ADDRESS"] = local.IP.String()
	ch.vars["UNICASTRTP_LOCAL_PORT"] = strconv.Itoa(local.Port)
	ch.dial = &dialState{app: app, appArgs: splitArgs(p.get("data")), dialstr: host + "/c(" + format + ")"}
	ch.dp.AppName, ch.dp.AppData = "AppDial2", "(Outgoing Line)"
	s.subscribe(ch.subs, app)
	snap := ch.snapshot()
	snap.Channelvars = map[string]string{}
	for k, v := range ch.vars {
		snap.Channelvars[k] = v
	}
	s.wg.Add(1)
	go s.readRTP(ch, ch.ext)
	ch.addTimer(s.after(0, func() {
		if ch.gone {
			return
		}
		s.emitChannel(ch, dialEvent("", ch))
		s.remoteAnswered(ch)
	}))
	s.mediaAdd(ch)
	writeJSON(w, 200, snap)
}

// --- bridges ----------------------------------------------------------------------

func (s *Sim) createBridgeHandler(w http.ResponseWriter, r *http.Request, p params) {
	id := r.PathValue("bridgeId")
	if id == "" {
		id = p.get("bridgeId")
	}
	b, aerr := s.createBridge(p.get("type"), id, p.get("name"))
	if aerr != nil {
		writeAriError(w, aerr)
		return
	}
	writeJSON(w, 200, b.snapshot())
}

// bridgeChannels resolves the channel parameter of addChannel and
// removeChannel with Asterisk's checks and texts; inBridge also requires
// each channel to be in b. It writes the error and returns nil on failure.
func (s *Sim) bridgeChannels(b *bridge, w http.ResponseWriter, p params, inBridge bool) []*channel {
	ids := p.all("channel")
	if len(ids) == 0 {
		writeError(w, 400, "Missing parameter channel")
		return nil
	}
	var chans []*channel
	for _, id := range ids {
		ch := s.channels[id]
		switch {
		case ch == nil:
			writeError(w, 400, "Channel not found")
			return nil
		case ch.stasisApp == "":
			writeError(w, 422, "Channel not in Stasis application")
			return nil
		case inBridge && ch.bridge != b:
			writeError(w, 422, "Channel not in this bridge")
			return nil
		}
		chans = append(chans, ch)
	}
	return chans
}

func (s *Sim) addChannelHandler(b *bridge, w http.ResponseWriter, p params) {
	chans := s.bridgeChannels(b, w, p, false)
	if chans == nil {
		return
	}
	noContent(w)
	for _, ch := range chans {
		s.addToBridge(b, ch)
	}
}

func (s *Sim) removeChannelHandler(b *bridge, w http.ResponseWriter, p params) {
	chans := s.bridgeChannels(b, w, p, true)
	if chans == nil {
		return
	}
	noContent(w)
	for _, ch := range chans {
		s.removeFromBridge(b, ch)
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
