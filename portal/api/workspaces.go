package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

type listJSON[T any] struct {
	Items []T `json:"items"`
}

func (s *Server) listWorkspaces(c *gin.Context) error {
	ws, err := s.Workspaces.List(c.Request.Context(), workspaces.OwnerOf(PrincipalOf(c)))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listJSON[workspaces.Workspace]{Items: ws})
	return nil
}

// createRequest is the claim spec plus its name.
type createRequest struct {
	Name string `json:"name"`
	v1alpha1.WorkspaceSpec
}

func (s *Server) createWorkspace(c *gin.Context) error {
	var req createRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Owner != "" {
		return apierr.Invalid("owner", "owner is set by the portal")
	}
	if err := workspaces.ValidateName(req.Name); err != nil {
		return err
	}
	if err := workspaces.ValidateSpec(req.WorkspaceSpec, nil); err != nil {
		return err
	}
	ctx := c.Request.Context()
	p := PrincipalOf(c)
	u, err := s.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	quota := s.Config.WorkspaceQuota
	if u.WorkspaceQuota != nil {
		quota = *u.WorkspaceQuota
	}
	n, err := s.Workspaces.Count(ctx, workspaces.OwnerOf(p))
	if err != nil {
		return err
	}
	if n >= quota {
		return &apierr.Error{Status: http.StatusForbidden, Code: "quota_exceeded",
			Message: "workspace quota reached (" + itoa(quota) + "); delete one or ask an admin for more"}
	}
	ws, err := s.Workspaces.Create(ctx, workspaces.Owner{ID: u.ID, Email: u.Email}, req.Name, req.WorkspaceSpec)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/workspaces/"+ws.Name)
	c.JSON(http.StatusCreated, ws)
	return nil
}

func pathName(c *gin.Context) (string, error) {
	n := c.Param("name")
	if err := workspaces.ValidateName(n); err != nil {
		// A name that cannot exist cannot be found either.
		return "", apierr.NotFound("workspace %q not found", n)
	}
	return n, nil
}

func (s *Server) getWorkspace(c *gin.Context) error {
	name, err := pathName(c)
	if err != nil {
		return err
	}
	ws, err := s.Workspaces.Get(c.Request.Context(), workspaces.OwnerOf(PrincipalOf(c)), name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, ws)
	return nil
}

func (s *Server) patchWorkspace(c *gin.Context) error {
	name, err := pathName(c)
	if err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	ws, err := s.Workspaces.Patch(c.Request.Context(), workspaces.OwnerOf(PrincipalOf(c)), name, body)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, ws)
	return nil
}

func (s *Server) deleteWorkspace(c *gin.Context) error {
	name, err := pathName(c)
	if err != nil {
		return err
	}
	if err := s.Workspaces.Delete(c.Request.Context(), workspaces.OwnerOf(PrincipalOf(c)), name); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listPatterns(c *gin.Context) error {
	names, err := s.Patterns.Names(c.Request.Context())
	if err != nil {
		return apierr.Unavailable(err, "the pattern catalog is not reachable")
	}
	c.JSON(http.StatusOK, listJSON[string]{Items: names})
	return nil
}
