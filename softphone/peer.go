package softphone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const (
	outQueue       = 64               // messages queued for a page before it counts as slow
	writeTimeout   = 10 * time.Second // one message to the page
	controlTimeout = 10 * time.Second // one CallControl call
	maxPending     = 64               // ICE candidates held until the remote description is set
)

// peer is one connected agent page: its signalling connection and, after
// the first offer, its PeerConnection.
type peer struct {
	s      *Session
	conn   MessageConn
	ctx    context.Context
	cancel context.CancelCauseFunc
	active atomic.Bool // the session's current page; only then is audio relayed
	wrote  chan struct{}
	opts   serveOptions // the server's checks (Authorize, Revoke)
	// revoked: the page's login ended and the page was told (revoke).
	revoked    atomic.Bool
	revokeOnce sync.Once

	mu       sync.Mutex
	out      chan []byte
	finished bool
	cause    error

	// Candidates gathered before the SDP that announces them was sent are
	// held back: a page cannot add a candidate before the description.
	candMu    sync.Mutex
	sdpSent   bool
	heldCands []Message

	// Used by the read loop only (and closePC after it ended).
	pc      *webrtc.PeerConnection
	pending []webrtc.ICECandidateInit
}

func newPeer(ctx context.Context, s *Session, conn MessageConn) *peer {
	ctx, cancel := context.WithCancelCause(ctx)
	return &peer{s: s, conn: conn, ctx: ctx, cancel: cancel,
		out: make(chan []byte, outQueue), wrote: make(chan struct{})}
}

// run reads and handles messages until the connection ends or finish is
// called, then returns why.
func (p *peer) run() error {
	go p.writeLoop()
	go p.watchRevoke()
	var err error
	for {
		var data []byte
		data, err = p.conn.ReadMessage(p.ctx)
		if err != nil {
			break
		}
		if p.revoked.Load() {
			break
		}
		var m Message
		bad := json.Unmarshal(data, &m) // decoded once: authorize needs the ID and type
		if !p.authorize(&m) {
			if p.revoked.Load() {
				break
			}
			continue
		}
		p.handle(&m, bad)
	}
	p.finish(fmt.Errorf("softphone: page connection: %w", err), nil)
	<-p.wrote
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause
}

func (p *peer) writeLoop() {
	defer close(p.wrote)
	failed := false
	for b := range p.out {
		if failed {
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, writeTimeout)
		err := p.conn.WriteMessage(ctx, b)
		cancel()
		if err != nil {
			failed = true
			p.finish(fmt.Errorf("softphone: write to page: %w", err), nil)
			p.cancel(err)
		}
	}
	p.mu.Lock()
	cause := p.cause
	p.mu.Unlock()
	p.cancel(cause)
}

// send queues msg for the page. A page that lets outQueue messages pile up
// is disconnected (ErrSlowPage).
func (p *peer) send(msg Message) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("softphone: encode %s: %w", msg.Type, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return ErrNoPage
	}
	select {
	case p.out <- b:
		return nil
	default:
		p.finishLocked(ErrSlowPage, nil)
		p.cancel(ErrSlowPage) // also aborts a write stuck on the page
		return ErrSlowPage
	}
}

// finish ends the page connection: final (if any) is the last message
// written, then the connection's context is cancelled with cause.
func (p *peer) finish(cause error, final *Message) {
	p.mu.Lock()
	p.finishLocked(cause, final)
	p.mu.Unlock()
}

func (p *peer) finishLocked(cause error, final *Message) {
	if p.finished {
		return
	}
	p.finished, p.cause = true, cause
	if final != nil {
		if b, err := json.Marshal(final); err == nil {
			select {
			case p.out <- b:
			default:
			}
		}
	}
	close(p.out)
}

func (p *peer) closePC() {
	if p.pc != nil {
		if err := p.pc.Close(); err != nil {
			p.s.log.Debug("softphone: close PeerConnection", "err", err)
		}
	}
}

// reply sends an error for request m.
func (p *peer) fail(m *Message, code, format string, args ...any) {
	p.send(Message{Type: "error", ID: m.ID, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (p *peer) ack(m *Message) { p.send(Message{Type: "ack", ID: m.ID}) }

// handle decodes and dispatches one message from the page. Nothing the page
// sends ends the connection or a call: bad input gets an error message.
// handle carries out one message from the page; bad is the error of
// decoding it, if any.
func (p *peer) handle(m *Message, bad error) {
	if bad != nil {
		p.fail(m, CodeBadMessage, "not a JSON signalling message: %v", bad)
		return
	}
	switch m.Type {
	case "":
		p.fail(m, CodeBadMessage, "message has no type")
	case "hello":
		for i, w := range p.s.welcome() {
			if i == 0 {
				w.ID = m.ID
			}
			p.send(w)
		}
	case "ping":
		p.send(Message{Type: "pong", ID: m.ID})
	case "offer":
		p.onOffer(m)
	case "answer":
		switch {
		case m.SDP != "" && m.Call != "":
			p.fail(m, CodeBadMessage, "answer has both sdp and call: send an SDP answer or answer a call, not both")
		case m.SDP != "":
			p.onSDPAnswer(m)
		case m.Call != "":
			p.control(m, func(ctx context.Context, c CallControl) error { return c.Answer(ctx, p.s.agent, m.Call) })
		default:
			p.fail(m, CodeBadMessage, "answer needs sdp (media) or call (pick up a call)")
		}
	case "candidate":
		p.onCandidate(m)
	case "ice-restart":
		p.onICERestart(m)
	case "mute":
		p.onMute(m)
	case "decline", "hangup":
		if m.Call == "" {
			p.fail(m, CodeBadMessage, "%s needs call", m.Type)
			return
		}
		if m.Type == "decline" {
			p.control(m, func(ctx context.Context, c CallControl) error { return c.Decline(ctx, p.s.agent, m.Call) })
		} else {
			p.control(m, func(ctx context.Context, c CallControl) error { return c.Hangup(ctx, p.s.agent, m.Call) })
		}
	case "hold":
		if m.Call == "" || m.On == nil {
			p.fail(m, CodeBadMessage, "hold needs call and on (true or false)")
			return
		}
		p.control(m, func(ctx context.Context, c CallControl) error { return c.Hold(ctx, p.s.agent, m.Call, *m.On) })
	case "dtmf":
		if m.Call == "" || !validDTMF(m.Digits) {
			p.fail(m, CodeBadMessage, "dtmf needs call and 1-32 digits of 0-9 * # A-D")
			return
		}
		p.control(m, func(ctx context.Context, c CallControl) error { return c.SendDTMF(ctx, p.s.agent, m.Call, m.Digits) })
	case "transfer":
		t, err := checkTransfer(m)
		if err != nil {
			p.fail(m, CodeBadMessage, "%v", err)
			return
		}
		p.control(m, func(ctx context.Context, c CallControl) error { return c.Transfer(ctx, p.s.agent, m.Call, t) })
	case "ready":
		p.control(m, func(ctx context.Context, c CallControl) error { return c.SetState(ctx, p.s.agent, StateReady, "") })
	case "pause":
		p.control(m, func(ctx context.Context, c CallControl) error {
			return c.SetState(ctx, p.s.agent, StatePaused, m.Reason)
		})
	case "logout":
		p.control(m, func(ctx context.Context, c CallControl) error { return c.SetState(ctx, p.s.agent, StateLoggedOut, "") })
	default:
		p.fail(m, CodeBadMessage, "unknown message type %q", m.Type)
	}
}

func validDTMF(d string) bool {
	if len(d) == 0 || len(d) > 32 {
		return false
	}
	for _, c := range d {
		if !strings.ContainsRune("0123456789*#ABCD", c) {
			return false
		}
	}
	return true
}

func checkTransfer(m *Message) (Transfer, error) {
	if m.Call == "" || m.Transfer == nil {
		return Transfer{}, errors.New("transfer needs call and transfer {kind, to, mode}")
	}
	t := *m.Transfer
	if t.Mode == "" {
		t.Mode = "blind"
	}
	switch t.Mode {
	case "blind", "attended":
		switch t.Kind {
		case "queue", "agent", "number":
		default:
			return t, fmt.Errorf("transfer kind %q: want queue, agent or number", t.Kind)
		}
		if t.To == "" {
			return t, errors.New("transfer needs to: the queue, agent or number")
		}
	case "complete", "cancel":
	default:
		return t, fmt.Errorf("transfer mode %q: want blind, attended, complete or cancel", t.Mode)
	}
	return t, nil
}

// control runs one CallControl call and answers the page with ack or error.
func (p *peer) control(m *Message, call func(context.Context, CallControl) error) {
	c := p.s.m.callControl()
	if c == nil {
		p.fail(m, CodeUnavailable, "call handling is not available")
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, controlTimeout)
	defer cancel()
	err := call(ctx, c)
	var ce *ControlError
	switch {
	case err == nil:
		p.ack(m)
	case errors.As(err, &ce):
		p.send(Message{Type: "error", ID: m.ID, Code: ce.Code, Message: ce.Message, Reason: ce.Reason})
	default:
		p.s.log.Warn("softphone: call control failed", "type", m.Type, "call", m.Call, "err", err)
		p.fail(m, CodeFailed, "%s failed", m.Type)
	}
}

func (p *peer) onMute(m *Message) {
	if m.On == nil {
		p.fail(m, CodeBadMessage, "mute needs on (true or false)")
		return
	}
	r := p.s.cur.Load()
	if r == nil || (m.Call != "" && m.Call != r.call) {
		p.fail(m, CodeNoCall, "no call to mute")
		return
	}
	r.muted.Store(*m.On)
	p.ack(m)
}

// ensurePC creates the page's PeerConnection with its outbound PCMU track.
func (p *peer) ensurePC() error {
	if p.pc != nil {
		return nil
	}
	pc, err := p.s.m.api.NewPeerConnection(p.s.m.pcCfg)
	if err != nil {
		return err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: pcmuRate}, "audio", "omstil")
	if err != nil {
		pc.Close()
		return err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		pc.Close()
		return err
	}
	go func() {
		// RTCP from the browser goes through the interceptors when read.
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		m := Message{Type: "candidate"} // without candidate: end of candidates
		if c != nil {
			init := c.ToJSON()
			m.Candidate = &init
		}
		p.candMu.Lock()
		defer p.candMu.Unlock()
		if !p.sdpSent {
			p.heldCands = append(p.heldCands, m)
			return
		}
		p.send(m)
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			go p.readTrack(t)
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.s.log.Debug("softphone: media connection", "state", st.String())
		p.send(Message{Type: "media", State: st.String()})
	})
	p.pc = pc
	p.s.setSinkFor(p, track)
	return nil
}

// readTrack relays the page's microphone to the attached call, if any.
func (p *peer) readTrack(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if !p.active.Load() {
			continue
		}
		r := p.s.cur.Load()
		if r == nil {
			p.s.st.droppedNoCall.Add(1)
			continue
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			p.s.st.droppedBad.Add(1)
			continue
		}
		r.fromBrowser(&pkt)
	}
}

func (p *peer) onOffer(m *Message) {
	if m.SDP == "" {
		p.fail(m, CodeBadMessage, "offer needs sdp")
		return
	}
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}
	if code, err := checkPCMU(desc); err != nil {
		p.fail(m, code, "%v", err)
		return
	}
	if err := p.ensurePC(); err != nil {
		p.s.log.Error("softphone: new PeerConnection", "err", err)
		p.fail(m, CodeFailed, "could not create the media connection")
		return
	}
	if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// Both sides offered at once: the page's offer wins.
		if err := p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			p.fail(m, CodeNegotiation, "rollback of the server's offer: %v", err)
			return
		}
	}
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		p.fail(m, CodeNegotiation, "offer refused: %v", err)
		return
	}
	p.addPending()
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		p.holdCandidates()
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		p.sendLocalSDP(Message{Type: "error", ID: m.ID, Code: CodeNegotiation, Message: fmt.Sprintf("no answer to the offer: %v", err)})
		return
	}
	p.sendLocalSDP(Message{Type: "answer", ID: m.ID, SDP: p.pc.LocalDescription().SDP})
}

func (p *peer) onSDPAnswer(m *Message) {
	if p.pc == nil || p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		p.fail(m, CodeBadState, "no offer from the server is outstanding")
		return
	}
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}
	if code, err := checkPCMU(desc); err != nil {
		p.fail(m, code, "%v", err)
		return
	}
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		p.fail(m, CodeNegotiation, "answer refused: %v", err)
		return
	}
	p.addPending()
	p.ack(m)
}

func (p *peer) onICERestart(m *Message) {
	if p.pc == nil {
		p.fail(m, CodeBadState, "no media connection yet: send an offer")
		return
	}
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.fail(m, CodeBadState, "negotiation in progress (%s)", p.pc.SignalingState())
		return
	}
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err == nil {
		p.holdCandidates()
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.sendLocalSDP(Message{Type: "error", ID: m.ID, Code: CodeNegotiation, Message: fmt.Sprintf("ICE restart: %v", err)})
		return
	}
	p.sendLocalSDP(Message{Type: "offer", ID: m.ID, SDP: p.pc.LocalDescription().SDP})
}

func (p *peer) onCandidate(m *Message) {
	if m.Candidate == nil || m.Candidate.Candidate == "" {
		return // end of candidates
	}
	if p.pc == nil || p.pc.RemoteDescription() == nil {
		if len(p.pending) >= maxPending {
			p.fail(m, CodeBadState, "too many candidates before an offer")
			return
		}
		p.pending = append(p.pending, *m.Candidate)
		return
	}
	if err := p.pc.AddICECandidate(*m.Candidate); err != nil {
		p.fail(m, CodeNegotiation, "candidate refused: %v", err)
	}
}

// holdCandidates holds back gathered candidates until sendLocalSDP.
func (p *peer) holdCandidates() {
	p.candMu.Lock()
	p.sdpSent = false
	p.candMu.Unlock()
}

// sendLocalSDP sends the local description (or the error that replaces it),
// then the candidates held back while it was being made.
func (p *peer) sendLocalSDP(m Message) {
	p.candMu.Lock()
	defer p.candMu.Unlock()
	p.send(m)
	for _, c := range p.heldCands {
		p.send(c)
	}
	p.heldCands, p.sdpSent = nil, true
}

func (p *peer) addPending() {
	for _, c := range p.pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.s.log.Debug("softphone: early candidate refused", "err", err)
		}
	}
	p.pending = nil
}

// checkPCMU refuses an SDP that does not parse (CodeBadMessage) or has no
// audio section offering PCMU/8000, as static payload type 0 or a dynamic
// one mapped to PCMU/8000 (CodeNoPCMU).
func checkPCMU(desc webrtc.SessionDescription) (code string, err error) {
	sd, err := desc.Unmarshal()
	if err != nil {
		return CodeBadMessage, fmt.Errorf("the SDP does not parse: %v", err)
	}
	audio := false
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		audio = true
		for _, f := range md.MediaName.Formats {
			if f == "0" {
				return "", nil
			}
		}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			_, enc, _ := strings.Cut(a.Value, " ")
			if strings.EqualFold(enc, "PCMU/8000") || strings.EqualFold(enc, "PCMU/8000/1") {
				return "", nil
			}
		}
	}
	if !audio {
		return CodeNoPCMU, errors.New("the SDP has no audio section; the softphone needs audio (PCMU/8000)")
	}
	return CodeNoPCMU, errors.New("the SDP offers no PCMU/8000 audio; omstil relays G.711 µ-law (PCMU) only")
}
