package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/store"
)

// Authenticator finds the principal of a request. It returns (nil, nil)
// when the request carries no credentials it understands, so the next
// authenticator can try.
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Principal, error)
}

// BearerToken authenticates "Authorization: Bearer <access token>".
type BearerToken struct{ Tokens *auth.Tokens }

// Authenticate implements Authenticator.
func (b BearerToken) Authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, nil
	}
	p, err := b.Tokens.Verify(strings.TrimSpace(tok))
	if err != nil {
		return nil, err
	}
	return &p, nil
}

type principalKey struct{}

// PrincipalOf returns the authenticated principal of the request.
func PrincipalOf(c *gin.Context) auth.Principal {
	p, _ := c.Request.Context().Value(principalKey{}).(auth.Principal)
	return p
}

// APIToken authenticates "Authorization: Bearer aichat_..." against the
// stored hashes. Every request reads the database, so a revocation holds
// from the next request on, on every replica.
type APIToken struct {
	Store store.Store
	Now   func() time.Time
}

// Authenticate implements Authenticator.
func (a APIToken) Authenticate(r *http.Request) (*auth.Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.HasPrefix(tok, auth.APITokenPrefix) {
		return nil, nil
	}
	if !auth.LooksLikeAPIToken(tok) {
		return nil, apierr.Unauthorized("invalid API token")
	}
	ctx := r.Context()
	t, err := a.Store.APITokenByHash(ctx, auth.HashAPIToken(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, apierr.Unauthorized("invalid API token")
	case err != nil:
		return nil, apierr.Unavailable(err, "cannot check the API token right now")
	case t.RevokedAt != nil:
		return nil, apierr.Unauthorized("this API token was revoked")
	case t.ExpiresAt != nil && !a.Now().Before(*t.ExpiresAt):
		return nil, apierr.Unauthorized("this API token expired")
	}
	u, err := a.Store.UserByID(ctx, t.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.Unauthorized("invalid API token")
	} else if err != nil {
		return nil, apierr.Unavailable(err, "cannot check the API token right now")
	}
	return &auth.Principal{UserID: u.ID, Email: u.Email, Role: u.Role, Via: "api_token",
		APITokenID: t.ID, Workspace: t.Workspace}, nil
}

// authenticateGateway is authenticate for gateway routes. An API token's
// own verdict (revoked, expired) is worth telling its holder; a JWT's stays
// generic.
func (s *Server) authenticateGateway(c *gin.Context) {
	for _, a := range s.gatewayAuth {
		p, err := a.Authenticate(c.Request)
		if err != nil {
			if _, ok := apierr.As(err); !ok {
				s.Log.Debug("authentication failed", "error", err)
				err = apierr.Unauthorized("invalid or expired token")
			}
			s.writeError(c, err)
			return
		}
		if p != nil {
			c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, *p))
			c.Next()
			return
		}
	}
	s.writeError(c, apierr.Unauthorized("missing bearer token (an API token or a session access token)"))
}

func (s *Server) authenticate(c *gin.Context) {
	for _, a := range s.Authenticators {
		p, err := a.Authenticate(c.Request)
		if err != nil {
			s.Log.Debug("authentication failed", "error", err)
			s.writeError(c, apierr.Unauthorized("invalid or expired token"))
			return
		}
		if p != nil {
			c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, *p))
			c.Next()
			return
		}
	}
	s.writeError(c, apierr.Unauthorized("missing bearer token"))
}

// requireAdmin checks the role in the database, not only in the token, so
// demoting an admin takes effect at once for admin routes.
func (s *Server) requireAdmin(c *gin.Context) {
	p := PrincipalOf(c)
	u, err := s.Store.UserByID(c.Request.Context(), p.UserID)
	if err != nil || u.Role != store.RoleAdmin {
		s.writeError(c, apierr.Forbidden("admin role required"))
		return
	}
	c.Next()
}

// limitBody bounds every request body. A declared length above the limit is
// refused before reading; otherwise MaxBytesReader stops the read.
func (s *Server) limitBody(c *gin.Context) {
	limit := s.Config.MaxBodyBytes
	if strings.HasPrefix(c.FullPath(), gatewayPrefix+"/") {
		// Embeddings of documents and images are far larger than API calls.
		limit = s.Config.GatewayMaxBodyBytes
	}
	if c.Request.ContentLength > limit {
		s.writeError(c, apierr.TooLarge(limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.writeError(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// observe records metrics and logs each request. 2xx/3xx are logged at
// debug so a busy portal does not spend its time writing logs.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "no-store")
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	d := time.Since(start)
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(c.Request.Method, route).Observe(d.Seconds())
	lvl := slog.LevelDebug
	if status >= 400 {
		lvl = slog.LevelInfo
	}
	if status >= 500 {
		lvl = slog.LevelWarn
	}
	s.Log.Log(c.Request.Context(), lvl, "request", "method", c.Request.Method, "route", route,
		"status", status, "duration_ms", float64(d.Microseconds())/1000, "client", c.ClientIP())
}
