package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/omstil/omstil/callflow"
	"github.com/omstil/omstil/queue"
)

// openAPISource describes every route under /api/v1. A test checks that
// each registered route appears in it.
//
//go:embed openapi.json
var openAPISource []byte

// openAPIDoc is openAPISource with the lists that other packages own
// filled in: the strategy enum comes from the queue engine's registry and
// the step-kind enum from callflow's, so a new strategy or step kind needs
// no edit here.
var openAPIDoc = mustFillOpenAPI(openAPISource)

func mustFillOpenAPI(src []byte) []byte {
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		panic(fmt.Sprintf("server: openapi.json: %v", err)) // embedded: a build mistake
	}
	schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
	strategy, ok := schemas["Strategy"].(map[string]any)
	if !ok {
		panic("server: openapi.json has no components.schemas.Strategy")
	}
	strategy["enum"] = queue.StrategyNames()
	kind, ok := schemas["StepKind"].(map[string]any)
	if !ok {
		panic("server: openapi.json has no components.schemas.StepKind")
	}
	kind["enum"] = callflow.KindNames()
	out, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("server: openapi.json: %v", err))
	}
	return out
}

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}

// OpenAPIDocument returns the OpenAPI document as served.
func OpenAPIDocument() []byte { return openAPIDoc }
