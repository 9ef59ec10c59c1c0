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
func deviceOf(kind chanKind, name string) string {
	if kind != kindPJSIP {
		return ""
	}
	i := strings.LastIndex(name, "-")
	if i <= 0 {
		return ""
	}
	return name[:i]
}

// devUse counts a device's live channels that are Up and that ring.
type devUse struct{ up, ringing int }

// countDevice adds (sign 1) or removes (sign -1) ch's state to its
// device's counts. Every change of a live channel's state, and its end,
// goes through it (setChanState, endChannel), so deviceState needs no scan
// of all channels (trunk calls share one device).
func (s *Sim) countDevice(ch *channel, sign int) {
	if ch.device == "" {
		return
	}
	u := s.devUse[ch.device]
	switch ch.state {
	case "Up":
		u.up += sign
	case "Ringing", "Ring":
		u.ringing += sign
	default:
		return
	}
	if u == (devUse{}) {
		delete(s.devUse, ch.device)
		return
	}
	if s.devUse == nil {
		s.devUse = map[string]devUse{}
	}
	s.devUse[ch.device] = u
}

// setChanState sets ch's state, keeping the device counts.
func (s *Sim) setChanState(ch *channel, state string) {
	if !ch.gone {
		s.countDevice(ch, -1)
	}
	ch.state = state
	if !ch.gone {
		s.countDevice(ch, 1)
	}
}

// deviceState is a device's state from its live channels: any Up →
// INUSE, else any ringing → RINGING, else NOT_INUSE.
func (s *Sim) deviceState(device string) string {
	u := s.devUse[device]
	switch {
	case u.up > 0:
		return "INUSE"
	case u.ringing > 0:
		return "RINGING"
	}
	return "NOT_INUSE"
}

// deviceChanged sends DeviceStateChanged for ch's device to the apps
// subscribed to it when the device's state differs from the last one sent.
func (s *Sim) deviceChanged(ch *channel) {
	dev := ch.device
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
