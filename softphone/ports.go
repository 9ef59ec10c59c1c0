package softphone

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned (wrapped) by AttachCall when every port of the relay
// range is in use.
var ErrNoPorts = errors.New("softphone: no free relay port")

// portPool hands out UDP sockets bound to host:port with port in [min, max].
// Ports are handed out round robin, so a port freed by one call is the last
// to be reused and late RTP for an ended call does not reach the next one.
type portPool struct {
	host     netip.Addr
	min, max int
	// stampEvery: every stampEvery-th socket asks for kernel receive
	// timestamps (the relay-delay histogram); a sample, because the stamps
	// cost each packet ~2-4 µs of CPU here. 1 stamps every socket.
	stampEvery int
	opened     int

	mu   sync.Mutex
	next int
	used map[int]bool
}

func newPortPool(host netip.Addr, min, max int) *portPool {
	return &portPool{host: host, min: min, max: max, next: min, used: make(map[int]bool), stampEvery: defaultStampEvery}
}

// defaultStampEvery: one call in eight is sampled for the relay delay.
const defaultStampEvery = 8

// open binds a UDP socket on a free port of the range.
func (p *portPool) open() (*net.UDPConn, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := p.max - p.min + 1
	var lastErr error
	for range size {
		port := p.next
		p.next++
		if p.next > p.max {
			p.next = p.min
		}
		if p.used[port] {
			continue
		}
		conn, err := p.bindLocked(port)
		if err != nil {
			// Someone outside omstil holds it; skip it this round.
			lastErr = err
			continue
		}
		return conn, port, nil
	}
	err := fmt.Errorf("%w in %d-%d on %s (%d of %d in use by calls)", ErrNoPorts, p.min, p.max, p.host, len(p.used), size)
	if lastErr != nil {
		err = fmt.Errorf("%w; last bind error: %v", err, lastErr)
	}
	return nil, 0, err
}

// openAt binds the relay socket on exactly addr (host:port), which must be
// the pool's host and a free port of its range: a call's relay taken over
// by a restarted omstil, where Asterisk still sends to the old address.
func (p *portPool) openAt(addr string) (*net.UDPConn, int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("softphone: relay address %q: %w", addr, err)
	}
	port := int(ap.Port())
	if ap.Addr().Unmap() != p.host || port < p.min || port > p.max {
		return nil, 0, fmt.Errorf("softphone: relay address %s is not in %s:%d-%d", addr, p.host, p.min, p.max)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[port] {
		return nil, 0, fmt.Errorf("softphone: relay port %d is in use by another call", port)
	}
	conn, err := p.bindLocked(port)
	if err != nil {
		return nil, 0, fmt.Errorf("softphone: relay address %s: %w", addr, err)
	}
	return conn, port, nil
}

// bindLocked binds host:port, samples it for receive timestamps and marks
// the port used. Under p.mu.
func (p *portPool) bindLocked(port int) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.host, uint16(port))))
	if err != nil {
		return nil, err
	}
	if p.opened%max(p.stampEvery, 1) == 0 {
		enableRxTime(conn)
	}
	p.opened++
	p.used[port] = true
	return conn, nil
}

// release returns a port to the pool. The caller has closed its socket.
func (p *portPool) release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

func (p *portPool) inUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}
