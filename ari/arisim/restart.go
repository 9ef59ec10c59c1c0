package arisim

import "time"

// softHangupShutdown is the "cause" of the ChannelHangupRequest Asterisk
// sends for every channel when it shuts down: not a Q.850 cause but the
// soft-hangup flag AST_SOFTHANGUP_SHUTDOWN (ast_softhangup publishes its
// flag as "cause"), with "soft": true.
const softHangupShutdown = 4

// Restart is Asterisk's "core restart now" as Asterisk 22.10.1 does it:
// every channel gets ChannelHangupRequest{cause: 4, soft: true} and ends
// with cause 0 (StasisEnd and ChannelDestroyed reach the apps while their
// sockets are still open), bridges are gone, then every WebSocket is
// closed once its queued events are written. The restarted Asterisk
// reports a new startup_time in GET /asterisk/info and takes connections
// and calls again at once (a test that wants it away for a while cuts a
// proxy in front of it).
func (s *Sim) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.sortedChannels() {
		if ch.gone {
			continue
		}
		s.emitChannel(ch, simEvent{typ: "ChannelHangupRequest", cause: softHangupShutdown, hasCause: true, soft: true, channel: ch})
		s.endChannel(ch, 0, hangupReq{}, false)
	}
	s.reboot(func(c *wsConn) { c.closeFlushed() })
}

// Crash is Asterisk killed (kill -9) and started again: the sockets drop
// with no event, and the new Asterisk has no channel and no bridge.
func (s *Sim) Crash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.sortedChannels() {
		ch.stopTimers()
		ch.gone = true
		s.countDevice(ch, -1)
		if ch.ext != nil {
			ch.ext.conn.Close()
		}
		delete(s.mediaSet, ch)
		delete(s.channels, ch.id)
	}
	for id := range s.playbacks {
		delete(s.playbacks, id)
	}
	s.reboot(func(c *wsConn) { c.close() })
}

// reboot clears what does not survive a restart and closes the sockets.
func (s *Sim) reboot(closeConn func(*wsConn)) {
	for id := range s.bridges {
		delete(s.bridges, id)
	}
	for c := range s.conns {
		closeConn(c)
	}
	now := s.now()
	if now.Sub(s.started) < time.Millisecond {
		now = s.started.Add(time.Millisecond) // startup_time has milliseconds
	}
	s.started = now
}
