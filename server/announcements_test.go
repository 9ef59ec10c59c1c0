package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omstil/omstil/audio"
	"github.com/omstil/omstil/config"
)

// TestAnnouncementUploadLimits: a recording over the installation's
// length limit is a 400 on "file" naming the limit; while every
// conversion slot is taken (and waiting is over), an upload gets a 503
// saying to try again, and nothing is saved.
func TestAnnouncementUploadLimits(t *testing.T) {
	t.Parallel()
	conv := audio.NewConverter(audio.Limits{MaxLength: time.Minute, Concurrent: 1, Wait: -1})
	f := newFixtureWith(t, config.Options{Audio: conv})
	admin := f.tokens[config.RoleAdmin]
	upload := func(name string, wav []byte) (int, string, string, string) {
		body, ct := multipartBody(t, map[string]string{"name": name}, name+".wav", wav)
		w := f.do(req{method: "POST", path: "/api/v1/announcements", body: body, token: admin, header: map[string]string{"Content-Type": ct}})
		var eb struct {
			Error struct{ Code, Message, Field string }
		}
		json.Unmarshal(w.Body.Bytes(), &eb)
		return w.Code, eb.Error.Code + " " + eb.Error.Field, eb.Error.Message, w.Header().Get("Retry-After")
	}

	if code, what, msg, _ := upload("lang", sineWAV(8000, 61)); code != 400 || what != "invalid file" || !strings.Contains(msg, "longer than 1 minute") {
		t.Errorf("61 s with a 1 minute limit: %d %s %q", code, what, msg)
	}
	if code, what, msg, _ := upload("kort", sineWAV(8000, 59)); code != 201 {
		t.Errorf("59 s with a 1 minute limit: %d %s %q", code, what, msg)
	}

	release, err := conv.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, what, msg, retry := upload("travl", sineWAV(8000, 1))
	if code != 503 || what != "busy " || !strings.Contains(msg, "try again") || retry == "" {
		t.Errorf("upload while busy: %d %q %q Retry-After %q", code, what, msg, retry)
	}
	release()
	if code, what, msg, _ := upload("travl", sineWAV(8000, 1)); code != 201 {
		t.Errorf("upload when free again: %d %s %q", code, what, msg)
	}
	list, _ := f.store.ListAnnouncements(context.Background(), f.org)
	if got := fmt.Sprint(len(list)); got != "2" {
		t.Errorf("%s announcements saved, want kort and travl", got)
	}
}

// TestAnnouncementUploadDefaultLimit: without a setting, 10 minutes.
func TestAnnouncementUploadDefaultLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body, ct := multipartBody(t, map[string]string{"name": "elleve"}, "elleve.wav", sineWAV(8000, 11*60))
	w := f.do(req{method: "POST", path: "/api/v1/announcements", body: body, token: f.tokens[config.RoleAdmin], header: map[string]string{"Content-Type": ct}})
	if w.Code != 400 || !strings.Contains(w.Body.String(), "longer than 10 minutes") {
		t.Fatalf("11 minutes: %d %s", w.Code, w.Body.String())
	}
}
