package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

// createdTokenJSON is the answer to POST /api/v1/tokens: the only time the
// secret is shown.
type createdTokenJSON struct {
	ID         uint64     `json:"id"`
	Name       string     `json:"name"`
	Workspace  string     `json:"workspace"`
	Token      string     `json:"token"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// tokenJSON is a token in a list: never the secret.
type tokenJSON struct {
	ID           uint64     `json:"id"`
	UserID       uint64     `json:"user_id,omitempty"` // admin listing only
	Name         string     `json:"name"`
	Workspace    string     `json:"workspace"`
	Prefix       string     `json:"prefix"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	Revoked      bool       `json:"revoked"`
	Requests     int64      `json:"requests"`
	PromptTokens int64      `json:"prompt_tokens"`
	EvalTokens   int64      `json:"eval_tokens"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// tokenView adds the usage the gateway has not written yet, so counters
// are current between flushes.
func (s *Server) tokenView(t *store.APIToken, admin bool) tokenJSON {
	pending := s.gateway.Pending(t.ID)
	last := utc(t.LastUsedAt)
	if !pending.LastUsedAt.IsZero() && (last == nil || pending.LastUsedAt.After(*last)) {
		last = utc(&pending.LastUsedAt)
	}
	v := tokenJSON{
		ID: t.ID, Name: t.Name, Workspace: t.Workspace, Prefix: t.Prefix,
		CreatedAt: t.CreatedAt.UTC(), ExpiresAt: utc(t.ExpiresAt), LastUsedAt: last, Revoked: t.RevokedAt != nil,
		Requests: t.Requests + pending.Requests, PromptTokens: t.PromptTokens + pending.PromptTokens,
		EvalTokens: t.EvalTokens + pending.EvalTokens,
	}
	if admin {
		v.UserID = t.UserID
	}
	return v
}

func (s *Server) listTokens(c *gin.Context) error {
	ts, err := s.Store.ListAPITokens(c.Request.Context(), PrincipalOf(c).UserID)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(ts))
	for i := range ts {
		out = append(out, s.tokenView(&ts[i], false))
	}
	c.JSON(http.StatusOK, listJSON[tokenJSON]{Items: out})
	return nil
}

func (s *Server) adminListTokens(c *gin.Context) error {
	ts, err := s.Store.ListAPITokens(c.Request.Context(), 0)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(ts))
	for i := range ts {
		out = append(out, s.tokenView(&ts[i], true))
	}
	c.JSON(http.StatusOK, listJSON[tokenJSON]{Items: out})
	return nil
}

func (s *Server) createToken(c *gin.Context) error {
	var req struct {
		Name          string `json:"name"`
		Workspace     string `json:"workspace"`
		ExpiresInDays int    `json:"expires_in_days"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len([]rune(name)) > 64 {
		return apierr.Invalid("name", "name must be 1 to 64 characters")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return apierr.Invalid("name", "name must not contain control characters")
		}
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > 365 {
		return apierr.Invalid("expires_in_days", "expires_in_days must be 0 (never) or 1 to 365")
	}
	ctx := c.Request.Context()
	p := PrincipalOf(c)
	if req.Workspace != "" {
		if err := workspaces.ValidateName(req.Workspace); err != nil {
			return apierr.Invalid("workspace", "workspace must be \"\" (all your workspaces) or the name of one of them")
		}
		if _, err := s.Workspaces.Get(ctx, workspaces.OwnerOf(p), req.Workspace); err != nil {
			return err
		}
	}
	now := s.Now().UTC().Truncate(time.Second)
	n, err := s.Store.CountActiveAPITokens(ctx, p.UserID, now)
	if err != nil {
		return err
	}
	if n >= int64(s.Config.MaxAPITokensPerUser) {
		return &apierr.Error{Status: http.StatusForbidden, Code: "quota_exceeded",
			Message: "you have " + strconv.FormatInt(n, 10) + " active API tokens, the most allowed; revoke one first"}
	}
	secret, hash, prefix, err := auth.NewAPIToken()
	if err != nil {
		return err
	}
	t := &store.APIToken{UserID: p.UserID, Name: name, Workspace: req.Workspace, TokenHash: hash, Prefix: prefix, CreatedAt: now}
	if req.ExpiresInDays > 0 {
		exp := now.Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)
		t.ExpiresAt = &exp
	}
	if err := s.Store.CreateAPIToken(ctx, t); err != nil {
		return err
	}
	c.Header("Location", "/api/v1/tokens/"+strconv.FormatUint(t.ID, 10))
	c.JSON(http.StatusCreated, createdTokenJSON{
		ID: t.ID, Name: t.Name, Workspace: t.Workspace, Token: secret, Prefix: t.Prefix,
		CreatedAt: now, ExpiresAt: t.ExpiresAt,
	})
	return nil
}

func (s *Server) revokeToken(c *gin.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return apierr.NotFound("token not found")
	}
	err = s.Store.RevokeAPIToken(c.Request.Context(), PrincipalOf(c).UserID, id, s.Now().UTC())
	if err == store.ErrNotFound {
		return apierr.NotFound("token not found")
	}
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
