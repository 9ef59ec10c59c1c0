package arisim

import (
	"net/http"
	"strings"
)

// userEventHandler serves POST /ari/events/user/{eventName}?application=
// &source=…: a ChannelUserevent to the app's socket, as
// stasis_app_user_event does. The userevent object is the body's
// "variables" with "eventname" added; each source's snapshot rides along
// under its kind. An app Asterisk still knows but that has no socket gets
// nothing and the request still answers 204 (Asterisk logs "Inactive
// Stasis app … missed message"): a client can tell a lost app only by the
// event not arriving.
func (s *Sim) userEventHandler(w http.ResponseWriter, r *http.Request, p params) {
	name := r.PathValue("eventName")
	appName := p.get("application")
	if appName == "" {
		writeError(w, 400, "HTTP request is missing param: [application]")
		return
	}
	a := s.apps[appName]
	if a == nil || !s.appVisible(a) {
		writeError(w, 404, "Application not found")
		return
	}
	ev := Event{"type": "ChannelUserevent", "eventname": name}
	for _, uri := range p.all("source") {
		switch {
		case strings.HasPrefix(uri, "channel:"):
			ch := s.channels[strings.TrimPrefix(uri, "channel:")]
			if ch == nil {
				writeError(w, 422, "Event source was not found")
				return
			}
			ev["channel"] = ch.snapshot()
		case strings.HasPrefix(uri, "bridge:"):
			b := s.bridges[strings.TrimPrefix(uri, "bridge:")]
			if b == nil {
				writeError(w, 422, "Event source was not found")
				return
			}
			ev["bridge"] = b.snapshot()
		case strings.HasPrefix(uri, "endpoint:"):
			// The simulator keeps no endpoint snapshots.
			writeError(w, 422, "Event source was not found")
			return
		default:
			writeError(w, 400, "Invalid event source URI scheme")
			return
		}
	}
	user := map[string]any{}
	if v, ok := p.body["variables"]; ok {
		obj, ok := v.(map[string]any)
		if !ok {
			writeError(w, 400, "Invalid userevent data")
			return
		}
		for k, x := range obj {
			user[k] = x
		}
	}
	user["eventname"] = name
	ev["userevent"] = user
	s.deliverEvent(appName, ev)
	w.WriteHeader(http.StatusNoContent)
}
