package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

func (s *Server) getMe(c *gin.Context) error {
	u, err := s.Store.UserByID(c.Request.Context(), PrincipalOf(c).UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.userView(u))
	return nil
}

func (s *Server) patchMe(c *gin.Context) error {
	var req struct {
		Name  *string `json:"name"`
		Email *string `json:"email"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Email != nil {
		// The e-mail is the owner written into claims, which is immutable.
		return apierr.Invalid("email", "the e-mail address cannot be changed")
	}
	var up store.UserUpdate
	if req.Name != nil {
		n, err := checkName(*req.Name)
		if err != nil {
			return err
		}
		up.Name = &n
	}
	u, err := s.Store.UpdateUser(c.Request.Context(), PrincipalOf(c).UserID, up)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.userView(u))
	return nil
}

func (s *Server) changePassword(c *gin.Context) error {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := auth.CheckPassword(req.NewPassword); err != nil {
		return apierr.Invalid("new_password", "%s", err.Error())
	}
	ctx := c.Request.Context()
	p := PrincipalOf(c)
	if ok, wait := s.emailLimiter.Allow(p.Email); !ok {
		return apierr.TooManyRequests(wait, "too many attempts for this account; retry in %d s", wait)
	}
	u, err := s.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !s.Hasher.Compare(u.PasswordHash, req.CurrentPassword) {
		return apierr.Invalid("current_password", "the current password is wrong")
	}
	hash, err := s.Hasher.Hash(req.NewPassword)
	if err != nil {
		return err
	}
	if _, err := s.Store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return err
	}
	// A new password ends every other session.
	if err := s.Store.RevokeUserTokens(ctx, u.ID, s.Now().UTC()); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
