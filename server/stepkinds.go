package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
)

// listStepKinds lists the call-flow step kinds of callflow's registry; the
// flow editor names steps from it, so a new kind needs no edit here.
func (s *Server) listStepKinds(c *gin.Context) {
	c.JSON(http.StatusOK, callflow.Kinds())
}
