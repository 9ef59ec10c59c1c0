// Package doctor checks an omstil installation from end to end: the
// database, Asterisk and ARI, the dialplan, the channel variable, media,
// sounds, the softphone's ports, the clock and the disk. `omstil doctor`
// prints one line per check; each problem comes with its fix.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/omstil/omstil/ari/ariclient"
)

// Status of one check.
type Status string

// Statuses. A Fail makes the command exit non-zero; Warn is worth reading;
// Skip says why a check could not run.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "FAIL"
	Skip Status = "skip"
)

// Result is the outcome of one check: what was found and, when it is not
// OK, what to do.
type Result struct {
	Check  string
	Status Status
	Detail string
	Fix    string
}

// Config is what the checks look at.
type Config struct {
	// Schema returns the database's schema version and the one this binary
	// knows; nil skips the check. An error means the database cannot be
	// reached.
	Schema func(ctx context.Context) (current, known int, err error)
	// DataDir is the directory of the SQLite file, for the disk check;
	// empty (PostgreSQL) skips it.
	DataDir string

	// ARI is how to reach Asterisk (URL, user, password); App the Stasis
	// application omstil registers (OMSTIL_ARI_APP).
	ARI ariclient.Config
	App string
	// NeedPJSIP: agents or trunks dial PJSIP endpoints, so chan_pjsip must
	// be loaded.
	NeedPJSIP bool
	// Sounds are the sounds of Asterisk's packs omstil plays
	// (ari.AsteriskSounds); Language the one citizens hear ("da").
	Sounds   []string
	Language string

	// Probe, when not nil, places a test call: it is used only while no
	// omstil holds the Stasis application (a running omstil would take
	// the call). ServeMedia, when not nil, serves omstil's media on the
	// media URL for the probe's playback (omstil is not running then, so
	// its address is free) and returns a stop function.
	Probe      *Probe
	ServeMedia func() (stop func(), err error)

	// Softphone relay: the address Asterisk sends RTP to and the port
	// range the relay uses.
	RTPHost          string
	RTPMin, RTPMax   int
	RTPShared        bool
	Now              func() time.Time
	MaxClockSkew     time.Duration // default 2 s
	MinFreeBytes     uint64        // fail below; default 100 MiB
	WarnFreeBytes    uint64        // warn below; default 1 GiB
	ProbeTimeout     time.Duration // default 10 s
	MediaURL, Prompt string        // the media base URL and a prompt name it serves
}

// Probe is the test call's number and the inbound context it is dialled
// in (the context the trunk's calls go to).
type Probe struct {
	Number  string // e.g. "0000000": must match the context's pattern
	Context string // e.g. "omstil-inbound"
}

// Run runs every check and returns the results in order.
func Run(ctx context.Context, cfg Config) []Result {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = 2 * time.Second
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = 100 << 20
	}
	if cfg.WarnFreeBytes == 0 {
		cfg.WarnFreeBytes = 1 << 30
	}
	if cfg.ProbeTimeout == 0 {
		cfg.ProbeTimeout = 10 * time.Second
	}
	var out []Result
	add := func(r ...Result) { out = append(out, r...) }
	add(checkSchema(ctx, cfg))
	add(checkDisk(cfg))
	add(checkClockZone())
	add(checkRTP(cfg))

	rc := cfg.ARI
	rc.Apps = []string{cfg.App + "-doctor"} // never connected: REST only
	cli, err := ariclient.New(rc)
	if err != nil {
		add(Result{"ari", Fail, err.Error(), "set OMSTIL_ARI_URL to Asterisk's ARI URL, e.g. http://127.0.0.1:8088/ari"})
		return out
	}
	defer cli.Close()
	info, err := cli.Info(ctx)
	if err != nil {
		add(ariProblem(cfg.ARI.URL, err))
		return out
	}
	add(Result{Check: "ari", Status: OK, Detail: "reached " + redactURL(cfg.ARI.URL) + " as " + cfg.ARI.User})
	add(checkVersion(info))
	add(checkClock(ctx, cli, cfg))
	add(checkModules(ctx, cli, cfg))
	add(checkSounds(ctx, cli, cfg))
	held, r := checkApp(ctx, cli, cfg.App)
	if held {
		// Asterisk keeps listing an application whose socket closed while
		// it was still subscribed to channels, until another application
		// unregisters; make one do so, and look again.
		nudgeApps(ctx, cfg.ARI, cfg.App+"-doctor-nudge")
		held, r = checkApp(ctx, cli, cfg.App)
	}
	add(r)
	add(checkCall(ctx, cli, cfg, held)...)
	return out
}

// Failed reports whether any result is a Fail.
func Failed(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return r.Status == Fail })
}

// Print writes one line per result, with its fix on the next line.
func Print(w io.Writer, rs []Result) {
	for _, r := range rs {
		fmt.Fprintf(w, "%-4s  %-16s %s\n", r.Status, r.Check, r.Detail)
		if r.Fix != "" && r.Status != OK {
			fmt.Fprintf(w, "      %-16s fix: %s\n", "", r.Fix)
		}
	}
}

func checkSchema(ctx context.Context, cfg Config) Result {
	if cfg.Schema == nil {
		return Result{Check: "database", Status: Skip, Detail: "not checked"}
	}
	cur, known, err := cfg.Schema(ctx)
	switch {
	case err != nil:
		return Result{"database", Fail, err.Error(), "check OMSTIL_DB; for PostgreSQL that the server runs and the user may log in"}
	case cur < known:
		return Result{"database", Fail, fmt.Sprintf("schema version %d, this omstil needs %d", cur, known), "run omstil migrate (omstil serve also migrates on start)"}
	case cur > known:
		return Result{"database", Fail, fmt.Sprintf("schema version %d is newer than this omstil (%d)", cur, known), "run the newer omstil that migrated it, or restore the backup taken before the upgrade"}
	}
	return Result{Check: "database", Status: OK, Detail: fmt.Sprintf("reached; schema version %d, up to date", cur)}
}

func checkDisk(cfg Config) Result {
	if cfg.DataDir == "" {
		return Result{Check: "disk", Status: Skip, Detail: "PostgreSQL: watch the database server's disk"}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(cfg.DataDir, &st); err != nil {
		return Result{"disk", Fail, err.Error(), "check that the directory of OMSTIL_DB exists and omstil may read it"}
	}
	free := st.Bavail * uint64(st.Bsize)
	detail := fmt.Sprintf("%s free in %s", bytesText(free), cfg.DataDir)
	switch {
	case free < cfg.MinFreeBytes:
		return Result{"disk", Fail, detail, "free space: the call-event log and the database need room to grow"}
	case free < cfg.WarnFreeBytes:
		return Result{"disk", Warn, detail, "free space soon: the call-event log grows with every call"}
	}
	if f, err := os.CreateTemp(cfg.DataDir, ".omstil-doctor-*"); err != nil {
		return Result{"disk", Fail, "cannot write in " + cfg.DataDir + ": " + err.Error(), "the data directory must be writable by the user omstil runs as"}
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	return Result{Check: "disk", Status: OK, Detail: detail}
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%d MiB", n>>20)
	}
}

func checkClockZone() Result {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		return Result{"timezone", Fail, err.Error(), "opening hours are Danish time; this omstil binary should carry its own zone data (report a bug)"}
	}
	return Result{Check: "timezone", Status: OK, Detail: "opening hours are read in " + loc.String()}
}

func checkRTP(cfg Config) Result {
	if cfg.RTPMin == 0 {
		return Result{Check: "softphone", Status: Skip, Detail: "no relay ports set"}
	}
	local := false
	if ip := net.ParseIP(cfg.RTPHost); ip != nil && ip.IsLoopback() {
		local = true
	} else if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				local = true
			}
		}
	}
	if !local {
		return Result{"softphone", Fail, "OMSTIL_RTP_HOST " + cfg.RTPHost + " is not an address of this machine",
			"set OMSTIL_RTP_HOST to this machine's address that Asterisk can send RTP to"}
	}
	lo, hi := cfg.RTPMin, cfg.RTPMax
	if cfg.RTPShared {
		hi = lo
	}
	free := 0
	for p := lo; p <= hi && p < lo+20; p++ {
		c, err := net.ListenPacket("udp", net.JoinHostPort(cfg.RTPHost, fmt.Sprint(p)))
		if err == nil {
			c.Close()
			free++
		}
	}
	detail := fmt.Sprintf("relay on %s, UDP %d-%d", cfg.RTPHost, lo, hi)
	if free == 0 {
		return Result{"softphone", Warn, detail + ": the first ports are in use (by a running omstil, or another program)",
			"if omstil is not running, free the ports or choose OMSTIL_RTP_PORT_MIN/MAX; allow the range in the firewall between Asterisk and omstil"}
	}
	return Result{Check: "softphone", Status: OK, Detail: detail + "; allow this range in the firewall between Asterisk and omstil"}
}

// ariProblem turns a failed first ARI request into its likely cause.
func ariProblem(u string, err error) Result {
	var ae *ariclient.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ae) && ae.Status == 401:
		return Result{"ari", Fail, "Asterisk refused the user and password (401)", "check OMSTIL_ARI_USER and OMSTIL_ARI_PASSWORD(_FILE) against ari.conf (FreePBX: Settings → Asterisk REST Interface Users)"}
	case errors.As(err, &ae) && ae.Status == 404:
		return Result{"ari", Fail, "no ARI at " + redactURL(u) + " (404)", "enable ARI (ari.conf [general] enabled = yes; FreePBX: Advanced Settings → Enable the Asterisk REST Interface) and check the URL's prefix (/ari)"}
	case errors.As(err, &oe):
		return Result{"ari", Fail, "cannot connect to " + redactURL(u) + ": " + oe.Err.Error(), "enable Asterisk's HTTP server on that address and port (http.conf enabled, bindaddr, bindport; FreePBX: Advanced Settings → Asterisk Builtin mini-HTTP server)"}
	}
	return Result{"ari", Fail, err.Error(), "check OMSTIL_ARI_URL"}
}

func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the ARI URL"
	}
	p.User = nil
	return p.String()
}

func checkVersion(info *ariclient.AsteriskInfo) Result {
	if info.System == nil {
		return Result{"asterisk", Warn, "Asterisk did not say its version", ""}
	}
	v := info.System.Version
	if ariclient.RESTOverWebSocketSupported(v) {
		return Result{Check: "asterisk", Status: OK, Detail: "version " + v + "; REST over the event socket available (OMSTIL_ARI_REST=auto uses it)"}
	}
	return Result{"asterisk", Warn, "version " + v + "; no REST over the event socket (needs 20.12, 21.7, 22.2 or later): every command is an HTTP request",
		"works as it is; upgrade Asterisk for lower latency"}
}

func checkClock(ctx context.Context, cli *ariclient.Client, cfg Config) Result {
	before := cfg.Now()
	p, err := cli.Ping(ctx)
	after := cfg.Now()
	if err != nil {
		return Result{"clock", Warn, "Asterisk did not answer a ping: " + err.Error(), ""}
	}
	at, err := ariclient.ParseTime(p.Timestamp)
	if err != nil {
		return Result{"clock", Warn, "cannot read Asterisk's time " + p.Timestamp, ""}
	}
	mid := before.Add(after.Sub(before) / 2)
	skew := at.Sub(mid)
	if skew < 0 {
		skew = -skew
	}
	detail := fmt.Sprintf("Asterisk's clock is %s from this machine's", skew.Round(time.Millisecond))
	if skew > cfg.MaxClockSkew+after.Sub(before) {
		return Result{"clock", Fail, detail, "run NTP (systemd-timesyncd or chrony) on both machines: opening hours and call times depend on it"}
	}
	return Result{Check: "clock", Status: OK, Detail: detail}
}

func checkModules(ctx context.Context, cli *ariclient.Client, cfg Config) Result {
	mods, err := cli.Modules(ctx)
	if err != nil {
		return Result{"modules", Warn, "cannot list modules: " + err.Error(), ""}
	}
	running := map[string]bool{}
	for _, m := range mods {
		if m.Status == "Running" {
			running[strings.TrimSuffix(m.Name, ".so")] = true
		}
	}
	need := []string{"res_ari", "res_ari_channels", "res_ari_bridges", "res_ari_playbacks", "res_ari_applications", "res_ari_asterisk",
		"res_stasis", "res_stasis_answer", "res_stasis_playback", "app_stasis", "res_http_websocket", "res_http_media_cache", "res_musiconhold", "chan_rtp"}
	if cfg.NeedPJSIP {
		need = append(need, "chan_pjsip")
	}
	var missing []string
	for _, m := range need {
		if !running[m] {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return Result{"modules", Fail, "not loaded: " + strings.Join(missing, ", "),
			"load them (asterisk -rx 'module load NAME.so'; check modules.conf for noload lines); res_http_media_cache needs res_curl"}
	}
	return Result{Check: "modules", Status: OK, Detail: fmt.Sprintf("the %d modules omstil uses are running", len(need))}
}

func checkSounds(ctx context.Context, cli *ariclient.Client, cfg Config) Result {
	var missing, notLang []string
	for _, id := range cfg.Sounds {
		s, err := cli.GetSound(ctx, id)
		var ae *ariclient.Error
		switch {
		case errors.As(err, &ae) && ae.Status == 404:
			missing = append(missing, id)
		case err != nil:
			return Result{"sounds", Warn, "cannot look up sounds: " + err.Error(), ""}
		case cfg.Language != "" && !s.Has(cfg.Language):
			notLang = append(notLang, id)
		}
	}
	switch {
	case len(missing) > 0:
		return Result{"sounds", Fail, "Asterisk has no " + strings.Join(missing, ", "), "install Asterisk's core sounds (asterisk-core-sounds-en-gsm or your distribution's package)"}
	case len(notLang) > 0:
		return Result{"sounds", Warn, fmt.Sprintf("not in %q: %s; citizens hear them in another language", cfg.Language, strings.Join(notLang, ", ")),
			"install a sound pack for that language in Asterisk's sounds directory, or turn off position and wait announcements on the queues"}
	}
	return Result{Check: "sounds", Status: OK, Detail: fmt.Sprintf("the %d Asterisk sounds omstil plays exist in %q", len(cfg.Sounds), cfg.Language)}
}

// nudgeApps registers app for a moment and closes its socket cleanly,
// which makes Asterisk drop the applications nobody holds any more.
func nudgeApps(ctx context.Context, c ariclient.Config, app string) {
	if _, release, err := holdApp(ctx, c, app, 5*time.Second); err == nil {
		release()
	}
}

// checkApp reports whether an omstil holds the Stasis application.
func checkApp(ctx context.Context, cli *ariclient.Client, app string) (held bool, r Result) {
	apps, err := cli.Applications(ctx)
	if err != nil {
		return false, Result{"stasis-app", Warn, "cannot list applications: " + err.Error(), ""}
	}
	for _, a := range apps {
		if a.Name == app {
			return true, Result{Check: "stasis-app", Status: OK, Detail: fmt.Sprintf("%q is connected: a running omstil holds it (if none runs here, another process does, and takes omstil's calls)", app)}
		}
	}
	return false, Result{"stasis-app", Warn, fmt.Sprintf("%q is not connected: calls sent to it now fail (\"Stasis app doesn't exist\")", app), "start omstil (systemctl start omstil)"}
}
