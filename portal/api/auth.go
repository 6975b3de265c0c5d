package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

// userJSON is the public view of a user.
type userJSON struct {
	ID             uint64    `json:"id"`
	Email          string    `json:"email"`
	Name           string    `json:"name"`
	Role           string    `json:"role"`
	WorkspaceQuota int       `json:"workspaceQuota"`
	CreatedAt      time.Time `json:"createdAt"`
}

func (s *Server) userView(u *store.User) userJSON {
	q := s.Config.WorkspaceQuota
	if u.WorkspaceQuota != nil {
		q = *u.WorkspaceQuota
	}
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, WorkspaceQuota: q, CreatedAt: u.CreatedAt.UTC()}
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func checkName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if n == "" || len([]rune(n)) > 100 {
		return "", apierr.Invalid("name", "name must be 1 to 100 characters")
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "", apierr.Invalid("name", "name must not contain control characters")
		}
	}
	return n, nil
}

func (s *Server) limitClient(c *gin.Context) error {
	if ok, wait := s.ipLimiter.Allow(c.ClientIP()); !ok {
		return apierr.TooManyRequests(wait, "too many attempts from this address; retry in %d s", wait)
	}
	return nil
}

func (s *Server) register(c *gin.Context) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	email, err := auth.NormalizeEmail(req.Email)
	if err != nil {
		return apierr.Invalid("email", "%s", err.Error())
	}
	if err := auth.CheckPassword(req.Password); err != nil {
		return apierr.Invalid("password", "%s", err.Error())
	}
	name, err := checkName(req.Name)
	if err != nil {
		return err
	}
	// Hashing is expensive on purpose; limit it like logins.
	if err := s.limitClient(c); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(req.Password)
	if err != nil {
		return err
	}
	// New accounts are never admins: that takes `portal admin grant`.
	u := &store.User{Email: email, Name: name, PasswordHash: hash, Role: store.RoleUser}
	if err := s.Store.CreateUser(c.Request.Context(), u); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return apierr.Conflict("email", "an account with this e-mail address exists")
		}
		return err
	}
	c.JSON(http.StatusCreated, s.userView(u))
	return nil
}

var errBadCredentials = apierr.Unauthorized("wrong e-mail address or password")

func (s *Server) login(c *gin.Context) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.limitClient(c); err != nil {
		s.metrics.logins.WithLabelValues("rate_limited").Inc()
		return err
	}
	email, emailErr := auth.NormalizeEmail(req.Email)
	if emailErr != nil {
		email = strings.ToLower(strings.TrimSpace(req.Email))
	}
	if ok, wait := s.emailLimiter.Allow(email); !ok {
		s.metrics.logins.WithLabelValues("rate_limited").Inc()
		return apierr.TooManyRequests(wait, "too many attempts for this account; retry in %d s", wait)
	}
	var u *store.User
	if emailErr == nil {
		var err error
		u, err = s.Store.UserByEmail(c.Request.Context(), email)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	// Compare even for unknown users so both cases take as long.
	if !s.Hasher.Compare(hash, req.Password) || u == nil {
		s.metrics.logins.WithLabelValues("failed").Inc()
		return errBadCredentials
	}
	family, err := auth.NewFamilyID()
	if err != nil {
		return err
	}
	pair, err := s.issue(c, u, func(hash string, exp time.Time) error {
		return s.Store.CreateRefreshToken(c.Request.Context(), &store.RefreshToken{
			UserID: u.ID, FamilyID: family, TokenHash: hash, ExpiresAt: exp,
		})
	})
	if err != nil {
		return err
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	c.JSON(http.StatusOK, pair)
	return nil
}

// issue makes an access token and a refresh token; save stores the refresh
// token's hash.
func (s *Server) issue(c *gin.Context, u *store.User, save func(hash string, exp time.Time) error) (*tokenPair, error) {
	access, _, err := s.Tokens.Issue(auth.Principal{UserID: u.ID, Email: u.Email, Role: u.Role})
	if err != nil {
		return nil, err
	}
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		return nil, err
	}
	if err := save(hash, s.Now().UTC().Add(s.Config.RefreshTTL)); err != nil {
		return nil, err
	}
	return &tokenPair{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(s.Tokens.TTL().Seconds())}, nil
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) refresh(c *gin.Context) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apierr.Invalid("refresh_token", "refresh_token is required")
	}
	if err := s.limitClient(c); err != nil {
		return err
	}
	pair, err := s.issueRotated(c, req.RefreshToken)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, pair)
	return nil
}

func (s *Server) issueRotated(c *gin.Context, token string) (*tokenPair, error) {
	ctx := c.Request.Context()
	old, err := s.Store.RefreshTokenByHash(ctx, auth.HashRefreshToken(token))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, apierr.Unauthorized("invalid refresh token")
		}
		return nil, err
	}
	// Load the user first: a role change shows up in the next access token.
	u, err := s.Store.UserByID(ctx, old.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, apierr.Unauthorized("invalid refresh token")
		}
		return nil, err
	}
	return s.issue(c, u, func(hash string, exp time.Time) error {
		_, err := s.Store.RotateRefreshToken(ctx, auth.HashRefreshToken(token), &store.RefreshToken{TokenHash: hash, ExpiresAt: exp}, s.Now().UTC())
		switch {
		case errors.Is(err, store.ErrTokenReused):
			s.Log.Warn("refresh token reused; family revoked", "user", u.ID, "family", old.FamilyID)
			return apierr.Unauthorized("refresh token was already used; all sessions of this login are revoked, sign in again")
		case errors.Is(err, store.ErrTokenExpired), errors.Is(err, store.ErrNotFound):
			return apierr.Unauthorized("refresh token expired; sign in again")
		}
		return err
	})
}

func (s *Server) logout(c *gin.Context) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apierr.Invalid("refresh_token", "refresh_token is required")
	}
	t, err := s.Store.RefreshTokenByHash(c.Request.Context(), auth.HashRefreshToken(req.RefreshToken))
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Nothing to revoke; logging out twice is not an error.
	case err != nil:
		return err
	default:
		if err := s.Store.RevokeFamily(c.Request.Context(), t.FamilyID, s.Now().UTC()); err != nil {
			return err
		}
	}
	c.Status(http.StatusNoContent)
	return nil
}
