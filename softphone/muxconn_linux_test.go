package softphone

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func newTestMuxConn(t *testing.T, network, addr string) *muxConn {
	t.Helper()
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("no %s socket on %s here: %v", network, addr, err)
	}
	enableRxTime(conn)
	c, err := newMuxConn(conn)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.closeRead(); c.closeWrite() })
	return c
}

// readAll reads from c until want packets have come or nothing comes for
// a while; it returns the payloads' first bytes by source.
func readAll(t *testing.T, c *muxConn, want int) map[netip.AddrPort][]byte {
	t.Helper()
	got := map[netip.AddrPort][]byte{}
	n := 0
	for n < want {
		c.out.conn.SetReadDeadline(time.Now().Add(waitFor))
		k, err := c.readBatch()
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", n, want, err)
		}
		for i := range k {
			b, src, at := c.packet(i)
			if at.IsZero() {
				t.Errorf("packet from %s has no receive time", src)
			}
			got[src] = append(got[src], b[0])
			n++
		}
	}
	return got
}

// TestMuxConnSteersEveryPacketToReader: the writing socket shares the
// port, and still every packet sent to the port is read by the reading
// socket, from many sources (the reuseport group would otherwise spread
// them over both sockets by a hash of the source, and about half would
// never be read).
func TestMuxConnSteersEveryPacketToReader(t *testing.T) {
	c := newTestMuxConn(t, "udp4", "127.0.0.1:0")
	if c.out.fd < 0 {
		t.Fatal("no writing socket: the shared port writes from the reading one")
	}
	to := c.out.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	var senders []*fakeAsterisk
	for range 40 {
		senders = append(senders, newFakeAsterisk(t, "127.0.0.1"))
	}
	for round := range 5 {
		for i, s := range senders {
			s.sendRaw(to.String(), []byte{byte(i), byte(round)})
		}
	}
	got := readAll(t, c, 5*len(senders))
	for i, s := range senders {
		src := netip.MustParseAddrPort(s.addr())
		if len(got[src]) != 5 || got[src][0] != byte(i) {
			t.Errorf("from %s: got %v, want 5 packets starting %d", src, got[src], i)
		}
	}
}

// TestMuxConnWritesFromThePort: the agents' audio leaves from the shared
// port's own address (Asterisk's strict RTP and symmetric RTP expect
// that), each packet to its own address; a packet for an address the
// socket cannot reach is skipped and the rest still go out.
func TestMuxConnWritesFromThePort(t *testing.T) {
	for _, noSendSocket := range []bool{false, true} {
		name := "writing socket"
		if noSendSocket {
			name = "from the reading socket"
		}
		t.Run(name, func(t *testing.T) {
			c := newTestMuxConn(t, "udp4", "127.0.0.1:0")
			if noSendSocket {
				c.closeWrite()
			}
			a, b := newFakeAsterisk(t, "127.0.0.1"), newFakeAsterisk(t, "127.0.0.1")
			out := []outPacket{
				packetTo(t, a, 0xA1),
				{buf: bufferWith(0xEE), n: 12, to: netip.MustParseAddrPort("[2001:db8::1]:4000")},
				packetTo(t, b, 0xB1),
				packetTo(t, a, 0xA2),
			}
			calls, failed, err := c.writeBatch(out)
			if failed != 1 || err == nil {
				t.Errorf("writeBatch: %d failed (%v), want the IPv6 packet refused", failed, err)
			}
			if calls < 1 {
				t.Errorf("writeBatch: %d system calls", calls)
			}
			port := c.out.conn.LocalAddr().(*net.UDPAddr).AddrPort()
			for _, w := range []struct {
				ast  *fakeAsterisk
				want byte
			}{{a, 0xA1}, {a, 0xA2}, {b, 0xB1}} {
				buf := make([]byte, 64)
				w.ast.conn.SetReadDeadline(time.Now().Add(waitFor))
				n, from, err := w.ast.conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("%s: %v", w.ast.addr(), err)
				}
				if n != 12 || buf[0] != w.want {
					t.Errorf("%s got %d bytes starting %x, want 12 starting %x", w.ast.addr(), n, buf[0], w.want)
				}
				if from != port {
					t.Errorf("%s: packet came from %s, want the shared port %s", w.ast.addr(), from, port)
				}
			}
		})
	}
}

// TestMuxConnDualStack: on an IPv6 wildcard socket (RTP_HOST "::"), IPv4
// peers are read as plain IPv4 addresses (as SetRemote registers them)
// and written to through their mapped form.
func TestMuxConnDualStack(t *testing.T) {
	c := newTestMuxConn(t, "udp", "[::]:0")
	if c.out.fd < 0 {
		t.Fatal("no writing socket on the IPv6 port")
	}
	port := c.out.conn.LocalAddr().(*net.UDPAddr).Port
	a := newFakeAsterisk(t, "127.0.0.1")
	a.sendRaw(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String(), []byte{0x42})
	got := readAll(t, c, 1)
	src := netip.MustParseAddrPort(a.addr())
	if len(got[src]) != 1 {
		t.Fatalf("read %v, want one packet from %s (unmapped)", got, src)
	}
	if _, failed, err := c.writeBatch([]outPacket{packetTo(t, a, 0x43)}); failed != 0 {
		t.Fatalf("write to %s: %v", src, err)
	}
	buf := make([]byte, 64)
	a.conn.SetReadDeadline(time.Now().Add(waitFor))
	if n, _, err := a.conn.ReadFromUDPAddrPort(buf); err != nil || n != 12 || buf[0] != 0x43 {
		t.Fatalf("IPv4 peer of the IPv6 port: %d bytes %x, %v", n, buf[0], err)
	}
}

// TestMuxConnClosed: closing the port ends a waiting read with
// net.ErrClosed, which stops the mux's reader.
func TestMuxConnClosed(t *testing.T) {
	c := newTestMuxConn(t, "udp4", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { _, err := c.readBatch(); done <- err }()
	time.Sleep(20 * time.Millisecond) // let it wait (not needed for the result)
	c.closeRead()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed port: %v, want net.ErrClosed", err)
		}
	case <-time.After(waitFor):
		t.Fatal("a read went on waiting after the port closed")
	}
}

func bufferWith(first byte) *[]byte {
	b := make([]byte, 1500)
	b[0] = first
	return &b
}

func packetTo(t *testing.T, a *fakeAsterisk, first byte) outPacket {
	t.Helper()
	return outPacket{buf: bufferWith(first), n: 12, to: netip.MustParseAddrPort(a.addr())}
}

// TestSenderSharesTheCallsPort: a call's own relay socket writes from
// a second socket on its address; every packet sent to the address is
// still read from the first (40 sources: spread over both sockets by
// hash, about half would be lost), and the call's audio leaves from the
// address, to whichever destination it is given.
func TestSenderSharesTheCallsPort(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := newSender(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if s.fd < 0 {
		t.Fatal("no second socket: the call's audio is written from the polled one")
	}
	port := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	var senders []*fakeAsterisk
	for i := range 40 {
		a := newFakeAsterisk(t, "127.0.0.1")
		a.sendRaw(port.String(), []byte{byte(i)})
		senders = append(senders, a)
	}
	buf := make([]byte, 64)
	for range senders {
		conn.SetReadDeadline(time.Now().Add(waitFor))
		if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("not every packet reached the call's socket: %v", err)
		}
	}
	for i, a := range senders[:3] {
		if err := s.send([]byte{0xC0, byte(i)}, netip.MustParseAddrPort(a.addr())); err != nil {
			t.Fatal(err)
		}
		a.conn.SetReadDeadline(time.Now().Add(waitFor))
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil || n != 2 || buf[1] != byte(i) {
			t.Fatalf("%s: %d bytes %x, %v", a.addr(), n, buf[:n], err)
		}
		if from != port {
			t.Errorf("%s: the call's audio came from %s, want its relay address %s", a.addr(), from, port)
		}
	}
	if err := s.send([]byte{1}, netip.MustParseAddrPort("[2001:db8::1]:4000")); err == nil {
		t.Error("an IPv4 relay socket sent to an IPv6 address")
	}
}
