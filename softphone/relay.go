package softphone

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// payloadPCMU is the static RTP payload type of G.711 µ-law, what Asterisk's
// externalMedia sends for format=ulaw and the only codec the bridge speaks.
const payloadPCMU = 0

// silencePCMU is the µ-law code for a zero sample.
const silencePCMU = 0xFF

// rtpWriter is where audio for the browser goes: the session's outbound
// pion track (webrtc.TrackLocalStaticRTP), or a test sink. WriteRTP must not
// keep p or its payload after it returns.
type rtpWriter interface {
	WriteRTP(p *rtp.Packet) error
}

// counters are a session's packet counts, read with Stats.
type counters struct {
	toBrowser      atomic.Uint64
	toAsterisk     atomic.Uint64
	droppedNoCall  atomic.Uint64 // browser audio while no call is attached
	droppedNoPage  atomic.Uint64 // call audio while no page is connected
	droppedForeign atomic.Uint64 // from an address that is not the call's Asterisk
	droppedBad     atomic.Uint64 // not RTP, or not PCMU
	// delay, when set, records each Asterisk → browser packet's time in
	// the relay (the Manager's histogram, shared by all sessions).
	delay *delayHist
}

// downlink is the Asterisk → browser half of a session. It lives as long as
// the session, across calls and page reloads, so the browser's track sees
// one continuous stream.
type downlink struct {
	now  func() time.Time
	sink atomic.Pointer[sinkBox]
	st   *counters

	mu sync.Mutex
	rw rewriter
}

type sinkBox struct{ w rtpWriter }

func newDownlink(now func() time.Time, st *counters, seq uint16, ts uint32) *downlink {
	return &downlink{now: now, st: st, rw: newRewriter(seq, ts)}
}

// setSink points the downlink at a page's track; nil while no page is
// connected.
func (d *downlink) setSink(w rtpWriter) {
	if w == nil {
		d.sink.Store(nil)
		return
	}
	d.sink.Store(&sinkBox{w})
}

func (d *downlink) newSource() {
	d.mu.Lock()
	d.rw.newSource()
	d.mu.Unlock()
}

// forward rewrites p and writes it to the current sink. arrived is when
// the kernel received it (zero: unknown); the time from then to the end of
// the write is recorded as the relay's delay.
func (d *downlink) forward(p *rtp.Packet, arrived time.Time) {
	box := d.sink.Load()
	if box == nil {
		d.st.droppedNoPage.Add(1)
		return
	}
	d.mu.Lock()
	d.rw.rewrite(&p.Header, len(p.Payload), d.now())
	// The write is inside the lock so that two relays (a call ending while
	// the next starts) cannot interleave on the track.
	err := box.w.WriteRTP(p)
	d.mu.Unlock()
	if err == nil {
		d.st.toBrowser.Add(1)
		if !arrived.IsZero() {
			// Real time on both sides: the kernel stamps with the wall clock.
			d.st.delay.observe(time.Since(arrived))
		}
	}
}

// relay owns the UDP socket of one attached call: RTP from Asterisk is read
// from it and passed to the session's downlink; the browser's RTP is written
// from it to Asterisk.
type relay struct {
	call  CallID
	own   *sender  // the call's own socket, read by readAsterisk, and its writing side; nil on the shared port
	mux   *mux     // the shared port (Config.SharedPort), or nil
	out   audioOut // where the agent's audio goes: own, or the shared port's writer
	port  int
	addr  string // host:port given to ARI as external_host
	down  *downlink
	st    *counters
	now   func() time.Time
	log   *slog.Logger
	ssrc  uint32
	muted atomic.Bool
	done  chan struct{}

	mu       sync.Mutex
	expectIP netip.Addr     // from SetRemote: only this IP may latch
	target   netip.AddrPort // where browser audio goes
	latched  bool           // target learned from Asterisk's first packet
	up       rewriter       // browser → Asterisk
	buf      []byte
}

// audioOut is where a relay sends the agent's audio: a call's own socket
// (sender, at once) or the shared port's writer (batchWriter, which
// copies the packet and sends it with others). b is not kept.
type audioOut interface {
	send(b []byte, to netip.AddrPort) error
}

// newRelay is call's relay on its own socket conn (bound on port), read
// by the relay's reader, or, with conn nil, on the shared socket mx, read
// by the mux once SetRemote has told which of Asterisk's addresses is the
// call's.
func newRelay(call CallID, conn *net.UDPConn, port int, mx *mux, down *downlink, st *counters,
	now func() time.Time, log *slog.Logger, ssrc uint32, seq uint16, ts uint32) *relay {
	r := &relay{
		call: call, port: port, mux: mx,
		down: down, st: st, now: now, log: log, ssrc: ssrc,
		done: make(chan struct{}),
		up:   newRewriter(seq, ts),
		buf:  make([]byte, 1500),
	}
	if conn == nil {
		r.addr, r.out = mx.addr, mx.w
		close(r.done)
		return r
	}
	r.addr = conn.LocalAddr().String()
	r.own, _ = newSender(conn) // on an error it writes from conn
	r.out = r.own
	go r.readAsterisk()
	return r
}

// setRemote tells the relay Asterisk's RTP address for this call (the
// externalMedia channel's UNICASTRTP_LOCAL_ADDRESS:UNICASTRTP_LOCAL_PORT).
// Browser audio goes there until Asterisk's first packet arrives; from then
// on the packet's source address wins (symmetric RTP, right through NAT).
// It also restricts latching to packets from that IP.
func (r *relay) setRemote(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("softphone: Asterisk RTP address %q: %w", addr, err)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("softphone: Asterisk RTP address %q has no port", addr)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if r.mux != nil {
		// the shared socket tells calls apart by this exact address: no
		// latching on a first packet
		if ap.Addr().IsUnspecified() {
			return fmt.Errorf("softphone: Asterisk RTP address %q: the shared relay port needs Asterisk's own address", addr)
		}
		if err := r.mux.register(ap, r); err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.target = ap // accept and latching are the own socket's reader's
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ap.Addr().IsUnspecified() {
		r.expectIP = ap.Addr()
	}
	if !r.latched && !ap.Addr().IsUnspecified() {
		r.target = ap
	}
	return nil
}

// accept decides whether a packet from src belongs to this call, latching
// the first acceptable source.
func (r *relay) accept(src netip.AddrPort) bool {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.latched {
		return src == r.target
	}
	if r.expectIP.IsValid() && src.Addr() != r.expectIP {
		return false
	}
	r.latched, r.target = true, src
	return true
}

func (r *relay) readAsterisk() {
	defer close(r.done)
	buf := make([]byte, 1500)
	oob := make([]byte, rxOOBSize)
	var p rtp.Packet
	for {
		n, oobn, _, src, err := r.own.conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Debug("softphone: relay read", "call", r.call, "err", err)
			continue
		}
		if !r.accept(src) {
			r.st.droppedForeign.Add(1)
			continue
		}
		r.fromAsterisk(buf[:n], rxTime(oob[:oobn]), &p)
	}
}

// fromAsterisk passes one packet of the call's audio from Asterisk to the
// session's downlink; b is only read before it returns. p is the reader's
// packet, reused from one packet to the next.
func (r *relay) fromAsterisk(b []byte, arrived time.Time, p *rtp.Packet) {
	if err := p.Unmarshal(b); err != nil || p.PayloadType != payloadPCMU || p.Version != 2 {
		r.st.droppedBad.Add(1)
		return
	}
	// The browser negotiated plain PCMU: no header extensions, no
	// contributing sources, no padding.
	p.Extension, p.Extensions = false, p.Extensions[:0]
	p.CSRC = p.CSRC[:0]
	p.Padding, p.PaddingSize, p.Header.PaddingSize = false, 0, 0
	r.down.forward(p, arrived)
}

// fromBrowser sends one packet of the agent's audio to Asterisk. p is
// changed. While muted the payload is replaced by µ-law silence of the same
// length, so Asterisk keeps receiving a steady stream.
func (r *relay) fromBrowser(p *rtp.Packet) {
	if p.PayloadType != payloadPCMU {
		r.st.droppedBad.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.target.IsValid() {
		// Neither SetRemote nor a packet from Asterisk yet.
		r.st.droppedNoCall.Add(1)
		return
	}
	r.up.rewrite(&p.Header, len(p.Payload), r.now())
	p.SSRC = r.ssrc
	p.Padding, p.PaddingSize, p.Header.PaddingSize = false, 0, 0
	p.Extension, p.Extensions = false, nil
	p.CSRC = nil
	dst := r.buf
	hl := p.Header.MarshalSize()
	if hl+len(p.Payload) > len(dst) {
		r.st.droppedBad.Add(1)
		return
	}
	if _, err := p.Header.MarshalTo(dst); err != nil {
		r.st.droppedBad.Add(1)
		return
	}
	body := dst[hl : hl+len(p.Payload)]
	if r.muted.Load() {
		for i := range body {
			body[i] = silencePCMU
		}
	} else {
		copy(body, p.Payload)
	}
	if err := r.out.send(dst[:hl+len(body)], r.target); err != nil {
		r.log.Debug("softphone: relay write", "call", r.call, "err", err)
		return
	}
	r.st.toAsterisk.Add(1)
}

// close stops the relay and waits for its reader.
func (r *relay) close() {
	if r.mux != nil {
		r.mux.unregister(r)
		return
	}
	r.own.conn.Close()
	<-r.done
	r.mu.Lock() // no send is under way
	r.own.close()
	r.mu.Unlock()
}
