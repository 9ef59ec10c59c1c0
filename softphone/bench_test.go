package softphone

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
)

func BenchmarkRewrite(b *testing.B) {
	w := newRewriter(1, 1)
	h := rtp.Header{SSRC: 7}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.SequenceNumber, h.Timestamp = uint16(i), uint32(i*160)
		w.rewrite(&h, 160, now)
	}
}

// cpuMeter reports the process's CPU time per operation (user + system,
// all threads) as cpu-ns/op: unlike ns/op it does not grow when other
// programs on the machine take the CPU.
type cpuMeter struct {
	b     *testing.B
	start syscall.Rusage
}

func startCPU(b *testing.B) *cpuMeter {
	m := &cpuMeter{b: b}
	syscall.Getrusage(syscall.RUSAGE_SELF, &m.start)
	return m
}

func (m *cpuMeter) stop() {
	var end syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &end)
	ns := end.Utime.Nano() + end.Stime.Nano() - m.start.Utime.Nano() - m.start.Stime.Nano()
	m.b.ReportMetric(float64(ns)/float64(m.b.N), "cpu-ns/op")
}

// BenchmarkUDPBaseline is BenchmarkRelayAsteriskToSink without the relay: a
// plain reader goroutine on the receiving socket. The difference between
// the two is what the relay adds to one packet's trip.
func BenchmarkUDPBaseline(b *testing.B) {
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	got := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			got <- struct{}{}
		}
	}()
	ast := newFakeAsterisk(b, "127.0.0.1")
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	raw, _ := pcmu(1, 1, 1, 0).Marshal()
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		ast.conn.WriteToUDPAddrPort(raw, to)
		<-got
	}
	cpu.stop()
}

// BenchmarkUDPSendto is the kernel's part of BenchmarkRelayBrowserToAsterisk:
// one sendto of a 172-byte datagram on loopback.
func BenchmarkUDPSendto(b *testing.B) {
	ast := newFakeAsterisk(b, "127.0.0.1")
	tx := newFakeAsterisk(b, "127.0.0.1")
	to := netip.MustParseAddrPort(ast.addr())
	raw, _ := pcmu(1, 1, 1, 0).Marshal()
	cpu := startCPU(b)
	for b.Loop() {
		tx.conn.WriteToUDPAddrPort(raw, to)
	}
	cpu.stop()
}

// countSink signals every packet it is given.
type countSink chan struct{}

func (c countSink) WriteRTP(*rtp.Packet) error {
	c <- struct{}{}
	return nil
}

// BenchmarkRelayAsteriskToSink: one packet from the fake Asterisk's socket
// through the relay to the browser-side writer, one at a time: the
// latency of one loopback UDP hop plus the relay.
func BenchmarkRelayAsteriskToSink(b *testing.B) {
	m := newTestManager(b, 47400, 47409)
	s, _ := m.openSession("a")
	sink := make(countSink, 1)
	s.down.setSink(sink)
	addr, err := s.AttachCall("c")
	if err != nil {
		b.Fatal(err)
	}
	ast := newFakeAsterisk(b, "127.0.0.1")
	to := netip.MustParseAddrPort(addr)
	raw, _ := pcmu(1, 1, 1, 0).Marshal()
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		ast.conn.WriteToUDPAddrPort(raw, to)
		<-sink
	}
	cpu.stop()
}

// BenchmarkRelayBrowserToAsterisk: the cost of relaying one packet of the
// agent's microphone to Asterisk (rewrite, marshal, sendto).
func BenchmarkRelayBrowserToAsterisk(b *testing.B) {
	m := newTestManager(b, 47410, 47419)
	s, _ := m.openSession("a")
	s.AttachCall("c")
	ast := newFakeAsterisk(b, "127.0.0.1")
	s.SetRemote("c", ast.addr())
	r := s.cur.Load()
	p := pcmu(1, 1, 1, 0)
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; b.Loop(); i++ {
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*160)
		r.fromBrowser(p)
	}
	cpu.stop()
}

// BenchmarkTrackWriteSRTP: pion's part of the Asterisk → browser path, one
// packet written to a connected PeerConnection's track (SRTP encryption and
// sendto), for comparison with the relay's own cost.
func BenchmarkTrackWriteSRTP(b *testing.B) {
	m := newTestManager(b, 47420, 47429)
	openBrowser(b, m, "a")
	s, _ := m.Session("a")
	box := s.down.sink.Load()
	if box == nil {
		b.Fatal("no track")
	}
	track := box.w.(*webrtc.TrackLocalStaticRTP)
	p := pcmu(1, 1, 1, 0)
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; b.Loop(); i++ {
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*160)
		if err := track.WriteRTP(p); err != nil {
			b.Fatal(err)
		}
	}
	cpu.stop()
}

// TestRelayLoad is the load tool: N concurrent calls, each with 50 packets
// a second in both directions, spread evenly over the 20 ms frame, with the
// send time in the first 8 payload bytes. It measures the relay's two paths
// as the agent's track sees them:
//
//   - Asterisk → browser: from the fake Asterisk's sendto, over loopback UDP
//     to the call's relay socket, through the relay, to the moment the
//     packet is handed to the browser track's WriteRTP (a recording stub in
//     place of pion's SRTP write, measured separately by
//     BenchmarkTrackWriteSRTP);
//   - browser → Asterisk: from the moment a packet read from the browser
//     track is handed to the relay (the generator calls the relay as pion's
//     track reader goroutine does), through the relay's sendto, to the
//     fake Asterisk socket's read.
//
// The load generator and the fake Asterisk readers run in the same process
// on the same two cores, so the delays bound the relay's from above.
func TestRelayLoad(t *testing.T) {
	spec := os.Getenv("OMSTIL_RELAY_LOAD")
	if spec == "" {
		t.Skip("load tool: set OMSTIL_RELAY_LOAD=250,500,1000 (concurrent calls) and optionally OMSTIL_RELAY_LOAD_SECONDS (default 10)")
	}
	seconds := 10
	if v := os.Getenv("OMSTIL_RELAY_LOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("OMSTIL_RELAY_LOAD_SECONDS=%q: want a number >= 2", v)
		}
		seconds = n
	}
	t.Logf("%6s %10s %8s %8s %8s %8s %8s %7s  %s", "calls", "direction", "packets", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "lost %", "CPU (whole process)")
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("OMSTIL_RELAY_LOAD: %q is not a number of calls", f)
		}
		runRelayLoad(t, n, time.Duration(seconds)*time.Second)
	}
}

// stampSink stands in for the browser track: it records each packet's delay.
// The relay calls it from one goroutine at a time (under the downlink lock).
type stampSink struct {
	base time.Time
	warm *atomic.Int64
	list []int64
}

func (s *stampSink) WriteRTP(p *rtp.Packet) error {
	now := int64(time.Since(s.base))
	if stamp := int64(binary.BigEndian.Uint64(p.Payload)); stamp >= s.warm.Load() {
		s.list = append(s.list, now-stamp)
	}
	return nil
}

// readStamps reads packets from c, up to 64 per system call, until c is
// closed, recording the delay of those sent after warm.
func readStamps(c *net.UDPConn, base time.Time, warm *atomic.Int64, out *[]int64, wg *sync.WaitGroup) {
	defer wg.Done()
	pc := ipv4.NewPacketConn(c)
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		now := int64(time.Since(base))
		w := warm.Load()
		for _, m := range msgs[:n] {
			if m.N < 12+8 {
				continue
			}
			if stamp := int64(binary.BigEndian.Uint64(m.Buffers[0][12:])); stamp >= w {
				*out = append(*out, now-stamp)
			}
		}
	}
}

func runRelayLoad(t *testing.T, n int, dur time.Duration) {
	const frame = 20 // ms, one packet per call per direction
	m, err := New(Config{PortMin: 50000, PortMax: 50000 + n + 99, LoopbackOnly: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	base := time.Now()
	var warm atomic.Int64 // packets sent before this are not measured
	warm.Store(math.MaxInt64)
	var sentDown, sentUp, skipped atomic.Int64

	// The fake Asterisk: one socket for all calls, batched system calls,
	// so that the load generator costs little next to the relay. (Real
	// Asterisk uses a socket per externalMedia channel; the relay side is
	// the same either way: one socket per call.)
	ast, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ast.Close()
	ast.SetReadBuffer(8 << 20)
	ast.SetWriteBuffer(8 << 20)
	var up []int64
	var readers sync.WaitGroup
	readers.Add(1)
	go readStamps(ast, base, &warm, &up, &readers)

	type call struct {
		relay *net.UDPAddr
		r     *relay
		sink  *stampSink
	}
	calls := make([]call, n)
	for i := range calls {
		s, err := m.openSession(AgentID(fmt.Sprint("agent-", i)))
		if err != nil {
			t.Fatal(err)
		}
		c := &calls[i]
		c.sink = &stampSink{base: base, warm: &warm}
		s.down.setSink(c.sink)
		id := CallID(fmt.Sprint("call-", i))
		addr, err := s.AttachCall(id)
		if err != nil {
			t.Fatal(err)
		}
		c.relay = net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))
		c.r = s.cur.Load()
		if err := s.SetRemote(id, ast.LocalAddr().String()); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{}, 1)
	var senders sync.WaitGroup
	const senderCount = 2
	for g := range senderCount {
		senders.Add(1)
		go func() {
			defer senders.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			pc := ipv4.NewPacketConn(ast)
			batch := make([]ipv4.Message, 0, n/frame+1)
			bufs := make([][]byte, n/frame+1)
			for i := range bufs {
				bufs[i] = make([]byte, 1500)
			}
			down := pcmu(0, 0, 0, 0xFF)
			up := pcmu(0, 0, 0, 0xFF)
			var seq uint16
			t0 := time.Now()
			next := 0 // the next millisecond to send for; late ticks catch up
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				nowMs := int(time.Since(t0) / time.Millisecond)
				if nowMs-next > frame {
					// Starved for more than a frame: skip, as a real
					// sender's clock would, rather than burst.
					skipped.Add(int64(nowMs - frame - next))
					next = nowMs - frame
				}
				for ; next <= nowMs && len(stop) == 0; next++ {
					slot := next % frame
					if slot == 0 {
						seq++
					}
					batch = batch[:0]
					for i := g; i < n; i += senderCount {
						if i%frame != slot {
							continue
						}
						c := &calls[i]
						// Asterisk → relay, sent below in one sendmmsg.
						down.SSRC, down.SequenceNumber, down.Timestamp = uint32(i+1), seq, uint32(seq)*160
						binary.BigEndian.PutUint64(down.Payload, uint64(time.Since(base)))
						buf := bufs[len(batch)]
						k, _ := down.MarshalTo(buf)
						batch = append(batch, ipv4.Message{Buffers: [][]byte{buf[:k]}, Addr: c.relay})
						// A packet read from the browser track, handed to
						// the relay as pion's track reader does.
						up.SSRC, up.SequenceNumber, up.Timestamp = 7, seq, uint32(seq)*160
						binary.BigEndian.PutUint64(up.Payload, uint64(time.Since(base)))
						c.r.fromBrowser(up)
						sentUp.Add(1)
					}
					for len(batch) > 0 {
						k, err := pc.WriteBatch(batch, 0)
						if err != nil {
							break
						}
						sentDown.Add(int64(k))
						batch = batch[k:]
					}
				}
			}
		}()
	}
	// The load runs for dur after one unmeasured second; these waits are
	// the measurement, not waits for a goroutine.
	var before, after syscall.Rusage
	time.Sleep(time.Second)
	sentDown.Store(0)
	sentUp.Store(0)
	skipped.Store(0)
	warm.Store(int64(time.Since(base)))
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	time.Sleep(dur)
	stop <- struct{}{}
	close(stop)
	senders.Wait()
	elapsed := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	// Let the last packets land before the sockets close.
	time.Sleep(100 * time.Millisecond)
	m.Close() // waits for every relay's reader: the sinks are done
	ast.Close()
	readers.Wait()

	if k := skipped.Load(); k > 0 {
		t.Logf("%6d calls: the load generator was starved and skipped %d ms of sending", n, k/senderCount)
	}
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	cores := float64(cpu) / float64(elapsed)
	var down []int64
	for _, c := range calls {
		down = append(down, c.sink.list...)
	}
	for _, d := range []struct {
		name string
		list []int64
		sent int64
	}{{"to-browser", down, sentDown.Load()}, {"to-ast", up, sentUp.Load()}} {
		slices.Sort(d.list)
		q := func(f float64) float64 {
			if len(d.list) == 0 {
				return 0
			}
			return float64(d.list[min(len(d.list)-1, int(f*float64(len(d.list))))]) / 1e6
		}
		lost := 0.0
		if d.sent > 0 {
			lost = 100 * float64(max(0, d.sent-int64(len(d.list)))) / float64(d.sent)
		}
		t.Logf("%6d %10s %8d %8.3f %8.3f %8.3f %8.3f %7.3f  %.2f cores incl. generator; loadavg %s",
			n, d.name, len(d.list), q(0.5), q(0.99), q(0.999), q(1), lost, cores, loadavg())
	}
}

// loadavg is the machine's 1-minute load average: other people's work on a
// shared machine shows in the delays.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
