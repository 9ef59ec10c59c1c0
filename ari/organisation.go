package ari

import "github.com/omstil/omstil/queue"

// Organisations. One adapter serves every municipality of an
// installation; each call belongs to the organisation of the number it
// came in on (call.org). Whatever a layer above passes (a page's transfer
// target, a supervisor's login queues, a flow's queue), the adapter
// itself keeps a call, and an agent's login, inside that organisation: a
// queue or agent of another one is answered exactly as one that does not
// exist, so a refusal tells nothing about the other municipality.

// queueIn reports whether q is a configured queue of org.
func (a *Adapter) queueIn(q queue.QueueID, org string) bool {
	o, known := a.cfg.queueOrg[q]
	_, ok := a.cfg.queues[q]
	return ok && known && o == org
}

// agentIn reports whether ag is a configured agent of org.
func (a *Adapter) agentIn(ag queue.AgentID, org string) bool {
	o, known := a.cfg.agentOrg[ag]
	return a.cfg.agents[ag] && known && o == org
}

// otherOrgQueue reports whether q is a queue of an organisation other
// than org.
func (a *Adapter) otherOrgQueue(q queue.QueueID, org string) bool {
	o, known := a.cfg.queueOrg[q]
	return known && o != org
}

// crossOrg logs a refused attempt to reach another organisation's queue
// or agent: a security event for the installation's operators (IDs only,
// no citizen's number).
func (a *Adapter) crossOrg(what string, c *call, target string) {
	a.log.Warn("ari: target outside the call's organisation refused", "what", what, "call", c.id, "org", c.org, "target", target)
}
