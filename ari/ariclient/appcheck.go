package ariclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the app check (see Config.AppCheckInterval).
const (
	DefaultAppCheckFirst    = time.Second
	DefaultAppCheckInterval = 30 * time.Second
	DefaultAppCheckTimeout  = 2 * time.Second
)

// ErrAppLost is the cause in a *Disconnected event when the client closed
// a socket that was still open because Asterisk no longer delivered an
// app's events to it. Test with errors.Is.
var ErrAppLost = errors.New("ariclient: Stasis app not active for this socket")

// probePrefix starts the name of the user events the client sends itself
// to check an app. Such ChannelUserevents are consumed by the client (any
// client's, so two processes sharing an app do not see each other's) and
// counted in Stats().Probes, never handed to the Run handler.
const probePrefix = "ariclient-probe-"

// Why the app check exists (seen on Asterisk 22.10.1): when a socket
// registers an app while an older socket for the same app is still
// closing, Asterisk logs "Replacing Stasis app", then handles the old
// socket's close and logs "Deactivating Stasis app": the app's handler is
// gone, every Stasis(app) fails with "not active", yet the new socket stays
// open and silent. The app object itself stays registered while it still
// has subscriptions (channels in Stasis, device states), so GET
// /applications/{app} keeps answering 200; it answers 404 only once nothing
// is left. The check therefore asks for the app (404 = lost) and then sends
// a user event to it (POST /events/user/{name}?application=app), which
// Asterisk delivers only through an active app's handler: if it does not
// come back on this socket, the app is lost for this socket.

// probes matches probe events read from the socket with the checks
// waiting for them.
type probes struct {
	token string // random, per Client

	mu      sync.Mutex
	seq     uint64
	waiting map[string]chan struct{}
}

func newProbes() *probes {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &probes{token: hex.EncodeToString(b[:]), waiting: map[string]chan struct{}{}}
}

// add registers a new probe name and returns it with its channel, closed
// when the event arrives.
func (p *probes) add() (string, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	name := probePrefix + p.token + "-" + strconv.FormatUint(p.seq, 10)
	ch := make(chan struct{})
	p.waiting[name] = ch
	return name, ch
}

func (p *probes) remove(name string) {
	p.mu.Lock()
	delete(p.waiting, name)
	p.mu.Unlock()
}

// arrived is called by the reader for every probe event.
func (p *probes) arrived(name string) {
	p.mu.Lock()
	ch := p.waiting[name]
	delete(p.waiting, name)
	p.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// isProbe reports whether ev is a probe event (the client's own or another
// client's).
func isProbe(ev Event) (string, bool) {
	if u, ok := ev.(*ChannelUserevent); ok && strings.HasPrefix(u.EventName, probePrefix) {
		return u.EventName, true
	}
	return "", false
}

// watchApps checks the apps AppCheckFirst and 5×AppCheckFirst after the
// socket opened, then every AppCheckInterval. When an app is lost it
// reports why on lost and closes conn with a close handshake, so that the
// reader returns; otherwise it runs until ctx is done.
func (c *Client) watchApps(ctx context.Context, closeConn func(reason string), lost chan<- error) {
	if c.appCheckInterval < 0 {
		return
	}
	for i := 0; ; i++ {
		d := c.appCheckInterval
		switch i {
		case 0:
			d = c.appCheckFirst
		case 1:
			d = 4 * c.appCheckFirst
		}
		if !waitFor(ctx, d) {
			return
		}
		err := c.CheckApps(ctx)
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, ErrAppLost) {
			if err != nil {
				c.log.Debug("ari: app check inconclusive", "err", err)
			}
			continue
		}
		lost <- err
		closeConn("app not active")
		return
	}
}

// CheckApps checks now that Asterisk delivers every configured app's
// events to the client's event socket (the check Run repeats on its own,
// see Config.AppCheckInterval). It returns nil if so, an error wrapping
// ErrAppLost for the first app that is not, or the REST error if a check
// could not tell. Good for readiness, and for tests that must not place a
// call before the app is active. It needs a running Run: without a socket
// every app is lost.
func (c *Client) CheckApps(ctx context.Context) error {
	c.stats.appChecks.Add(1)
	var inconclusive error
	for _, app := range c.apps {
		reason, err := c.checkApp(ctx, app)
		switch {
		case reason != "":
			return fmt.Errorf("%w: %s: %s", ErrAppLost, app, reason)
		case err != nil && inconclusive == nil:
			inconclusive = fmt.Errorf("ariclient: check app %s: %w", app, err)
		}
	}
	return inconclusive
}

// checkApp returns a non-empty reason if app is lost for this socket, or
// an error if the check could not tell.
func (c *Client) checkApp(ctx context.Context, app string) (reason string, err error) {
	// Both requests go over HTTP, not the socket under test: Asterisk
	// 22.10.1 sends the RESTResponse of a request made on the socket
	// through the socket's first app (res/ari/ari_websocket_requests.c
	// send_rest_response → ari_websocket_send_event →
	// stasis_app_event_allowed), and drops it once that app is gone, so
	// a lost app made every check over the socket time out ("cannot
	// tell") and the socket stayed open and deaf.
	if err := c.doHTTP(ctx, http.MethodGet, "/applications/"+url.PathEscape(app), nil, nil, &Application{}); err != nil {
		if IsNotFound(err) {
			return "GET /applications/" + app + ": 404, not registered", nil
		}
		return "", err
	}
	if c.probeUnsupported.Load() {
		return "", nil
	}
	// Two probes: the second waits for either, so an event that is merely
	// slow (a busy Asterisk) does not count as lost.
	var got []chan struct{}
	for try := 0; try < 2; try++ {
		name, ch := c.probe.add()
		defer c.probe.remove(name)
		got = append(got, ch)
		q := url.Values{"application": {app}}
		if err := c.doHTTP(ctx, http.MethodPost, "/events/user/"+url.PathEscape(name), q, nil, nil); err != nil {
			var e *Error
			switch {
			case IsNotFound(err) && errors.As(err, &e) && strings.Contains(e.Message, "Application"):
				return "POST /events/user: 404 " + e.Message, nil
			case StatusOf(err) == http.StatusNotFound || StatusOf(err) == http.StatusMethodNotAllowed || StatusOf(err) == http.StatusNotImplemented:
				if c.probeUnsupported.CompareAndSwap(false, true) {
					c.log.Info("ari: ARI server has no user events; the app check uses GET /applications only", "status", StatusOf(err))
				}
				return "", nil
			}
			return "", err
		}
		if waitAny(ctx, c.appCheckTimeout, got) {
			return "", nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	return fmt.Sprintf("a user event sent to the app did not come back on this socket within 2×%s", c.appCheckTimeout), nil
}

// waitAny waits up to d for one of chs to close.
func waitAny(ctx context.Context, d time.Duration, chs []chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	// At most two channels: select on both (the same one twice if one).
	a, b := chs[0], chs[len(chs)-1]
	select {
	case <-a:
		return true
	case <-b:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
