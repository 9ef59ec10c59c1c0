// Package queue is omstil's call-queue engine (ACD): it decides which
// waiting citizen goes to which agent, and when.
//
// The engine is a deterministic state machine. It imports the standard
// library only, does no I/O, starts no goroutines, takes no locks and never
// sleeps; time is whatever the caller passes in. One goroutine owns it:
// in omstil that is the ARI adapter's loop (ari.Adapter.Run), which also
// owns every call's state, feeds the engine inputs and carries out the
// commands it returns. Runner is such a goroutine for a program that
// drives the engine alone (the browser tests' environment, tools).
//
//	e := queue.New(queue.Options{PauseReasons: []string{"frokost", "møde"}})
//	e.SetQueue(queue.QueueConfig{ID: "borgerservice", Strategy: queue.StrategyLongestIdle})
//	e.SetAgent(queue.AgentConfig{ID: "anna", Queues: []queue.Membership{{Queue: "borgerservice"}}})
//	out := e.Handle(now, queue.AgentLogin{Agent: "anna"})
//	out = e.Handle(now, queue.CallArrived{Call: "1700000000.1", Queue: "borgerservice"})
//	// out holds Offer{Call: "1700000000.1", Agent: "anna", ...}: ring her.
//	next, ok := e.NextDeadline() // arm one timer; call e.Advance(next) when it fires
//
// # Inputs and outputs
//
// Inputs (the Input interface, a closed set): CallArrived, CallHungUp,
// CallPriorityChanged, CallbackRequested, CallEnded, CallbackResult,
// OfferAnswered, OfferFailed, AgentLogin, AgentLogout, AgentReady,
// AgentPause, AgentDeviceBusy, AgentDeviceFree, AdoptConnected.
//
// Outputs are commands (the Command interface: Offer, CancelOffer, Connect,
// Announce, Overflow, DialCallback, Reject) and events for the call-event
// log (CallJoined, Offered, OfferEnded, Answered, CallCompleted, Abandoned,
// CallLost, Overflowed, PriorityChanged, CallbackQueued, CallbackAttempted,
// CallbackConnected, CallbackFailed, AgentStateChanged, Ignored). Each has
// the time it happened. Every call that joins ends in exactly one of
// Answered, Abandoned, CallLost (Asterisk lost it: CallHungUp with Lost),
// Overflowed, CallbackConnected or CallbackFailed with Final set.
//
// Inputs that do not apply (a stale OfferAnswered after the caller hung up,
// an unknown agent) produce an Ignored event, never a panic or an error:
// races between Asterisk and the engine are normal.
//
// # Time
//
// Handle(now, in) first runs every deadline up to now, each at its own time,
// then applies in. Advance(now) runs deadlines only. NextDeadline says when
// Advance is next needed; configuration changes (SetQueue, SetAgent, ...)
// make it "now" because their effects (withdrawn offers, new offers) are
// produced by the next step.
//
// # Rules
//
// Calls wait per queue in order of priority (higher first), then JoinedAt,
// then arrival. A call is offered to the free agents that may take it: logged
// in to the queue, Ready, not in the retry delay after a missed offer (nor
// in the back-off after an offer that could not reach its device), device
// not busy (unless RingInUse), tier allowed by the escalation reached, and
// skills matched (relaxed by escalation). The queue's Strategy ranks them,
// lower tiers first, and the engine offers to as many as MaxParallelOffers
// allows (ringall: every agent of the lowest tier). Across queues, the call
// with the higher priority, then the higher wait × queue weight, is served
// first. An agent is offered at most one call at a time and never while on a
// call. See docs/queue-engine.md for the whole rule book.
package queue
