package ari

import (
	"time"

	"github.com/omstil/omstil/queue"
)

// PageClosedReason is the pause reason of a browser agent whose page has
// been gone for Options.PageGone.
const PageClosedReason = "page closed"

func (a *Adapter) pageOnline(agent queue.AgentID, online bool) {
	if online {
		delete(a.pageGone, agent)
		return
	}
	if a.opt.PageGone < 0 || a.cfg.devices[agent].Kind != DeviceWebRTC {
		return
	}
	if _, gone := a.pageGone[agent]; gone {
		return
	}
	at := a.now().Add(a.opt.PageGone)
	a.pageGone[agent] = at
	a.addTimer(deadline{at: at, agent: agent})
}

// pageDeadline: a page-gone timer fired.
func (a *Adapter) pageDeadline(d deadline) {
	if at, ok := a.pageGone[d.agent]; !ok || !at.Equal(d.at) {
		return // the page came back (and maybe went again)
	}
	a.pausePageGone(d.agent)
}

// pausePageGone pauses a ready agent whose page has been gone too long.
func (a *Adapter) pausePageGone(agent queue.AgentID) {
	at, ok := a.pageGone[agent]
	if !ok || a.now().Before(at) || a.agentState[agent] != queue.Ready {
		return
	}
	a.log.Info("ari: browser agent's page is gone; pausing", "agent", agent, "after", a.opt.PageGone)
	a.handle(queue.AgentPause{Agent: agent, Reason: PageClosedReason})
}

// pageGoneOpt is the default of Options.PageGone.
const pageGoneOpt = 60 * time.Second
