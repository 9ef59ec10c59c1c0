package ari

import (
	"time"

	"github.com/omstil/omstil/queue"
)

// PageClosedReason is the pause reason of a browser agent whose page has
// been gone for Options.PageGone.
const PageClosedReason = "page closed"

// PageOnline tells the adapter whether a browser agent's page is connected
// (softphone.CallControl.PageOnline). When the page of a webrtc agent has
// been gone for Options.PageGone and the agent is ready, the agent is
// paused with reason PageClosedReason so no call rings into an empty room;
// a call in progress is not touched (the pause comes when the agent would
// be ready again). A page that comes back in time changes nothing; an agent
// paused this way stays paused until it chooses ready. Safe from any
// goroutine; it does not wait for the loop's answer.
func (a *Adapter) PageOnline(agent queue.AgentID, online bool) {
	a.runMu.Lock()
	running := a.run
	a.runMu.Unlock()
	if !running {
		return
	}
	a.post(func() { a.pageOnline(agent, online) })
}

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
