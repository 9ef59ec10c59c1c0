package softphone

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Default relay port range, used when both PortMin and PortMax are zero. It
// stays clear of Asterisk's own default RTP range (10000-20000).
const (
	DefaultPortMin = 40000
	DefaultPortMax = 44999
)

// DefaultRelayHost is the address relay sockets bind to when
// Config.RelayHost is empty: Asterisk on the same host.
const DefaultRelayHost = "127.0.0.1"

// Config configures the media bridge.
type Config struct {
	// PortMin and PortMax bound the UDP ports of the relay sockets (one per
	// call in progress), inclusive. Both zero means DefaultPortMin..DefaultPortMax.
	PortMin, PortMax int

	// ICEPortMin and ICEPortMax optionally bound the UDP ports pion uses for
	// the browsers' ICE connections (one per connected agent page), for a
	// firewall. Both zero means ephemeral ports chosen by the OS.
	ICEPortMin, ICEPortMax int

	// ICEServers are STUN/TURN servers, used by pion to gather its own
	// candidates and handed to the agent page in the welcome message. Empty
	// is right on a municipal LAN: host candidates only.
	ICEServers []ICEServer

	// PublicIP, when set, replaces the host candidates' address (1:1 NAT,
	// e.g. a cloud VM with a public address mapped to a private one).
	PublicIP string

	// LoopbackOnly makes pion gather 127.0.0.1 candidates only. For tests.
	LoopbackOnly bool

	// SharedPort relays the audio of every browser call through one UDP
	// socket on RelayHost:PortMin, read and written in batches, instead of
	// a socket per call: far fewer system calls, so about twice the calls
	// with p99 < 2 ms on a small machine (docs/performance.md). Calls are told apart by Asterisk's
	// RTP address for each (the externalMedia channel's
	// UNICASTRTP_LOCAL_ADDRESS/PORT), so omstil must see that address
	// unchanged: no NAT between Asterisk and omstil. Keep it (and PortMin)
	// unchanged across a restart, as the port range.
	SharedPort bool

	// RelayHost is the IP address the relay sockets bind to, and so the
	// address Asterisk sends the call's RTP to (ARI externalMedia
	// external_host). Default DefaultRelayHost.
	RelayHost string
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	// URLs like "stun:stun.example.dk:3478" or
	// "turn:turn.example.dk:3478?transport=udp".
	URLs []string `json:"urls"`
	// Username and Credential are required for turn: and turns: URLs.
	Username   string `json:"username,omitempty"`
	Credential string `json:"credential,omitempty"`
}

// Validate reports every problem in c at once, or nil. It does not change c;
// see withDefaults for the defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("softphone: "+format, args...))
	}
	min, max := c.PortMin, c.PortMax
	if min == 0 && max == 0 {
		min, max = DefaultPortMin, DefaultPortMax
	}
	if err := checkRange("relay port range (PortMin-PortMax)", min, max); err != nil {
		errs = append(errs, err)
	}
	if c.ICEPortMin != 0 || c.ICEPortMax != 0 {
		if err := checkRange("ICE port range (ICEPortMin-ICEPortMax)", c.ICEPortMin, c.ICEPortMax); err != nil {
			errs = append(errs, err)
		} else if c.ICEPortMin <= max && min <= c.ICEPortMax {
			bad("ICE port range %d-%d overlaps the relay port range %d-%d", c.ICEPortMin, c.ICEPortMax, min, max)
		}
	}
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			bad("ICE server %d has no URL", i+1)
		}
		for _, u := range s.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch scheme {
			case "stun", "stuns":
			case "turn", "turns":
				if s.Username == "" || s.Credential == "" {
					bad("ICE server %q needs a username and a credential", u)
				}
			default:
				bad("ICE server URL %q must start with stun:, stuns:, turn: or turns:", u)
			}
		}
	}
	if c.PublicIP != "" {
		ip, err := netip.ParseAddr(c.PublicIP)
		switch {
		case err != nil:
			bad("PublicIP %q is not an IP address", c.PublicIP)
		case ip.IsUnspecified() || ip.IsLoopback():
			bad("PublicIP %q must be a routable address", c.PublicIP)
		}
		if c.LoopbackOnly {
			bad("PublicIP and LoopbackOnly cannot both be set")
		}
	}
	if c.RelayHost != "" {
		ip, err := netip.ParseAddr(c.RelayHost)
		switch {
		case err != nil:
			bad("RelayHost %q is not an IP address (the address Asterisk sends RTP to)", c.RelayHost)
		case ip.IsUnspecified():
			bad("RelayHost %q must be a concrete address Asterisk can send to, not a wildcard", c.RelayHost)
		case c.LoopbackOnly && !ip.IsLoopback():
			bad("RelayHost %q must be a loopback address when LoopbackOnly is set", c.RelayHost)
		}
	}
	return errors.Join(errs...)
}

func checkRange(what string, min, max int) error {
	switch {
	case min < 1 || max > 65535:
		return fmt.Errorf("softphone: %s %d-%d must lie within 1-65535", what, min, max)
	case min > max:
		return fmt.Errorf("softphone: %s %d-%d is empty: min is above max", what, min, max)
	}
	return nil
}

// withDefaults returns c with empty fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.PortMin == 0 && c.PortMax == 0 {
		c.PortMin, c.PortMax = DefaultPortMin, DefaultPortMax
	}
	if c.RelayHost == "" {
		c.RelayHost = DefaultRelayHost
	}
	return c
}
