package config

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/omstil/omstil/audio"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Announcement is an uploaded recording, kept in the database as an 8 kHz
// mono 16-bit WAV. Audio is loaded only by AnnouncementAudio and
// AnnouncementByMediaName; the other reads leave it nil.
type Announcement struct {
	ID               AnnouncementID
	OrgID            OrgID
	Name             string
	Description      string
	Audio            []byte
	SHA256           string `gorm:"column:sha256"` // of Audio, hex
	DurationMS       int64
	OriginalFilename string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// NewAnnouncement is what it takes to create an announcement: Data is the
// uploaded file as it came (see audio.Convert).
type NewAnnouncement struct {
	Name        string
	Description string
	Filename    string
	Data        []byte
}

// AnnouncementPatch changes some fields of an announcement; nil fields
// stay. Data (with Filename) replaces the recording.
type AnnouncementPatch struct {
	Name        *string
	Description *string
	Filename    string
	Data        []byte
}

func announcementView(a Announcement) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "description": a.Description, "sha256": a.SHA256,
		"duration_ms": a.DurationMS, "original_filename": a.OriginalFilename}
}

func cleanFilename(f string) string {
	f = path.Base(strings.ReplaceAll(f, "\\", "/"))
	if f == "." || f == "/" {
		f = ""
	}
	if len(f) > 128 {
		f = f[:128]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, f)
}

// setAudio converts an upload (see audio.Convert) into a. A file that
// cannot be read or is too long is a ValidationError on "file";
// audio.ErrBusy comes back as it is.
func (a *Announcement) setAudio(ctx context.Context, conv *audio.Converter, filename string, data []byte) error {
	wav, dur, err := conv.Convert(ctx, data)
	if errors.Is(err, audio.ErrFormat) || errors.Is(err, audio.ErrTooLong) {
		return Invalid("file", "%v", err)
	}
	if err != nil {
		return fmt.Errorf("config: convert announcement: %w", err)
	}
	sum := sha256.Sum256(wav)
	a.Audio, a.SHA256, a.DurationMS = wav, hex.EncodeToString(sum[:]), dur.Milliseconds()
	a.OriginalFilename = cleanFilename(filename)
	return nil
}

// CreateAnnouncement converts the upload and stores it, audited.
func (s *Store) CreateAnnouncement(ctx context.Context, actor Actor, n NewAnnouncement) (Announcement, error) {
	if err := validName("name", n.Name); err != nil {
		return Announcement{}, err
	}
	if err := validText("description", n.Description, 256); err != nil {
		return Announcement{}, err
	}
	a := Announcement{OrgID: actor.OrgID, Name: n.Name, Description: n.Description}
	if err := a.setAudio(ctx, s.audio, n.Filename, n.Data); err != nil {
		return Announcement{}, err
	}
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error { return s.insertAnnouncement(tx, actor, &a) })
	a.Audio = nil
	return a, wrapErr("create", "announcement", nil, err)
}

// insertAnnouncement stores a validated, converted announcement inside a
// change, audited.
func (s *Store) insertAnnouncement(tx *gorm.DB, actor Actor, a *Announcement) error {
	if err := uniqueName(tx, &Announcement{}, actor.OrgID, a.Name, 0, "announcement"); err != nil {
		return err
	}
	if err := tx.Create(a).Error; err != nil {
		return err
	}
	return s.audit(tx, actor, "create", "announcement", a.ID, nil, announcementView(*a))
}

var metaColumns = []string{"id", "org_id", "name", "description", "sha256", "duration_ms", "original_filename", "created_at", "updated_at"}

// GetAnnouncement loads an announcement's metadata.
func (s *Store) GetAnnouncement(ctx context.Context, org OrgID, id AnnouncementID) (Announcement, error) {
	var a Announcement
	err := s.db.WithContext(ctx).Select(metaColumns).Where("id = ? AND org_id = ?", id, org).First(&a).Error
	return a, wrapErr("load", "announcement", id, err)
}

// AnnouncementAudio loads an announcement with its recording.
func (s *Store) AnnouncementAudio(ctx context.Context, org OrgID, id AnnouncementID) (Announcement, error) {
	var a Announcement
	err := s.db.WithContext(ctx).Where("id = ? AND org_id = ?", id, org).First(&a).Error
	return a, wrapErr("load", "announcement", id, err)
}

// ListAnnouncements lists an organisation's announcements by name, without
// their audio.
func (s *Store) ListAnnouncements(ctx context.Context, org OrgID) ([]Announcement, error) {
	var out []Announcement
	err := s.db.WithContext(ctx).Select(metaColumns).Where("org_id = ?", org).Order("name").Find(&out).Error
	return out, wrapErr("list", "announcements", nil, err)
}

// UpdateAnnouncement applies a patch, audited. An announcement in use
// cannot be renamed; its recording can be replaced (it gets a new media
// URL, so Asterisk's cache never plays the old one).
func (s *Store) UpdateAnnouncement(ctx context.Context, actor Actor, id AnnouncementID, p AnnouncementPatch) (Announcement, error) {
	if p.Name != nil {
		if err := validName("name", *p.Name); err != nil {
			return Announcement{}, err
		}
	}
	if p.Description != nil {
		if err := validText("description", *p.Description, 256); err != nil {
			return Announcement{}, err
		}
	}
	var repl Announcement
	if p.Data != nil {
		if err := repl.setAudio(ctx, s.audio, p.Filename, p.Data); err != nil {
			return Announcement{}, err
		}
	}
	var out Announcement
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var a Announcement
		if err := tx.Where("id = ? AND org_id = ?", id, actor.OrgID).First(&a).Error; err != nil {
			return err
		}
		before := announcementView(a)
		if p.Name != nil && *p.Name != a.Name {
			if err := uniqueName(tx, &Announcement{}, actor.OrgID, *p.Name, int64(id), "announcement"); err != nil {
				return err
			}
			if err := inUse(tx, actor.OrgID, "announcement", a.Name); err != nil {
				return err
			}
			a.Name = *p.Name
		}
		if p.Description != nil {
			a.Description = *p.Description
		}
		if p.Data != nil {
			a.Audio, a.SHA256, a.DurationMS, a.OriginalFilename = repl.Audio, repl.SHA256, repl.DurationMS, repl.OriginalFilename
		}
		if err := tx.Save(&a).Error; err != nil {
			return err
		}
		a.Audio = nil
		out = a
		return s.audit(tx, actor, "update", "announcement", a.ID, before, announcementView(a))
	})
	return out, wrapErr("update", "announcement", id, err)
}

// DeleteAnnouncement removes an announcement no flow or queue uses, audited.
func (s *Store) DeleteAnnouncement(ctx context.Context, actor Actor, id AnnouncementID) error {
	err := s.change(ctx, actor.OrgID, func(tx *gorm.DB) error {
		var a Announcement
		if err := tx.Select(metaColumns).Where("id = ? AND org_id = ?", id, actor.OrgID).First(&a).Error; err != nil {
			return err
		}
		if err := inUse(tx, actor.OrgID, "announcement", a.Name); err != nil {
			return err
		}
		if err := tx.Delete(&Announcement{}, a.ID).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, "delete", "announcement", a.ID, announcementView(a), nil)
	})
	return wrapErr("delete", "announcement", id, err)
}

// --- media URLs for Asterisk ---

// InstallSetting is an installation-wide value (not per organisation).
type InstallSetting struct {
	Name  string `gorm:"primaryKey"`
	Value string
}

// mediaKey returns the installation's key for signing media URLs.
func (s *Store) mediaKey(tx *gorm.DB) ([]byte, error) { return installKey(tx, "media_key") }

// installKey returns the installation's 32-byte secret called name,
// generating and storing it on first use (two instances racing agree: the
// first insert wins and both read it back).
func installKey(tx *gorm.DB, name string) ([]byte, error) {
	var st InstallSetting
	err := tx.Where("name = ?", name).First(&st).Error
	if mapErr(err) == ErrNotFound {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		cand := InstallSetting{Name: name, Value: hex.EncodeToString(b)}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&cand).Error; err != nil {
			return nil, err
		}
		err = tx.Where("name = ?", name).First(&st).Error
	}
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", strings.ReplaceAll(name, "_", " "), err)
	}
	return hex.DecodeString(st.Value)
}

// mediaName is the file name under which Asterisk fetches an
// announcement: "<id>-<signature>.wav". The signature (HMAC-SHA256 of the
// ID and the audio's hash, 128 bits) makes the URL unguessable and changes
// when the recording does.
func mediaName(key []byte, id AnnouncementID, sha string) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "announcement:%d:%s", id, sha)
	return fmt.Sprintf("%d-%s.wav", id, hex.EncodeToString(m.Sum(nil)[:16]))
}

// AnnouncementMediaName returns the signed file name of an announcement's
// audio for GET /media/announcements/{name}.
func (s *Store) AnnouncementMediaName(ctx context.Context, org OrgID, id AnnouncementID) (string, error) {
	a, err := s.GetAnnouncement(ctx, org, id)
	if err != nil {
		return "", err
	}
	key, err := s.mediaKey(s.db.WithContext(ctx))
	if err != nil {
		return "", err
	}
	return mediaName(key, a.ID, a.SHA256), nil
}

// AnnouncementByMediaName loads the announcement (with audio) that a
// signed media name stands for; ErrNotFound for any name that is not a
// current, correctly signed one.
func (s *Store) AnnouncementByMediaName(ctx context.Context, name string) (Announcement, error) {
	idStr, _, ok := strings.Cut(name, "-")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if !ok || err != nil || id <= 0 {
		return Announcement{}, fmt.Errorf("config: media %q: %w", name, ErrNotFound)
	}
	var a Announcement
	if err := s.db.WithContext(ctx).Where("id = ?", id).First(&a).Error; err != nil {
		return Announcement{}, wrapErr("load", "announcement", id, err)
	}
	key, err := s.mediaKey(s.db.WithContext(ctx))
	if err != nil {
		return Announcement{}, err
	}
	if !hmac.Equal([]byte(mediaName(key, a.ID, a.SHA256)), []byte(name)) {
		return Announcement{}, fmt.Errorf("config: media %q: %w", name, ErrNotFound)
	}
	return a, nil
}
