package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// WaitJS waits until the JavaScript expression is truthy. It evaluates
// the expression again every 20 ms (also across page loads, when an
// evaluation can fail) until StepTimeout.
func WaitJS(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(StepTimeout)
	var last error
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		if ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the browser, not waiting for a goroutine
	}
	t.Fatalf("waiting for %s: not true after %v (last error: %v)%s", what, StepTimeout, last, failure(ctx))
}

// WaitText waits until the element matched by the CSS selector contains
// want in its text.
func WaitText(t testing.TB, ctx context.Context, sel, want string) {
	t.Helper()
	q, _ := json.Marshal(sel)
	w, _ := json.Marshal(want)
	WaitJS(t, ctx, fmt.Sprintf("text %q in %s", want, sel),
		fmt.Sprintf("(document.querySelector(%s)?.textContent ?? '').includes(%s)", q, w))
}

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// Violation is one accessibility rule broken on a page.
type Violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// Accessibility runs axe-core (WCAG 2.0/2.1 A and AA rules and best
// practices) on the current page. axe is injected through the DevTools
// protocol, which the page's CSP does not govern; omstil never serves it.
func Accessibility(t testing.TB, ctx context.Context) []Violation {
	t.Helper()
	Get(t, ctx, "inject axe-core", chromedp.Evaluate[any](axeSource+";true"))
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
	  .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
	     targets: v.nodes.map(n => n.target.join(" "))}))))`
	raw := Get(t, ctx, "run axe-core", chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	var vs []Violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result: %v", err)
	}
	return vs
}

// Accessible fails the test, without stopping it, when the page has
// accessibility violations; what names the page in the message.
func Accessible(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	if vs := Accessibility(t, ctx); len(vs) > 0 {
		t.Errorf("%s: %d accessibility violations:\n%v", what, len(vs), vs)
	}
}

// Screenshot writes the viewport (1280×800) to docs/screenshots/name.png
// when OMSTIL_SCREENSHOTS=1, so ordinary runs do not rewrite the files.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("OMSTIL_SCREENSHOTS") != "1" {
		return
	}
	Do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 800))
	png := Get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/screenshots/%s.png", name)
}

// SetField sets the value of an input, select or textarea as a user's
// edit would (input and change events).
func SetField(sel, value string) chromedp.Action[chromedp.Void] {
	q, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = %s;
	  e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); })()`, q, v))
}
