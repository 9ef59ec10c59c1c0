package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/audio"
	"github.com/omstil/omstil/config"
)

type announcementStore interface {
	ListAnnouncements(ctx context.Context, org config.OrgID) ([]config.Announcement, error)
	GetAnnouncement(ctx context.Context, org config.OrgID, id config.AnnouncementID) (config.Announcement, error)
	AnnouncementAudio(ctx context.Context, org config.OrgID, id config.AnnouncementID) (config.Announcement, error)
	CreateAnnouncement(ctx context.Context, actor config.Actor, n config.NewAnnouncement) (config.Announcement, error)
	UpdateAnnouncement(ctx context.Context, actor config.Actor, id config.AnnouncementID, p config.AnnouncementPatch) (config.Announcement, error)
	DeleteAnnouncement(ctx context.Context, actor config.Actor, id config.AnnouncementID) error
	AnnouncementByMediaName(ctx context.Context, name string) (config.Announcement, error)
}

type announcementResponse struct {
	ID               config.AnnouncementID `json:"id"`
	Name             string                `json:"name"`
	Description      string                `json:"description"`
	DurationMS       int64                 `json:"duration_ms"`
	SHA256           string                `json:"sha256"`
	OriginalFilename string                `json:"original_filename"`
	CreatedAt        time.Time             `json:"created_at"`
	UpdatedAt        time.Time             `json:"updated_at"`
}

func announcementJSON(a config.Announcement) announcementResponse {
	return announcementResponse{a.ID, a.Name, a.Description, a.DurationMS, a.SHA256, a.OriginalFilename, a.CreatedAt, a.UpdatedAt}
}

type announcementPatchRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// Patch turns the request into the store's patch.
func (r announcementPatchRequest) Patch() config.AnnouncementPatch {
	return config.AnnouncementPatch{Name: r.Name, Description: r.Description}
}

// uploadedFile reads the multipart form's "file" field, refusing bodies
// over audio.MaxUploadBytes.
func (s *Server) uploadedFile(c *gin.Context) (name string, data []byte, ok bool) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, audio.MaxUploadBytes+1<<20)
	if err := c.Request.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(c, &apiError{http.StatusRequestEntityTooLarge, "too_large", "file: larger than " + strconv.Itoa(audio.MaxUploadBytes>>20) + " MB", "file"})
			return "", nil, false
		}
		s.fail(c, &apiError{http.StatusBadRequest, "bad_request", "send multipart/form-data with the audio in the field \"file\"", "file"})
		return "", nil, false
	}
	f, hdr, err := c.Request.FormFile("file")
	if err != nil {
		s.fail(c, &apiError{http.StatusBadRequest, "invalid", "file: missing; send the audio in the multipart field \"file\"", "file"})
		return "", nil, false
	}
	defer f.Close()
	if hdr.Size > audio.MaxUploadBytes {
		s.fail(c, &apiError{http.StatusRequestEntityTooLarge, "too_large", "file: larger than " + strconv.Itoa(audio.MaxUploadBytes>>20) + " MB", "file"})
		return "", nil, false
	}
	// read into one buffer of the file's size (io.ReadAll would grow one
	// to about twice that for a large file).
	data = make([]byte, hdr.Size)
	if _, err := io.ReadFull(f, data); err != nil {
		s.fail(c, err)
		return "", nil, false
	}
	return hdr.Filename, data, true
}

func formValue(form *multipart.Form, key string) string {
	if form == nil || len(form.Value[key]) == 0 {
		return ""
	}
	return form.Value[key][0]
}

func (s *Server) listAnnouncements(c *gin.Context) {
	readOrg(s, c, CallConfig.ListAnnouncements, each(announcementJSON))
}

func (s *Server) getAnnouncement(c *gin.Context) {
	readByID(s, c, "announcement", CallConfig.GetAnnouncement, announcementJSON)
}

// createAnnouncement takes multipart/form-data: name, description, file.
func (s *Server) createAnnouncement(c *gin.Context) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	fn, data, ok := s.uploadedFile(c)
	if !ok {
		return
	}
	form := c.Request.MultipartForm
	a, err := cc.CreateAnnouncement(c.Request.Context(), actor(c), config.NewAnnouncement{
		Name: formValue(form, "name"), Description: formValue(form, "description"), Filename: fn, Data: data})
	saved(s, c, http.StatusCreated, a, err, announcementJSON)
}

func (s *Server) patchAnnouncement(c *gin.Context) {
	patchByID[announcementPatchRequest](s, c, "announcement", CallConfig.UpdateAnnouncement, announcementJSON)
}

// replaceAnnouncementAudio takes multipart/form-data with a new file.
func (s *Server) replaceAnnouncementAudio(c *gin.Context) {
	cc, id, ok := s.configAndID(c, "announcement")
	if !ok {
		return
	}
	fn, data, ok := s.uploadedFile(c)
	if !ok {
		return
	}
	a, err := cc.UpdateAnnouncement(c.Request.Context(), actor(c), config.AnnouncementID(id), config.AnnouncementPatch{Filename: fn, Data: data})
	saved(s, c, http.StatusOK, a, err, announcementJSON)
}

func (s *Server) deleteAnnouncement(c *gin.Context) {
	deleteByID(s, c, "announcement", CallConfig.DeleteAnnouncement)
}

// serveWAV sends a stored recording; http.ServeContent answers Range
// requests so the browser's player can seek.
func serveWAV(c *gin.Context, a config.Announcement, cache string) {
	h := c.Writer.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", cache)
	h.Set("ETag", `"`+a.SHA256+`"`)
	http.ServeContent(c.Writer, c.Request, "", a.UpdatedAt, bytes.NewReader(a.Audio))
}

// announcementAudio is the recording for listening in the admin UI.
func (s *Server) announcementAudio(c *gin.Context) {
	cc, id, ok := s.configAndID(c, "announcement")
	if !ok {
		return
	}
	a, err := cc.AnnouncementAudio(c.Request.Context(), actor(c).OrgID, config.AnnouncementID(id))
	if err != nil {
		s.fail(c, err)
		return
	}
	serveWAV(c, a, "private, no-cache")
}

// announcementMedia serves a recording to Asterisk without a session:
// the signed name is the credential, and it changes with the recording,
// so it may be cached for good.
func (s *Server) announcementMedia(c *gin.Context) {
	cc, ok := s.callConfig(c)
	if !ok {
		return
	}
	a, err := cc.AnnouncementByMediaName(c.Request.Context(), c.Param("file"))
	if err != nil {
		s.fail(c, err)
		return
	}
	serveWAV(c, a, "public, max-age=31536000, immutable")
}
