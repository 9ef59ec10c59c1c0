package softphone

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRelayDelaySampled: one relay socket in stampEvery asks the kernel for
// receive timestamps; the others do not pay for them.
func TestRelayDelaySampled(t *testing.T) {
	p := newPortPool(netip.MustParseAddr("127.0.0.1"), 47160, 47169)
	p.stampEvery = 4
	var got []bool
	for range 8 {
		c, port, err := p.open()
		if err != nil {
			t.Fatal(err)
		}
		defer func() { c.Close(); p.release(port) }()
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var on int
		var gerr error
		raw.Control(func(fd uintptr) { on, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS) })
		if gerr != nil {
			t.Fatal(gerr)
		}
		got = append(got, on != 0)
	}
	want := []bool{true, false, false, false, true, false, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timestamps per opened socket %v, want %v", got, want)
		}
	}
}
