package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

func itoa(i int) string { return strconv.Itoa(i) }

func queryInt(c *gin.Context, name string, def, max int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i > max {
		return 0, apierr.Invalid(name, "%s must be a number from 0 to %d", name, max)
	}
	return i, nil
}

func (s *Server) adminListUsers(c *gin.Context) error {
	limit, err := queryInt(c, "limit", 100, 500)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 1<<30)
	if err != nil {
		return err
	}
	us, total, err := s.Store.ListUsers(c.Request.Context(), store.Page{Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := struct {
		Items []userJSON `json:"items"`
		Total int64      `json:"total"`
	}{Items: make([]userJSON, 0, len(us)), Total: total}
	for i := range us {
		out.Items = append(out.Items, s.userView(&us[i]))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) adminPatchUser(c *gin.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return apierr.NotFound("user not found")
	}
	var req struct {
		Role *string `json:"role"`
		// WorkspaceQuota is a number, or null to fall back to the default.
		WorkspaceQuota json.RawMessage `json:"workspaceQuota"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	var up store.UserUpdate
	if req.Role != nil {
		if *req.Role != store.RoleUser && *req.Role != store.RoleAdmin {
			return apierr.Invalid("role", "role must be %q or %q", store.RoleUser, store.RoleAdmin)
		}
		if id == PrincipalOf(c).UserID && *req.Role != store.RoleAdmin {
			return apierr.Invalid("role", "admins cannot demote themselves; ask another admin")
		}
		up.Role = req.Role
	}
	if len(req.WorkspaceQuota) > 0 {
		var q *int
		if string(req.WorkspaceQuota) != "null" {
			var v int
			if err := json.Unmarshal(req.WorkspaceQuota, &v); err != nil || v < 0 || v > 1000 {
				return apierr.Invalid("workspaceQuota", "workspaceQuota must be a number from 0 to 1000, or null for the default")
			}
			q = &v
		}
		up.WorkspaceQuota = &q
	}
	u, err := s.Store.UpdateUser(c.Request.Context(), id, up)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.userView(u))
	return nil
}

func (s *Server) adminListWorkspaces(c *gin.Context) error {
	ws, err := s.Workspaces.ListAll(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, listJSON[workspaces.Workspace]{Items: ws})
	return nil
}
