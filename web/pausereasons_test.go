package web

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/omstil/omstil/ari"
	"github.com/omstil/omstil/queue"
)

// The pause reasons omstil gives on its own (not an organisation's list)
// have a text in every language on the wallboard and the agent page,
// under the key app.js pauseReason and agent.js reasonLabel make of them:
// issue 14's "unreachable" must read as Danish on a Danish wallboard.
func TestSystemPauseReasonsHaveTexts(t *testing.T) {
	nonWord := regexp.MustCompile(`[^a-z0-9]+`)
	key := func(reason string) string { return "pause." + nonWord.ReplaceAllString(strings.ToLower(reason), "-") }
	all, err := LoadStrings()
	if err != nil {
		t.Fatal(err)
	}
	agentJS, err := os.ReadFile("agent/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	da, en, ok := strings.Cut(string(agentJS), "\n  en: {")
	if !ok {
		t.Fatal("agent/i18n.js: no en block")
	}
	for _, r := range []string{queue.UnreachableReason, ari.PageClosedReason, "autopause" /* Options.AutoPauseReason's default */} {
		k := key(r)
		for _, lang := range Languages {
			if v := all[lang][k]; v == "" {
				t.Errorf("wallboard %s: no text for %q (key %s)", lang, r, k)
			}
		}
		for lang, block := range map[string]string{"da": da, "en": en} {
			if !strings.Contains(block, `"`+k+`": "`) {
				t.Errorf("agent page %s: no text for %q (key %s)", lang, r, k)
			}
		}
	}
}
