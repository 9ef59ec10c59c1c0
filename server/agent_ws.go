package server

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/softphone"
)

// maxSignalMessage bounds one message from the page; an SDP offer with its
// candidates is a few kilobytes.
const maxSignalMessage = 64 << 10

// agentSocket upgrades the agent page's signalling WebSocket and runs the
// softphone bridge's signalling on it until the page goes away.
func (s *Server) agentSocket(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.log.Warn("agent socket: cross-origin handshake refused", "origin", c.Request.Header.Get("Origin"))
		s.fail(c, &apiError{http.StatusForbidden, "cross_origin", "cross-origin WebSocket refused", ""})
		return
	}
	m := s.agentOptions().Manager
	if m == nil {
		s.fail(c, &apiError{http.StatusServiceUnavailable, "unavailable", "the softphone is not available", ""})
		return
	}
	agent, err := s.agentID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	lc, ok := s.conns.track(s, c, config.RoleAgent)
	if !ok {
		return
	}
	defer s.conns.release(lc)
	// The Origin was checked above against the site's scheme, host and
	// port; Accept checks its host again against the request's.
	ws, err := websocket.Accept(c.Writer, c.Request, nil)
	if err != nil {
		s.log.Info("agent socket: handshake failed", "err", err)
		c.Abort()
		return
	}
	c.Abort() // the response now belongs to the WebSocket
	ws.SetReadLimit(maxSignalMessage)
	// Every message is checked against the login first, and the page is
	// ended as soon as the login no longer holds: the bridge then logs
	// the agent out and hangs up its call (softphone.Revoke).
	err = m.Serve(c.Request.Context(), agent, wsConn{ws}, softphone.Authorize(lc.authorize), softphone.Revoke(lc.ended))
	// When the bridge ends a page (another tab, logout, shutdown, the
	// login ended) it has sent the page an error message saying why, then
	// cancelled the read, which makes coder/websocket drop the connection:
	// the page learns the reason from that message, not from a close
	// code.
	s.log.Debug("agent socket closed", "agent", string(agent), "err", err)
	ws.CloseNow()
}

// wsConn carries the softphone's JSON messages as WebSocket text messages.
type wsConn struct{ c *websocket.Conn }

func (w wsConn) ReadMessage(ctx context.Context) ([]byte, error) {
	// A binary message is passed on too: the bridge answers it with a
	// bad-message error, as it does any other message that is not JSON.
	_, b, err := w.c.Read(ctx)
	return b, err
}

func (w wsConn) WriteMessage(ctx context.Context, data []byte) error {
	return w.c.Write(ctx, websocket.MessageText, data)
}
