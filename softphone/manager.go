package softphone

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Manager holds the sessions of all logged-in agents and the shared pion
// configuration. It is safe for concurrent use.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	api   *webrtc.API
	pcCfg webrtc.Configuration
	ports *portPool
	mux   *mux             // the shared relay socket (Config.SharedPort), or nil
	now   func() time.Time // replaced in tests
	// delay: every relay's time per packet towards the browsers.
	delay delayHist

	mu       sync.Mutex
	control  CallControl
	sessions map[AgentID]*Session
	// leaving: logged out, still closing; their packets still count live.
	// ended: the packet counts of sessions that have closed, so Stats'
	// totals never go down (Prometheus counters).
	leaving map[*Session]bool
	ended   Stats
	closed  bool
}

// New validates cfg and returns a Manager. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	api, err := newAPI(cfg, logger)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:      cfg,
		log:      logger,
		api:      api,
		ports:    newPortPool(netip.MustParseAddr(cfg.RelayHost), cfg.PortMin, cfg.PortMax),
		now:      time.Now,
		sessions: make(map[AgentID]*Session),
	}
	for _, s := range cfg.ICEServers {
		m.pcCfg.ICEServers = append(m.pcCfg.ICEServers, webrtc.ICEServer{
			URLs: s.URLs, Username: s.Username, Credential: s.Credential,
		})
	}
	if cfg.SharedPort {
		at := netip.AddrPortFrom(netip.MustParseAddr(cfg.RelayHost), uint16(cfg.PortMin)).String()
		conn, _, err := m.ports.openAt(at)
		if err != nil {
			return nil, fmt.Errorf("softphone: shared relay port: %w", err)
		}
		if m.mux, err = newMux(conn, logger); err != nil {
			return nil, fmt.Errorf("softphone: shared relay port: %w", err)
		}
	}
	return m, nil
}

// newAPI builds the pion API every PeerConnection shares: PCMU/8000 only,
// RTCP reports, the network settings of cfg.
func newAPI(cfg Config, logger *slog.Logger) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: pcmuRate},
		PayloadType:        payloadPCMU,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("softphone: register PCMU: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("softphone: RTCP reports: %w", err)
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLogs{logger}}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// Remote .local candidates are dropped: the browser's checks reach us
	// anyway and become peer-reflexive candidates; no multicast needed.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if cfg.ICEPortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(uint16(cfg.ICEPortMin), uint16(cfg.ICEPortMax)); err != nil {
			return nil, fmt.Errorf("softphone: ICE port range: %w", err)
		}
	}
	if cfg.PublicIP != "" {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        []string{cfg.PublicIP},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("softphone: public IP: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se)), nil
}

// SetCallControl wires the adapter. Call it before pages connect; until
// then call-control messages get error code "unavailable".
func (m *Manager) SetCallControl(c CallControl) {
	m.mu.Lock()
	m.control = c
	m.mu.Unlock()
}

func (m *Manager) callControl() CallControl {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.control
}

// Serve runs the signalling of one agent page until the connection fails,
// ctx is done, another page of the same agent replaces it (ErrReplaced),
// the session is logged out (ErrLoggedOut) or the Manager closes
// (ErrClosed), or the server's options end it (ErrRevoked; see Authorize
// and Revoke). The caller authenticated agent; it closes conn after Serve
// returns. A call in progress is not affected by Serve returning, unless
// the page was revoked.
func (m *Manager) Serve(ctx context.Context, agent AgentID, conn MessageConn, opts ...ServeOption) error {
	if agent == "" {
		return fmt.Errorf("softphone: Serve: empty agent ID")
	}
	s, err := m.openSession(agent)
	if err != nil {
		return err
	}
	var o serveOptions
	for _, opt := range opts {
		opt(&o)
	}
	return s.serve(ctx, conn, o)
}

// Session returns the session of agent, which exists from the agent's first
// page connection until Logout or Close.
func (m *Manager) Session(agent AgentID) (*Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[agent]
	return s, ok
}

// Reattach takes over a call whose relay a previous omstil process had
// opened at relayAddr (host:port, the externalMedia channel's
// destination, which Asterisk keeps sending to): the agent's session is
// created if the page has not reconnected yet, the relay socket is bound
// on exactly that address and the call attached, so the conversation's
// audio reaches the agent's page as soon as it connects. The address must
// be in the relay range. Reattaching the call that is attached already is
// a no-op.
func (m *Manager) Reattach(agent AgentID, call CallID, relayAddr string) error {
	s, err := m.openSession(agent)
	if err != nil {
		return err
	}
	got, err := s.attach(call, relayAddr)
	if err != nil {
		return err
	}
	want, err := netip.ParseAddrPort(relayAddr)
	if err != nil {
		return fmt.Errorf("softphone: relay address %q: %w", relayAddr, err)
	}
	if a := netip.MustParseAddrPort(got); a.Addr().Unmap() != want.Addr().Unmap() || a.Port() != want.Port() {
		return fmt.Errorf("softphone: call %s is attached at %s, not %s", call, got, relayAddr)
	}
	return nil
}

// openSession returns agent's session, creating it on first use.
func (m *Manager) openSession(agent AgentID) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if s, ok := m.sessions[agent]; ok {
		return s, nil
	}
	s := newSession(m, agent, uint16(rand.Uint32()), rand.Uint32())
	m.sessions[agent] = s
	return s, nil
}

// Logout ends agent's session: the attached call's relay is closed (the
// adapter hangs up the externalMedia channel), the page is told
// "logged-out" and its Serve returns ErrLoggedOut. No-op for an unknown
// agent.
func (m *Manager) Logout(agent AgentID) {
	m.mu.Lock()
	s, ok := m.sessions[agent]
	delete(m.sessions, agent)
	if ok {
		if m.leaving == nil {
			m.leaving = make(map[*Session]bool)
		}
		m.leaving[s] = true
	}
	m.mu.Unlock()
	if !ok {
		return
	}
	s.close(ErrLoggedOut, CodeLoggedOut, "logged out")
	final := s.Stats() // its relays are closed: the counts no longer grow
	m.mu.Lock()
	delete(m.leaving, s)
	m.ended.addPackets(final)
	m.mu.Unlock()
}

// Close ends every session (pages are told "shutdown") and frees every
// relay port. Safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	sessions := m.sessions
	m.sessions = make(map[AgentID]*Session)
	m.mu.Unlock()
	for _, s := range sessions {
		s.close(ErrClosed, CodeShutdown, "omstil is stopping")
	}
	if m.mux != nil {
		m.mux.close()
	}
	return nil
}

// RelayDelay returns the histogram of how long packets from Asterisk spent
// in the relays (kernel arrival on the relay socket, waiting to be read
// included, to the end of the write to the browser's track), over all
// calls since the Manager started. Empty where the OS gives no receive
// timestamps (only Linux does here).
func (m *Manager) RelayDelay() RelayDelay { return m.delay.snapshot() }

// Stats are counters for monitoring.
type Stats struct {
	Sessions      int // agents with a session
	Pages         int // sessions with a page connected
	Calls         int // attached calls (relay ports in use)
	ToBrowser     uint64
	ToAsterisk    uint64
	DroppedNoCall uint64 // browser audio with no call attached (ringing, idle)
	DroppedNoPage uint64 // call audio while the page reloads
	DroppedOther  uint64 // foreign source address, not RTP, not PCMU
	// DroppedForeign is the part of DroppedOther that came from an address
	// that is not the call's Asterisk (on the shared port: no call's).
	DroppedForeign uint64
}

// addPackets adds o's packet counts to st.
func (st *Stats) addPackets(o Stats) {
	st.ToBrowser += o.ToBrowser
	st.ToAsterisk += o.ToAsterisk
	st.DroppedNoCall += o.DroppedNoCall
	st.DroppedNoPage += o.DroppedNoPage
	st.DroppedOther += o.DroppedOther
	st.DroppedForeign += o.DroppedForeign
}

// Stats adds up the counters of all sessions. The packet counts are
// totals since the Manager started, logged-out sessions included.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	list := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		list = append(list, s)
	}
	var leaving []*Session
	for s := range m.leaving {
		leaving = append(leaving, s)
	}
	ended := m.ended
	m.mu.Unlock()
	st := Stats{Sessions: len(list), Calls: m.ports.inUse()}
	st.addPackets(ended)
	for _, s := range leaving {
		st.addPackets(s.Stats())
	}
	if m.mux != nil {
		st.Calls = 0 // the one port is not a call; each attached call counts below
		st.DroppedOther += m.mux.foreign.Load()
		st.DroppedForeign += m.mux.foreign.Load()
	}
	for _, s := range list {
		one := s.Stats()
		if _, ok := s.Call(); ok && m.mux != nil {
			st.Calls++
		}
		st.Pages += one.Pages
		st.addPackets(one)
	}
	return st
}
