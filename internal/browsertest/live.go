package browsertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
	"github.com/omstil/omstil/server"
)

// runnerLive is server.Live over the environment's queue runner, as the
// composition root provides it over the ARI adapter: agent state changes
// become engine inputs, refusals come back as server.ErrStateRefused.
type runnerLive struct {
	r      *queue.Runner
	notify func()
}

func (l runnerLive) Snapshot(ctx context.Context) (queue.Snapshot, error) { return l.r.Snapshot(ctx) }

func (l runnerLive) Calls(context.Context) ([]server.LiveCall, error) { return nil, nil }

func (l runnerLive) SetAgentState(ctx context.Context, a queue.AgentID, state queue.State, reason string, queues []queue.QueueID) error {
	var refused string
	err := l.r.Do(ctx, func(e *queue.Engine) error {
		now := time.Now()
		handle := func(in queue.Input) bool {
			for _, o := range e.Handle(now, in) {
				if ig, ok := o.(queue.Ignored); ok {
					refused = ig.Reason
					return false
				}
			}
			return true
		}
		loggedIn := false
		for _, as := range e.Snapshot().Agents {
			if as.ID == a {
				loggedIn = as.State != queue.LoggedOut
			}
		}
		switch {
		case state == queue.LoggedOut:
			handle(queue.AgentLogout{Agent: a})
		case state == queue.Paused && !loggedIn:
			handle(queue.AgentLogin{Agent: a, Queues: queues, PauseReason: reason})
		case state == queue.Paused:
			handle(queue.AgentPause{Agent: a, Reason: reason})
		case !loggedIn:
			handle(queue.AgentLogin{Agent: a, Queues: queues})
		default:
			handle(queue.AgentReady{Agent: a})
		}
		return nil
	})
	l.notify()
	if err != nil {
		return err
	}
	if refused != "" {
		return fmt.Errorf("%w: %s", server.ErrStateRefused, refused)
	}
	return nil
}

// LoadRuntime gives the engine the store's queues and agents (engine IDs
// as config.EngineQueueID and config.EngineAgentID make them), as the
// composition root does on start and after every change.
func (e *Env) LoadRuntime(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StepTimeout)
	defer cancel()
	rt, err := e.Store.LoadRuntime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Runner.Do(ctx, func(eng *queue.Engine) error {
		for _, q := range rt.Queues {
			if err := eng.SetQueue(q); err != nil {
				return err
			}
		}
		for _, a := range rt.Agents {
			if err := eng.SetAgent(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("load runtime: %v", err)
	}
	e.Feed.Notify()
}

// AgentID is the engine's ID of a stored agent.
func AgentID(a config.Agent) queue.AgentID { return config.EngineAgentID(a.ID) }
