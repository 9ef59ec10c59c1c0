package server

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/config"
)

// promptMedia serves a default voice prompt (Options.Prompts) to Asterisk,
// which plays it from sound:http://…/media/prompts/da/<name>.wav through
// its HTTP media cache. Like /media/announcements it needs no login:
// Asterisk has none, and the prompts are the same for everyone.
func (s *Server) promptMedia(c *gin.Context) {
	name := c.Param("file")
	if !strings.HasSuffix(name, ".wav") || strings.ContainsAny(name, "/\\") {
		s.fail(c, &config.ValidationError{Field: "file", Message: "not a prompt"})
		return
	}
	b, err := fs.ReadFile(s.opts.Prompts, name)
	if err != nil {
		s.fail(c, config.ErrNotFound)
		return
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "audio/wav", b)
}
