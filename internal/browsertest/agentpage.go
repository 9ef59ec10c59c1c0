package browsertest

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// AudioStats is what the agent page reports of its WebRTC audio
// (window.omstilAgent.audioStats() in web/agent/agent.js): the remote
// audio's packets, level and energy, and the microphone's packets sent.
type AudioStats struct {
	PacketsReceived  float64 `json:"packetsReceived"`
	AudioLevel       float64 `json:"audioLevel"`
	TotalAudioEnergy float64 `json:"totalAudioEnergy"`
	PacketsSent      float64 `json:"packetsSent"`
	Connection       string  `json:"connection"`
}

// PageAudioStats reads the agent page's audio counters.
func PageAudioStats(t testing.TB, ctx context.Context) AudioStats {
	t.Helper()
	return Get(t, ctx, "audio stats", chromedp.Evaluate[AudioStats](`window.omstilAgent.audioStats()`, chromedp.EvalAwaitPromise))
}

// AgentSignIn logs user in on the agent page's own form (showing at
// /agent) and waits until the console is up with signalling, media and
// microphone.
func AgentSignIn(t testing.TB, ctx context.Context, user, password string) {
	t.Helper()
	Do(t, ctx, "log in on the agent page as "+user,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#login-username"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")))
	for _, sel := range []string{"#console", `#conn-status[data-ok="yes"]`, `#media-status[data-ok="yes"]`, `#mic-status[data-ok="yes"]`} {
		Do(t, ctx, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	}
}
