package ari_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/ari/arisim"
)

// loadPBX is what the sustained load test drives: the simulator in this
// process, or in a process of its own (OMSTIL_LOAD_SIM=process), as
// Asterisk would be.
type loadPBX interface {
	url() (string, string, string)
	place(arisim.Call) error
	hangup(id string) error
	// simCPU is the CPU time the simulator's process used so far; zero
	// when it shares this process.
	simCPU() time.Duration
	close()
}

type inProcessPBX struct{ *simAsterisk }

func (p inProcessPBX) place(c arisim.Call) error { _, err := p.sim.PlaceCall(c); return err }
func (p inProcessPBX) hangup(id string) error    { return p.sim.HangupFarEnd(id, 16) }
func (p inProcessPBX) simCPU() time.Duration     { return 0 }

// simProcess is the ARI simulator in a child process (this test binary
// running TestLoadSimServer), reached over HTTP for ARI and for its
// control API.
type simProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string
	http  *http.Client
}

func startSimProcess(tb testing.TB, media bool) *simProcess {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLoadSimServer$")
	cmd.Env = append(os.Environ(), "OMSTIL_LOAD_SIM_SERVE=1", "OMSTIL_LOAD_SIM_MEDIA="+strconv.FormatBool(media))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &simProcess{cmd: cmd, stdin: in, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "SIM "); ok {
			p.base = v
			break
		}
	}
	if p.base == "" {
		cmd.Process.Kill()
		tb.Fatalf("the simulator process did not start: %v", sc.Err())
	}
	go io.Copy(io.Discard, out)
	return p
}

func (p *simProcess) url() (string, string, string) { return p.base + "/ari", "omstil", "omstil" }

func (p *simProcess) post(path string, body any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(http.MethodPost, p.base+path, rd)
	req.SetBasicAuth("omstil", "omstil")
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return nil
}

func (p *simProcess) place(c arisim.Call) error {
	return p.post("/sim/calls", map[string]string{"number": c.Number, "caller": c.CallerID})
}

func (p *simProcess) hangup(id string) error {
	return p.post("/sim/channels/"+id+"/hangup?cause=16", nil)
}

// simCPU reads the child's user + system time from /proc/<pid>/stat.
func (p *simProcess) simCPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// the fields after the command name in parentheses; utime and stime
	// are the 14th and 15th of the whole line, in clock ticks (100/s).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func (p *simProcess) close() {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// TestLoadSimServer is the simulator process of the sustained load test
// (OMSTIL_LOAD_SIM=process), not a test of its own: it serves the
// simulator on a loopback port until its standard input closes.
func TestLoadSimServer(t *testing.T) {
	if os.Getenv("OMSTIL_LOAD_SIM_SERVE") == "" {
		t.Skip("the simulator process of TestLoadSustained; it runs only when that test starts it")
	}
	opts := simOptions()
	if os.Getenv("OMSTIL_LOAD_SIM_MEDIA") == "false" {
		opts.Clock = noMediaClock{}
	}
	sim := arisim.New(opts)
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sim.Handler()}
	go srv.Serve(ln)
	fmt.Printf("SIM http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	srv.Close()
}
