package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// Live is the running call handling as the API needs it. The ARI adapter's
// wiring implements it over the queue engine's Runner.
type Live interface {
	// Snapshot is the engine's state now.
	Snapshot(ctx context.Context) (queue.Snapshot, error)
	// Calls lists the calls in progress, in any organisation.
	Calls(ctx context.Context) ([]LiveCall, error)
	// SetAgentState logs an agent in and makes it ready (queue.Ready),
	// pauses it with a reason (queue.Paused) or logs it out
	// (queue.LoggedOut). queues (engine IDs) limit the queues logged in to;
	// nil: every queue the agent is a member of. An error wrapping
	// ErrStateRefused is shown to the user with its text.
	SetAgentState(ctx context.Context, agent queue.AgentID, state queue.State, reason string, queues []queue.QueueID) error
}

// ErrStateRefused is wrapped by Live.SetAgentState when the change is not
// possible now (e.g. the engine does not know the agent yet).
var ErrStateRefused = errors.New("agent state change refused")

// LiveCall is one call in progress.
type LiveCall struct {
	Org      config.OrgID
	Call     queue.CallID
	Number   string // the number dialled
	Caller   string // the citizen's number: personal data, never logged
	Step     callflow.StepID
	Queue    queue.QueueID // "" when not (yet) in a queue
	Position int           // in the queue; 0 when not waiting
	Waited   time.Duration // since the call arrived
	Agent    queue.AgentID // ringing or talking; "" when none
}

func errLiveDown() error {
	return &apiError{http.StatusServiceUnavailable, "not_running", "call handling not running", ""}
}

func (s *Server) failLive(c *gin.Context, err error) {
	if errors.Is(err, ErrStateRefused) {
		s.fail(c, &apiError{http.StatusConflict, "refused", err.Error(), ""})
		return
	}
	if errors.Is(err, queue.ErrStopped) {
		s.fail(c, errLiveDown())
		return
	}
	s.fail(c, err)
}

// liveSnapshot returns the engine's state or fails the request.
func (s *Server) liveSnapshot(c *gin.Context) (queue.Snapshot, bool) {
	if s.opts.Live == nil {
		s.fail(c, errLiveDown())
		return queue.Snapshot{}, false
	}
	snap, err := s.opts.Live.Snapshot(c.Request.Context())
	if err != nil {
		s.failLive(c, err)
		return queue.Snapshot{}, false
	}
	return snap, true
}

type liveCallResponse struct {
	Call          queue.CallID    `json:"call"`
	Number        string          `json:"number"`
	Caller        string          `json:"caller"` // masked (last two digits); POST /calls/{call}/caller shows it, audited
	Step          callflow.StepID `json:"step"`
	Queue         queue.QueueID   `json:"queue,omitempty"`
	Position      int             `json:"position,omitempty"`
	WaitedSeconds float64         `json:"waited_seconds"`
	Agent         queue.AgentID   `json:"agent,omitempty"`
}

// listCalls shows the organisation's calls in progress with the
// citizens' numbers masked, for every role: a supervisor who needs one in
// clear asks for it (revealCaller), and that look-up is audited.
func (s *Server) listCalls(c *gin.Context) {
	if s.opts.Live == nil {
		s.fail(c, errLiveDown())
		return
	}
	calls, err := s.opts.Live.Calls(c.Request.Context())
	if err != nil {
		s.failLive(c, err)
		return
	}
	me, _ := currentUser(c)
	out := []liveCallResponse{}
	for _, lc := range calls {
		if lc.Org != me.OrgID {
			continue
		}
		out = append(out, liveCallResponse{lc.Call, lc.Number, callflow.MaskNumber(lc.Caller), lc.Step, lc.Queue, lc.Position, lc.Waited.Seconds(), lc.Agent})
	}
	c.JSON(http.StatusOK, out)
}

type pauseReasonsBody struct {
	Reasons []string `json:"reasons"`
}

func (s *Server) getPauseReasons(c *gin.Context) {
	readOrg(s, c, CallConfig.PauseReasons, newPauseReasonsBody)
}

func (s *Server) putPauseReasons(c *gin.Context) {
	write(s, c, http.StatusOK, func(cc CallConfig, ctx context.Context, a config.Actor, req pauseReasonsBody) ([]string, error) {
		return cc.SetPauseReasons(ctx, a, req.Reasons)
	}, newPauseReasonsBody)
}

func newPauseReasonsBody(rs []string) pauseReasonsBody { return pauseReasonsBody{rs} }
