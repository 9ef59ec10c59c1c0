package telephony

import (
	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// RuntimeConfig converts the store's runtime view into the adapter's.
func RuntimeConfig(rt config.Runtime, media string) ari.RuntimeConfig {
	rc := ari.RuntimeConfig{
		Numbers:       map[string]ari.NumberConfig{},
		Schedules:     map[string]callflow.ScheduleLookup{},
		Queues:        rt.Queues,
		QueueMedia:    map[queue.QueueID]ari.QueueMedia{},
		Agents:        rt.Agents,
		Devices:       map[queue.AgentID]ari.Device{},
		Announcements: map[callflow.AnnouncementRef][]string{},
		AgentNames:    map[queue.AgentID]string{},
		QueueOrgs:     map[queue.QueueID]string{},
		AgentOrgs:     map[queue.AgentID]string{},
		OrgDialing:    map[string]ari.OrgDialing{},
	}
	for org, d := range rt.Dialing {
		rc.OrgDialing[config.EngineOrgID(org)] = ari.OrgDialing{Policy: d.Policy, CallerID: d.CallerID}
	}
	for num, n := range rt.Numbers {
		org := config.EngineOrgID(n.OrgID)
		rc.Numbers[num] = ari.NumberConfig{Flow: n.Flow, Org: org}
		rc.Schedules[org] = rt.Schedules
	}
	for id, q := range rt.QueueInfo {
		m := ari.QueueMedia{Name: q.DisplayName}
		switch q.Music {
		case "ringing":
			m.Ringing = true
		default:
			m.MOHClass = q.Music
		}
		rc.QueueMedia[id] = m
		rc.QueueOrgs[id] = config.EngineOrgID(q.OrgID)
	}
	for id, a := range rt.AgentInfo {
		d := ari.Device{Kind: ari.DeviceWebRTC}
		if a.DeviceKind == config.DeviceEndpoint {
			d = ari.Device{Kind: ari.DeviceEndpoint, Dial: a.DialString}
		}
		rc.Devices[id] = d
		rc.AgentOrgs[id] = config.EngineOrgID(a.OrgID)
		if a.Name != "" {
			rc.AgentNames[id] = a.Name
		}
	}
	for ref, a := range rt.Announcements {
		rc.Announcements[ref] = []string{"sound:" + media + "/media/announcements/" + a.MediaName}
	}
	seen := map[string]bool{}
	for _, rs := range rt.PauseReasons {
		for _, r := range rs {
			if !seen[r] {
				seen[r] = true
				rc.PauseReasons = append(rc.PauseReasons, r)
			}
		}
	}
	return rc
}
