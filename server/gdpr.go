package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/queue"
)

// gdprStore is what a data subject's requests and the audited number
// look-up need of the store (the SQL store has it).
type gdprStore interface {
	ExportSubject(ctx context.Context, actor config.Actor, number string) (config.SubjectRecords, error)
	DeleteSubject(ctx context.Context, actor config.Actor, number string) (config.SubjectDeleted, error)
	RecordNumberLookup(ctx context.Context, actor config.Actor, call, number string) error
}

func (s *Server) gdprStore(c *gin.Context) (gdprStore, bool) {
	st, ok := s.opts.Store.(gdprStore)
	if !ok {
		s.fail(c, &apiError{http.StatusServiceUnavailable, "unavailable", "the store does not support data subjects' requests", ""})
	}
	return st, ok
}

// subjectRequest names a data subject by number. The number is in the
// body, not the URL, so that it never reaches an access log.
type subjectRequest struct {
	Number string `json:"number"`
}

// SubjectExport is the JSON of a data subject's export (the API's
// POST /gdpr/export and omstil gdpr export).
type SubjectExport struct {
	Number           string           `json:"number"`
	Pseudonym        string           `json:"pseudonym"`
	ExportedAt       time.Time        `json:"exported_at"`
	CallEvents       []subjectEvent   `json:"call_events"`
	PendingCallbacks []subjectPending `json:"pending_callbacks"`
}

type subjectEvent struct {
	ID            int64           `json:"id"`
	At            time.Time       `json:"at"`
	Call          string          `json:"call,omitempty"`
	Kind          string          `json:"kind"`
	Queue         string          `json:"queue,omitempty"`
	Agent         string          `json:"agent,omitempty"`
	Caller        string          `json:"caller,omitempty"`
	WaitMS        int64           `json:"wait_ms,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	Pseudonymised bool            `json:"pseudonymised"`
}

type subjectPending struct {
	Call        string    `json:"call"`
	Queue       string    `json:"queue"`
	Number      string    `json:"number"`
	Dialled     string    `json:"dialled,omitempty"`
	JoinedAt    time.Time `json:"joined_at"`
	RequestedAt time.Time `json:"requested_at"`
}

// NewSubjectExport renders a data subject's records as JSON.
func NewSubjectExport(r config.SubjectRecords, at time.Time) SubjectExport {
	out := SubjectExport{Number: r.Number, Pseudonym: r.Pseudonym, ExportedAt: at.UTC(),
		CallEvents: []subjectEvent{}, PendingCallbacks: []subjectPending{}}
	for _, ev := range r.CallEvents {
		e := subjectEvent{ev.ID, ev.At.UTC(), ev.CallID, ev.Kind, ev.Queue, ev.Agent, ev.Caller, ev.WaitMS, nil, ev.Pseudonymised}
		switch {
		case ev.Data == "":
		case json.Valid([]byte(ev.Data)):
			e.Data = json.RawMessage(ev.Data)
		default:
			e.Data, _ = json.Marshal(ev.Data)
		}
		out.CallEvents = append(out.CallEvents, e)
	}
	for _, cb := range r.PendingCallbacks {
		out.PendingCallbacks = append(out.PendingCallbacks, subjectPending{cb.CallID, cb.Queue, cb.Number, cb.Dialled, cb.JoinedAt.UTC(), cb.RequestedAt.UTC()})
	}
	return out
}

// SubjectDeletion is the JSON of a data subject's deletion.
type SubjectDeletion struct {
	Pseudonym        string `json:"pseudonym"`
	CallEvents       int64  `json:"call_events"`
	PendingCallbacks int64  `json:"pending_callbacks"`
}

// exportSubject answers a data subject's request for access: every record
// of the number in the admin's organisation (audited with the pseudonym).
func (s *Server) exportSubject(c *gin.Context) {
	st, ok := s.gdprStore(c)
	if !ok {
		return
	}
	req, ok := decode[subjectRequest](s, c)
	if !ok {
		return
	}
	r, err := st.ExportSubject(c.Request.Context(), actor(c), req.Number)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, NewSubjectExport(r, s.opts.Now()))
}

// deleteSubject answers a data subject's request for erasure.
func (s *Server) deleteSubject(c *gin.Context) {
	st, ok := s.gdprStore(c)
	if !ok {
		return
	}
	req, ok := decode[subjectRequest](s, c)
	if !ok {
		return
	}
	d, err := st.DeleteSubject(c.Request.Context(), actor(c), req.Number)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, SubjectDeletion{d.Pseudonym, d.CallEvents, d.PendingCallbacks})
}

type callerResponse struct {
	Call   queue.CallID `json:"call"`
	Caller string       `json:"caller"`
}

// revealCaller shows a supervisor the number of one call in progress of
// its organisation in clear, and audits that it did (GET /calls shows it
// masked to everyone).
func (s *Server) revealCaller(c *gin.Context) {
	st, ok := s.gdprStore(c)
	if !ok {
		return
	}
	if s.opts.Live == nil {
		s.fail(c, errLiveDown())
		return
	}
	calls, err := s.opts.Live.Calls(c.Request.Context())
	if err != nil {
		s.failLive(c, err)
		return
	}
	a := actor(c)
	id := queue.CallID(c.Param("call"))
	for _, lc := range calls {
		if lc.Org != a.OrgID || lc.Call != id {
			continue
		}
		if err := st.RecordNumberLookup(c.Request.Context(), a, string(lc.Call), lc.Caller); err != nil {
			s.fail(c, err)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, callerResponse{lc.Call, lc.Caller})
		return
	}
	s.fail(c, errNotFound("call"))
}
