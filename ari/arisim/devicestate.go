package arisim

import (
	"net/http"
	"sort"
	"strings"
)

// Device state subscriptions (POST/DELETE /applications/{app}/subscription
// with eventSource=deviceState:<device>), as res_stasis_device_state does:
// an app subscribed to a device gets DeviceStateChanged whenever the
// device's aggregate state changes. The simulator derives a PJSIP device's
// state from its live channels the way chan_pjsip's device state does:
// any channel Up (or on hold) → INUSE, else any Ringing → RINGING, else
// NOT_INUSE.
//
// Assumption not verified against a real Asterisk: subscribing to a device
// that no channel ever used is accepted (its state is NOT_INUSE or UNKNOWN
// there), and the subscription answers 200 with the Application model.

func (s *Sim) routesSubscriptions(mux *http.ServeMux) {
	h := func(pattern string, f ariHandler) { mux.HandleFunc(pattern, s.locked(f)) }
	h("POST /ari/applications/{name}/subscription", func(w http.ResponseWriter, r *http.Request, p params) {
		s.subscription(w, r, p, true)
	})
	h("DELETE /ari/applications/{name}/subscription", func(w http.ResponseWriter, r *http.Request, p params) {
		s.subscription(w, r, p, false)
	})
}

func (s *Sim) subscription(w http.ResponseWriter, r *http.Request, p params, on bool) {
	a := s.apps[r.PathValue("name")]
	if a == nil || !s.appVisible(a) {
		writeError(w, 404, "Application does not exist.")
		return
	}
	sources := p.all("eventSource")
	if len(sources) == 0 {
		writeError(w, 400, "Missing parameter eventSource")
		return
	}
	var devices []string
	for _, src := range sources {
		for _, one := range strings.Split(src, ",") {
			kind, id, ok := strings.Cut(one, ":")
			switch {
			case !ok || id == "":
				writeError(w, 400, "Invalid event source URI scheme '"+one+"'")
				return
			case kind == "deviceState":
				devices = append(devices, id)
			case kind == "channel" || kind == "bridge" || kind == "endpoint":
				writeError(w, 501, "Event source "+kind+" subscriptions are not simulated")
				return
			default:
				writeError(w, 400, "Invalid event source URI scheme '"+kind+"'")
				return
			}
		}
	}
	if a.devices == nil {
		a.devices = map[string]bool{}
	}
	for _, d := range devices {
		if on {
			a.devices[d] = true
		} else {
			delete(a.devices, d)
		}
	}
	app, _ := s.applicationLocked(a.name)
	writeJSON(w, 200, app)
}

// deviceNames lists an app's device subscriptions for the Application model.
func (a *app) deviceNames() []string {
	out := make([]string, 0, len(a.devices))
	for d := range a.devices {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// deviceOf is the device of a PJSIP channel: "PJSIP/demo-anna-0000001a" →
// "PJSIP/demo-anna".
func deviceOf(ch *channel) string {
	if ch.kind != kindPJSIP {
		return ""
	}
	i := strings.LastIndex(ch.name, "-")
	if i <= 0 {
		return ""
	}
	return ch.name[:i]
}

// deviceState computes a device's state from its live channels.
func (s *Sim) deviceState(device string) string {
	state := "NOT_INUSE"
	for _, ch := range s.channels {
		if ch.gone || deviceOf(ch) != device {
			continue
		}
		switch ch.state {
		case "Up":
			return "INUSE"
		case "Ringing", "Ring":
			state = "RINGING"
		}
	}
	return state
}

// deviceChanged sends DeviceStateChanged for ch's device to the apps
// subscribed to it when the device's state differs from the last one sent.
func (s *Sim) deviceChanged(ch *channel) {
	dev := deviceOf(ch)
	if dev == "" {
		return
	}
	state := s.deviceState(dev)
	if s.devStates == nil {
		s.devStates = map[string]string{}
	}
	if s.devStates[dev] == state {
		return
	}
	s.devStates[dev] = state
	ev := simEvent{typ: "DeviceStateChanged", device: kv{dev, state}}
	var body []byte // one encoding (and timestamp) for every app
	for _, a := range s.apps {
		if (a.devices[dev] || a.subscribeAll) && a.conn != nil {
			if body == nil {
				body = s.encode(&ev)
			}
			s.sendBody(a, body)
		}
	}
}
