package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/gateway"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

// gatewayPrefix is where the LLM gateway serves: /llm/{workspace}/<Ollama
// path>, matching the function's api.gatewayURL (status.apiUrl is
// <gatewayURL>/<claim name>).
const gatewayPrefix = "/llm/:workspace"

// gatewayTarget authorises a gateway call: the token's scope, then the
// workspace's owner. A token scoped elsewhere is a 403 whatever the
// workspace, so it learns nothing about other names; someone else's
// workspace is a 404, as everywhere in the portal.
func (s *Server) gatewayTarget(c *gin.Context) (*workspaces.Workspace, error) {
	p := PrincipalOf(c)
	name := c.Param("workspace")
	if p.Workspace != "" && p.Workspace != name {
		return nil, apierr.Forbidden("this API token is scoped to workspace %q", p.Workspace)
	}
	if err := workspaces.ValidateName(name); err != nil {
		return nil, apierr.NotFound("workspace %q not found", name)
	}
	ctx := c.Request.Context()
	ws, err := s.Workspaces.Get(ctx, workspaces.OwnerOf(p), name)
	if e, ok := apierr.As(err); ok && e.Status == 404 && p.Via == "jwt" {
		// Admins reach any workspace with their session, not with API
		// tokens: a token is "all of the caller's workspaces" at most.
		if s.isAdmin(ctx, p) {
			return s.anyWorkspace(ctx, name, err)
		}
	}
	return ws, err
}

func (s *Server) isAdmin(ctx context.Context, p auth.Principal) bool {
	u, err := s.Store.UserByID(ctx, p.UserID)
	return err == nil && u.Role == store.RoleAdmin
}

// anyWorkspace finds a workspace by claim name across users (admins). In
// per-user namespaces two users may share a name; then it is ambiguous.
func (s *Server) anyWorkspace(ctx context.Context, name string, notFound error) (*workspaces.Workspace, error) {
	all, err := s.Workspaces.ListAll(ctx)
	if err != nil {
		return nil, err
	}
	var found []workspaces.Workspace
	for _, w := range all {
		if w.Name == name {
			found = append(found, w)
		}
	}
	switch len(found) {
	case 0:
		return nil, notFound
	case 1:
		return &found[0], nil
	}
	return nil, apierr.Conflict("workspace", "several users have a workspace named %q; use one of its owner's tokens", name)
}

// forward passes an allowed call to the workspace's Ollama.
func (s *Server) forward(c *gin.Context) error {
	ws, err := s.gatewayTarget(c)
	if err != nil {
		return err
	}
	p := PrincipalOf(c)
	key := "u:" + strconv.FormatUint(p.UserID, 10)
	if p.APITokenID != 0 {
		key = "t:" + strconv.FormatUint(p.APITokenID, 10)
	}
	err = s.gateway.Serve(c.Writer, c.Request, gateway.Target{
		Workspace: ws, TokenID: p.APITokenID, RateKey: key,
		Path: strings.TrimPrefix(c.Request.URL.Path, "/llm/"+ws.Name),
	})
	if err != nil && c.Writer.Written() {
		// The answer had started; there is no error left to send.
		return nil
	}
	return err
}

// refuse answers the model-management calls: the claim manages models.
func (s *Server) refuse(c *gin.Context) error {
	if _, err := s.gatewayTarget(c); err != nil {
		return err
	}
	return &apierr.Error{Status: 403, Code: "managed_by_claim",
		Message: "models of a workspace are managed by its claim: change spec.models or spec.assistants (PATCH /api/v1/workspaces/{name}) instead of calling " + c.Request.Method + " " + strings.TrimPrefix(c.FullPath(), gatewayPrefix)}
}
