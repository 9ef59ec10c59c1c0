package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/softphone"
	"github.com/omstil/omstil/web"
)

// AgentOptions wire the agent softphone page (/agent) to the media bridge
// and to whoever knows the agents' queues and pause reasons.
type AgentOptions struct {
	// Manager runs the signalling of each agent page. Nil: the page is
	// served but its WebSocket answers 503.
	Manager *softphone.Manager
	// Directory knows which agent a user is, the agent's queues and the
	// configured pause reasons. Nil: the agent ID is the username, there
	// are no queues to choose and no pause reasons.
	Directory AgentDirectory
}

// AgentDirectory is what the agent page needs of the configuration and the
// call engine. It is implemented by the wiring in cmd/omstil.
type AgentDirectory interface {
	// AgentFor returns the softphone agent of a logged-in user, or an
	// error wrapping config.ErrNotFound when the user is not an agent.
	AgentFor(ctx context.Context, u config.User) (softphone.AgentID, error)
	// AgentSetup returns what the page offers the agent.
	AgentSetup(ctx context.Context, agent softphone.AgentID) (AgentSetup, error)
	// SetAgentQueues logs the agent in to exactly these queues (IDs from
	// AgentSetup.Queues). A *config.ValidationError is shown to the agent.
	SetAgentQueues(ctx context.Context, agent softphone.AgentID, queues []string) error
	// Colleagues lists the other agents of the agent's organisation that
	// a call can be handed to, with their state now.
	Colleagues(ctx context.Context, agent softphone.AgentID) ([]Colleague, error)
}

// Colleague is another agent the page offers as a transfer target.
type Colleague struct {
	ID, Name string
	// State: "ready", "paused", "logged_out" (queue.State's text form) or
	// ColleagueBusy.
	State string
}

// ColleagueBusy is a colleague's state when omstil would not ring them
// now: ringing, on a call, in wrap-up, consulted or on another phone call.
// It is the agent page's own summary, not an engine state.
const ColleagueBusy = "busy"

// AgentSetup is what the agent page shows besides calls: the queues the
// agent may log in to, the pause reasons and the wrap-up time.
type AgentSetup struct {
	Queues       []AgentQueue
	PauseReasons []PauseReason
	// WrapUpSeconds is the wrap-up countdown after a call; 0 means none.
	WrapUpSeconds int
	// AutoReady: after the wrap-up the page asks for Ready by itself.
	AutoReady bool
}

// AgentQueue is one queue the agent may log in to.
type AgentQueue struct {
	ID, Name string
	Selected bool // the agent is logged in to it now
}

// PauseReason is one configured reason for a pause.
type PauseReason struct {
	ID, Label string
}

// agentSetupJSON is the page's view of AgentSetup (GET /agent/setup).
type agentSetupJSON struct {
	Agent         string            `json:"agent"`
	Name          string            `json:"name"`
	Available     bool              `json:"available"` // the softphone bridge is wired
	Queues        []agentQueueJSON  `json:"queues"`
	PauseReasons  []pauseReasonJSON `json:"pauseReasons"`
	WrapUpSeconds int               `json:"wrapUpSeconds"`
	AutoReady     bool              `json:"autoReady"`
}

type agentQueueJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Selected bool   `json:"selected"`
}

type pauseReasonJSON struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

type colleagueJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

type agentQueuesRequest struct {
	Queues []string `json:"queues"`
}

// agentPage is the agent softphone page (/agent): its index and its
// assets, embedded at build time. The page and its setup endpoints and
// signalling WebSocket live under /agent, outside the JSON API: they
// serve only this page.
type agentPage struct {
	index  []byte
	assets fs.FS
}

func newAgentPage() (agentPage, error) {
	assets, err := fs.Sub(web.AgentFS, "agent")
	if err != nil {
		return agentPage{}, fmt.Errorf("server: agent page: %w", err)
	}
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		return agentPage{}, fmt.Errorf("server: agent page: %w", err)
	}
	return agentPage{index: index, assets: assets}, nil
}

// agentIndex serves the agent page. The page is the same for everyone;
// its script asks /agent/setup who is logged in and shows a login form
// when nobody is.
func (s *Server) agentIndex(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/html; charset=utf-8", s.agentPage.index)
}

func (s *Server) agentOptions() AgentOptions {
	if s.opts.Softphone == nil {
		return AgentOptions{}
	}
	return *s.opts.Softphone
}

// agentID maps the request's user to the softphone agent.
func (s *Server) agentID(c *gin.Context) (softphone.AgentID, error) {
	u, _ := currentUser(c)
	dir := s.agentOptions().Directory
	if dir == nil {
		// Until agents are mapped to users, the username is the agent.
		return softphone.AgentID(u.Username), nil
	}
	id, err := dir.AgentFor(c.Request.Context(), u)
	if errors.Is(err, config.ErrNotFound) {
		return "", &apiError{http.StatusForbidden, "not_an_agent", "your user is not set up as an agent", ""}
	}
	return id, err
}

func (s *Server) agentSetup(c *gin.Context) {
	id, err := s.agentID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	u, _ := currentUser(c)
	opts := s.agentOptions()
	out := agentSetupJSON{Agent: string(id), Name: u.DisplayName, Available: opts.Manager != nil,
		Queues: []agentQueueJSON{}, PauseReasons: []pauseReasonJSON{}}
	if out.Name == "" {
		out.Name = u.Username
	}
	if opts.Directory != nil {
		st, err := opts.Directory.AgentSetup(c.Request.Context(), id)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, q := range st.Queues {
			out.Queues = append(out.Queues, agentQueueJSON{ID: q.ID, Name: q.Name, Selected: q.Selected})
		}
		for _, r := range st.PauseReasons {
			out.PauseReasons = append(out.PauseReasons, pauseReasonJSON{ID: r.ID, Label: r.Label})
		}
		out.WrapUpSeconds, out.AutoReady = st.WrapUpSeconds, st.AutoReady
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// agentColleagues lists the transfer targets among the agent's colleagues:
// ready ones first, then by name.
func (s *Server) agentColleagues(c *gin.Context) {
	id, err := s.agentID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := []colleagueJSON{}
	if dir := s.agentOptions().Directory; dir != nil {
		list, err := dir.Colleagues(c.Request.Context(), id)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, co := range list {
			out = append(out, colleagueJSON{ID: co.ID, Name: co.Name, State: co.State})
		}
	}
	slices.SortFunc(out, func(a, b colleagueJSON) int {
		return cmp.Or(cmp.Compare(stateRank(a.State), stateRank(b.State)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func stateRank(s string) int {
	switch s {
	case "ready":
		return 0
	case "paused":
		return 1
	case "busy":
		return 2
	}
	return 3
}

func (s *Server) agentQueues(c *gin.Context) {
	req, ok := decode[agentQueuesRequest](s, c)
	if !ok {
		return
	}
	id, err := s.agentID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	dir := s.agentOptions().Directory
	if dir == nil {
		s.fail(c, &apiError{http.StatusServiceUnavailable, "unavailable", "queues are not configured", ""})
		return
	}
	if req.Queues == nil {
		req.Queues = []string{}
	}
	if err := dir.SetAgentQueues(c.Request.Context(), id, req.Queues); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// sameOrigin reports whether a browser's Origin header names this site:
// the same scheme, host and port as the public URL when one is
// configured (Options.PublicURL), else as the request itself. A request
// without Origin is not from a browser page (browsers always send it on
// WebSocket handshakes) and passes.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false
	}
	got, ok := originOf(u.Scheme, u.Host)
	return ok && got == s.siteOrigin(r)
}

// origin is a scheme, host and port, compared as browsers compare them.
type origin struct{ scheme, host, port string }

// originOf normalises scheme and host[:port]: lower case, the scheme's
// default port written out.
func originOf(scheme, hostport string) (origin, bool) {
	scheme = strings.ToLower(scheme)
	var port string
	switch scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return origin{}, false
	}
	u := url.URL{Host: hostport}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return origin{}, false
	}
	if p := u.Port(); p != "" {
		port = p
	}
	return origin{scheme, host, port}, true
}

// siteOrigin is this site's origin as browsers see it.
func (s *Server) siteOrigin(r *http.Request) origin {
	if s.opts.PublicURL != "" {
		if u, err := url.Parse(s.opts.PublicURL); err == nil {
			if o, ok := originOf(u.Scheme, u.Host); ok {
				return o
			}
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	o, _ := originOf(scheme, r.Host)
	return o
}
