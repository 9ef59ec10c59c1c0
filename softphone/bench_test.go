package softphone

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
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
