package ariclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// Defaults used when the corresponding Config field is zero.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultPingInterval = 10 * time.Second
	DefaultPongTimeout  = 5 * time.Second
	DefaultBackoffMin   = 250 * time.Millisecond
	DefaultBackoffMax   = 10 * time.Second
	DefaultReadLimit    = 16 << 20
	// DefaultMaxConnsPerHost is how many REST connections to Asterisk are
	// open at most, and kept open when idle. Asterisk's HTTP server takes
	// 100 sessions by default (http.conf sessionlimit), the event socket
	// and other clients included. Go's defaults (no cap, 2 kept idle) made
	// a burst of calls dial thousands of connections, and close most.
	DefaultMaxConnsPerHost = 64
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// Config configures a Client. URL, User and Apps are required.
type Config struct {
	// URL is the ARI base URL, e.g. http://127.0.0.1:8088/ari. It must not
	// carry credentials; use User and Password.
	URL string
	// User and Password are sent as HTTP basic auth on every request and on
	// the WebSocket upgrade. They never appear in logs or errors.
	User, Password string
	// Apps are the Stasis applications the event socket registers, e.g.
	// ["omstil"]. One socket serves all of them.
	Apps []string
	// SubscribeAll asks Asterisk for all events, not only those of channels,
	// bridges and endpoints the apps are subscribed to.
	SubscribeAll bool
	// RESTOverWebSocket sends REST calls as RESTRequest messages on the
	// event socket instead of HTTP requests while the socket is up (ARI's
	// REST over WebSocket: Asterisk 20.12, 21.7, 22.2 or later): RESTHTTP
	// (the zero value) never, RESTWebSocket always, RESTAuto when the
	// Asterisk behind the socket is new enough (GET /asterisk/info after
	// every connect). Calls made while the socket is down use HTTP.
	RESTOverWebSocket RESTTransport
	// Timeout bounds every REST call (DefaultTimeout when zero). A shorter
	// deadline on the call's context wins.
	Timeout time.Duration
	// Logger receives connection lifecycle and decode problems. slog.Default()
	// when nil.
	Logger *slog.Logger

	// OnConnect, if set, is called on the event-delivery goroutine after each
	// successful WebSocket connection and before any event of that
	// connection is handed to the Run handler. reconnected is false for the
	// first connection of a Run. Use it to resync state (ListChannels). Events
	// that arrive while it runs are queued, not lost.
	OnConnect func(ctx context.Context, reconnected bool)

	// PingInterval is how often the event socket is pinged
	// (DefaultPingInterval when zero); PongTimeout how long a pong may take
	// before the socket is considered dead and redialled.
	PingInterval, PongTimeout time.Duration
	// BackoffMin and BackoffMax bound the exponential, jittered redial
	// delay (DefaultBackoffMin, DefaultBackoffMax when zero).
	BackoffMin, BackoffMax time.Duration
	// AppCheckInterval is how often, while the socket is open, the client
	// checks that Asterisk really delivers each app's events to it
	// (DefaultAppCheckInterval when zero; negative turns the check off).
	// The first two checks run AppCheckFirst (DefaultAppCheckFirst) and
	// 5×AppCheckFirst after every connect, because Asterisk handles an old
	// socket's close asynchronously and can deactivate the app the new
	// socket has just registered. A lost app closes the socket and redials
	// (Disconnected with ErrAppLost, then Connected{Reconnected: true} and
	// OnConnect, as on any reconnect); Stats().AppLost counts it.
	AppCheckInterval, AppCheckFirst time.Duration
	// AppCheckTimeout is how long a check waits for its probe event to come
	// back on the socket (DefaultAppCheckTimeout when zero); it tries twice.
	AppCheckTimeout time.Duration
	// ReadLimit is the largest event message accepted (DefaultReadLimit when
	// zero). An event larger than this closes the socket, so keep it large.
	ReadLimit int64
	// MaxConnsPerHost caps the REST connections to Asterisk and is also how
	// many are kept open while idle (DefaultMaxConnsPerHost when zero;
	// negative: no cap, Go's default of 2 kept idle). A call that finds
	// every connection busy waits for one, within its timeout. Keep it
	// below Asterisk's http.conf sessionlimit. Ignored when HTTPClient is
	// set.
	MaxConnsPerHost int
	// HTTPClient, if set, is used for REST calls and the WebSocket dial. Its
	// own Timeout should be zero; Config.Timeout is applied per call. Its
	// transport's pooling is the caller's (see MaxIdleConnsPerHost).
	HTTPClient *http.Client
}

// Client is a thin ARI client: REST calls with per-call timeouts and one
// event WebSocket with reconnect. It is safe for concurrent use.
type Client struct {
	base    *url.URL // scheme://host/path without trailing slash
	baseURL string   // base.String()
	auth    []string // "Basic …" Authorization header value, built once
	apps    []string
	subAll  bool
	timeout time.Duration
	log     *slog.Logger
	http    *http.Client
	wsHTTP  *http.Client // HTTP/1.1 only: a WebSocket upgrade cannot ride HTTP/2

	onConnect    func(ctx context.Context, reconnected bool)
	pingInterval time.Duration
	pongTimeout  time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	readLimit    int64

	appCheckInterval time.Duration // < 0: off
	appCheckFirst    time.Duration
	appCheckTimeout  time.Duration
	probe            *probes
	probeUnsupported atomic.Bool // the server answered POST /events/user with 404/405/501

	restMode   RESTTransport
	restOverWS atomic.Bool // REST calls go over the socket while it is up
	rws        restWS

	connected atomic.Bool
	running   atomic.Bool
	stats     counters

	closeOnce sync.Once
	closed    chan struct{}
}

// New validates cfg and returns a Client. It does not contact Asterisk.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("ariclient: Config.URL is empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Parse's error quotes the input, which may hold a password.
		return nil, errors.New("ariclient: Config.URL does not parse")
	}
	if u.User != nil {
		return nil, errors.New("ariclient: Config.URL must not contain credentials; set User and Password")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ariclient: Config.URL scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("ariclient: Config.URL has no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("ariclient: Config.URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if cfg.User == "" {
		return nil, errors.New("ariclient: Config.User is empty")
	}
	if len(cfg.Apps) == 0 {
		return nil, errors.New("ariclient: Config.Apps is empty")
	}
	for _, a := range cfg.Apps {
		if a == "" || strings.ContainsAny(a, ",/?&# ") {
			return nil, fmt.Errorf("ariclient: invalid app name %q", a)
		}
	}
	switch cfg.RESTOverWebSocket {
	case RESTHTTP, RESTWebSocket, RESTAuto:
	default:
		return nil, fmt.Errorf("ariclient: Config.RESTOverWebSocket %d is not a RESTTransport", cfg.RESTOverWebSocket)
	}
	c := &Client{
		base:         u,
		apps:         append([]string(nil), cfg.Apps...),
		subAll:       cfg.SubscribeAll,
		timeout:      orDuration(cfg.Timeout, DefaultTimeout),
		log:          cfg.Logger,
		http:         cfg.HTTPClient,
		onConnect:    cfg.OnConnect,
		pingInterval: orDuration(cfg.PingInterval, DefaultPingInterval),
		pongTimeout:  orDuration(cfg.PongTimeout, DefaultPongTimeout),
		backoffMin:   orDuration(cfg.BackoffMin, DefaultBackoffMin),
		backoffMax:   orDuration(cfg.BackoffMax, DefaultBackoffMax),
		readLimit:    cfg.ReadLimit,
		restMode:     cfg.RESTOverWebSocket,

		appCheckInterval: cfg.AppCheckInterval,
		appCheckFirst:    orDuration(cfg.AppCheckFirst, DefaultAppCheckFirst),
		appCheckTimeout:  orDuration(cfg.AppCheckTimeout, DefaultAppCheckTimeout),
		probe:            newProbes(),
		closed:           make(chan struct{}),
	}
	c.baseURL = u.String()
	c.auth = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password))}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.http == nil {
		rest := http.DefaultTransport.(*http.Transport).Clone()
		switch n := cfg.MaxConnsPerHost; {
		case n == 0:
			n = DefaultMaxConnsPerHost
			fallthrough
		case n > 0:
			rest.MaxConnsPerHost = n
			rest.MaxIdleConnsPerHost = n
			rest.MaxIdleConns = max(rest.MaxIdleConns, n)
		}
		c.http = &http.Client{Transport: rest}
		ws := http.DefaultTransport.(*http.Transport).Clone()
		ws.ForceAttemptHTTP2 = false
		ws.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		c.wsHTTP = &http.Client{Transport: ws}
	} else {
		c.wsHTTP = c.http
	}
	if c.appCheckInterval == 0 {
		c.appCheckInterval = DefaultAppCheckInterval
	}
	if c.readLimit <= 0 {
		c.readLimit = DefaultReadLimit
	}
	if c.backoffMax < c.backoffMin {
		c.backoffMax = c.backoffMin
	}
	return c, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Apps returns the applications the client registers.
func (c *Client) Apps() []string { return append([]string(nil), c.apps...) }

// Connected reports whether the event socket is currently connected.
func (c *Client) Connected() bool { return c.connected.Load() }

// Close stops a running Run, closes idle HTTP connections and makes further
// REST calls fail with ErrClosed. It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.http.CloseIdleConnections()
		c.wsHTTP.CloseIdleConnections()
	})
	return nil
}

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("ariclient: client closed")

func (c *Client) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Error is a non-2xx answer from ARI. Message is Asterisk's
// {"message": ...} body, or the raw body if it was not that shape. Path is
// the request path without the query string (the query may hold a citizen's
// number).
type Error struct {
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("ari: %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// StatusOf returns the HTTP status of an ARI error, or 0 if err is not one.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is ARI's 404 (no such channel, bridge,
// playback ...).
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is ARI's 409 (e.g. the channel is not in a
// Stasis application, or an ID is already in use).
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// IsPreconditionFailed reports whether err is ARI's 412 (e.g. the channel is
// in a state that does not allow the operation).
func IsPreconditionFailed(err error) bool { return StatusOf(err) == http.StatusPreconditionFailed }

// IsUnauthorized reports whether err is a 401 (wrong user or password).
func IsUnauthorized(err error) bool { return StatusOf(err) == http.StatusUnauthorized }

// endpoint returns the full URL for an escaped ARI path like
// "/channels/x%2Fy/answer".
func (c *Client) endpoint(path string, q url.Values) string {
	s := c.baseURL + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// variablesBody is the {"variables": {...}} body ARI takes for channel and
// bridge variables on creation.
func variablesBody(vars map[string]string) any {
	if len(vars) == 0 {
		return nil
	}
	return struct {
		Variables map[string]string `json:"variables"`
	}{vars}
}

// do performs one REST call. path is relative to the base URL and already
// escaped; q and body are optional; out, if not nil, receives the JSON answer.
// It goes over the event socket when Config.RESTOverWebSocket says so.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	return c.doVia(ctx, c.restOverWS.Load(), method, path, q, body, out)
}

// doHTTP is do over HTTP whatever the transport: for the app check, which
// must not depend on the socket it checks (Asterisk sends a socket's REST
// answers through its first app, and drops them once that app is lost).
func (c *Client) doHTTP(ctx context.Context, method, path string, q url.Values, body, out any) error {
	return c.doVia(ctx, false, method, path, q, body, out)
}

func (c *Client) doVia(ctx context.Context, onSocket bool, method, path string, q url.Values, body, out any) error {
	if c.isClosed() {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("ari: %s %s: encode body: %w", method, path, err)
		}
		payload = b
	}
	c.stats.restCalls.Add(1)
	if onSocket {
		if a, ok := c.rws.call(ctx, method, path, q, payload); ok {
			c.stats.restOnSocket.Add(1)
			if a.err != nil {
				c.stats.restErrors.Add(1)
				return fmt.Errorf("ari: %s %s: %w", method, path, a.err)
			}
			return c.answer(method, path, a.status, a.body, out)
		}
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, q), rd)
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	// The header values are shared, read-only slices: no per-call
	// base64 or canonicalisation.
	req.Header["Authorization"] = c.auth
	req.Header["Accept"] = jsonMIME
	if body != nil {
		req.Header["Content-Type"] = jsonMIME
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.stats.restErrors.Add(1)
		// *url.Error quotes the full URL, whose query may hold a phone
		// number; report the path only and keep the cause for errors.Is.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if (resp.StatusCode < 200 || resp.StatusCode > 299) || out == nil {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return c.answer(method, path, resp.StatusCode, raw, out)
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		c.stats.restErrors.Add(1)
		return fmt.Errorf("ari: %s %s: read body: %w", method, path, err)
	}
	// Unmarshal copies what it keeps (strings, RawMessage), so buf can be
	// reused.
	return c.answer(method, path, resp.StatusCode, buf.Bytes(), out)
}

// answer turns a REST answer, over HTTP or the event socket, into out or
// an error.
func (c *Client) answer(method, path string, status int, raw []byte, out any) error {
	if status < 200 || status > 299 {
		c.stats.restErrors.Add(1)
		if len(raw) > maxErrorBody {
			raw = raw[:maxErrorBody]
		}
		return &Error{Method: method, Path: path, Status: status, Message: errorMessage(raw)}
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("ari: %s %s: empty body, want JSON", method, path)
	}
	// JSON v2 in encoding/json's semantics, as the events (decode).
	if err := jsonv2.Unmarshal(raw, out, jsonV1); err != nil {
		return fmt.Errorf("ari: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

var jsonMIME = []string{"application/json"}

// bodyBuffers holds read buffers for REST answers.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > maxKeptReadBuffer { // a huge ListChannels answer is not kept
		return
	}
	bodyBuffers.Put(b)
}

// errorMessage extracts Asterisk's {"message": "..."}; otherwise it returns
// the trimmed body.
func errorMessage(raw []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Message != "" {
		return m.Message
	}
	return strings.TrimSpace(string(raw))
}
