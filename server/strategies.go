package server

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/queue"
)

// strategyJSON describes one routing strategy of the engine's registry;
// the admin page builds its choice of strategy from these.
type strategyJSON struct {
	Name    string     `json:"name"`
	Default bool       `json:"default"`
	Label   queue.Text `json:"label"`
	Help    queue.Text `json:"help"`
}

func (s *Server) listStrategies(c *gin.Context) {
	out := []strategyJSON{}
	for _, st := range queue.Strategies() {
		out = append(out, strategyJSON{Name: st.Name, Default: st.Name == queue.DefaultStrategy, Label: st.Label, Help: st.Help})
	}
	c.JSON(http.StatusOK, out)
}
