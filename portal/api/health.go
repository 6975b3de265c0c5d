package api

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

func (s *Server) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
	return nil
}

// readyz is ready when the database answers and the cluster is reachable
// (or deliberately not configured, as in `make portal`).
func (s *Server) readyz(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"database": "ok", "cluster": "ok"}
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.Warn("readiness: database", "error", err)
		checks["database"], ready = "unreachable", false
	}
	if _, off := s.Workspaces.(workspaces.Disabled); off {
		checks["cluster"] = "not configured"
	} else if err := s.Workspaces.Ready(ctx); err != nil {
		msg := "unreachable"
		if e, ok := apierr.As(err); ok {
			msg = e.Message
		}
		checks["cluster"], ready = msg, false
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ready, "checks": checks})
	return nil
}

//go:embed openapi.yaml
var openAPIYAML []byte

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	b, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, errors.Join(errors.New("openapi.yaml is not valid YAML"), err)
	}
	return b, nil
})

func (s *Server) openAPI(c *gin.Context) error {
	b, err := openAPIJSON()
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json", b)
	return nil
}
