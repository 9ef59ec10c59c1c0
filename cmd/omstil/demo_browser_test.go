package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/omstil/omstil/internal/browsertest"
)

// TestDemoAnswerInChrome is the newcomer's first minute, in real headless
// Chromium: start a fresh demo, open the printed address's /agent page,
// log in with the printed staff login, press Klar, and a simulated
// citizen's call rings; answer it, and the citizen's voice (the demo
// voice, over the softphone relay's RTP) is heard in the page.
func TestDemoAnswerInChrome(t *testing.T) {
	browsertest.Chromium(t) // skip (with the reason), or fail in CI, before starting anything
	start := time.Now()
	env := map[string]string{"OMSTIL_DB": filepath.Join(t.TempDir(), "omstil.db"), "OMSTIL_LISTEN": "127.0.0.1:0",
		"OMSTIL_DEMO_CALLS_PER_MINUTE": "30"}
	p := startServe(t, env)
	m := p.waitOutput(t, staffLoginRE)
	base, user, password := m[1], m[2], m[3]

	tab := browsertest.NewBrowser(t, chromedp.Headless, chromedp.DisableGPU)
	browsertest.Do(t, tab, "open /agent", chromedp.Navigate(base+"/agent"))
	browsertest.AgentSignIn(t, tab, user, password)
	if s := browsertest.PageAudioStats(t, tab); s.TotalAudioEnergy > 0 {
		t.Fatalf("audio before any call: %+v", s)
	}
	browsertest.Do(t, tab, "press Klar",
		chromedp.Click(chromedp.CSS("#btn-ready")),
		chromedp.WaitVisible(chromedp.CSS(`#state-text[data-state="ready"]`)))
	// The browser agent is first in line: the next (or a waiting) call rings here.
	browsertest.Do(t, tab, "a call rings", chromedp.WaitVisible(chromedp.CSS("#incoming")))
	browsertest.Do(t, tab, "answer",
		chromedp.Click(chromedp.CSS("#btn-answer")),
		chromedp.WaitVisible(chromedp.CSS("#incall")))
	var s browsertest.AudioStats
	eventually(t, "the citizen's voice is heard in the page (inbound-rtp totalAudioEnergy)", 15*time.Second, func() bool {
		s = browsertest.PageAudioStats(t, tab)
		return s.TotalAudioEnergy > 0.01
	})
	t.Logf("from start to the citizen's voice in the browser: %v (audio %+v)", time.Since(start).Round(100*time.Millisecond), s)
}
