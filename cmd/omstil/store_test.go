package main

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omstil/omstil/config"
	"github.com/omstil/omstil/settings"
)

// silentWAV is n samples of 8 kHz mono 16-bit silence.
func silentWAV(n int) []byte {
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	return b
}

// TestOpenStoreAnnouncementLimit: OMSTIL_ANNOUNCEMENT_MAX_SECONDS reaches
// the store's conversions.
func TestOpenStoreAnnouncementLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := envOf(map[string]string{"OMSTIL_DB": filepath.Join(t.TempDir(), "o.db"), "OMSTIL_ANNOUNCEMENT_MAX_SECONDS": "2"})
	s, _, err := settings.Load("omstil", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	org, err := st.DefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys := config.SystemActor(org.ID)
	if _, err := st.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "lang", Data: silentWAV(3 * 8000)}); err == nil || !strings.Contains(err.Error(), "longer than 2 seconds") {
		t.Errorf("3 s with a 2 s limit: %v", err)
	}
	if _, err := st.CreateAnnouncement(ctx, sys, config.NewAnnouncement{Name: "kort", Data: silentWAV(8000)}); err != nil {
		t.Errorf("1 s with a 2 s limit: %v", err)
	}
}
