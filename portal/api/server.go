// Package api is the portal's HTTP API: the router, its middleware, the
// handlers and the OpenAPI document that describes them. Handlers are thin:
// they decode, call the store or the workspace service, and return errors
// that errors.go maps to HTTP in one place.
package api

import (
	"log/slog"
	"net/http"
	pathpkg "path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/gateway"
	"github.com/aichatworkspaces/workspaces/portal/patterns"
	"github.com/aichatworkspaces/workspaces/portal/ratelimit"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

// Deps are what the server is built from.
type Deps struct {
	Config     config.Config
	Store      store.Store
	Tokens     *auth.Tokens
	Hasher     *auth.Hasher
	Workspaces workspaces.Service
	Patterns   *patterns.Catalog
	Log        *slog.Logger
	// Registry receives the portal's metrics; a new one when nil.
	Registry *prometheus.Registry
	// Authenticators are tried in order on protected routes; the default
	// is bearer access tokens. The gateway or a web session can add theirs.
	Authenticators []Authenticator
	// GatewayResolver finds a workspace's Ollama for the LLM gateway; nil
	// uses the --gateway-upstream-template / --gateway-keda-* settings.
	GatewayResolver gateway.Resolver
	// Web serves the browser front end: GET and HEAD requests that match no
	// route and are outside the API's own paths (see Reserved). Nil leaves
	// every unmatched path a JSON 404.
	Web http.Handler
	Now func() time.Time
}

// Server is the portal API.
type Server struct {
	Deps
	engine       *gin.Engine
	ipLimiter    *ratelimit.Limiter
	emailLimiter *ratelimit.Limiter
	metrics      *metrics
	routes       []route
	gateway      *gateway.Gateway
	// gatewayAuth authenticates gateway calls: API tokens, then the
	// protected routes' authenticators (session access tokens).
	gatewayAuth []Authenticator
}

// Access says who may call a route.
type Access int

// Access levels.
const (
	Public Access = iota
	User
	Admin
	// Gateway routes take an API token or a session access token.
	Gateway
)

type route struct {
	Method string
	Path   string
	Access Access
	Handle handlerFunc
}

// New builds the server and its routes.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if len(d.Authenticators) == 0 {
		d.Authenticators = []Authenticator{BearerToken{Tokens: d.Tokens}}
	}
	s := &Server{
		Deps:         d,
		ipLimiter:    ratelimit.New(d.Config.LoginPerIPPerMinute, d.Now),
		emailLimiter: ratelimit.New(d.Config.LoginPerAccount, d.Now),
	}
	m, err := newMetrics(d.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	resolver := d.GatewayResolver
	if resolver == nil {
		resolver = gateway.Template{URL: d.Config.GatewayUpstreamTemplate,
			Interceptor: d.Config.GatewayKEDAInterceptor, HostTemplate: d.Config.GatewayKEDAHostTemplate}
	}
	s.gateway, err = gateway.New(gateway.Options{
		Resolver: resolver, Store: d.Store, Log: d.Log, Registry: d.Registry, Now: d.Now,
		RequestsPerMinute: d.Config.GatewayRequestsPerMin, HeaderTimeout: d.Config.GatewayHeaderTimeout,
		IdleTimeout: d.Config.GatewayIdleTimeout, BodyTimeout: d.Config.GatewayBodyTimeout,
	})
	if err != nil {
		return nil, err
	}
	s.gatewayAuth = append([]Authenticator{APIToken{Store: d.Store, Now: d.Now}}, d.Authenticators...)

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(d.Config.TrustedProxies); err != nil {
		return nil, err
	}
	e.Use(s.observe, s.recover, s.limitBody)
	e.NoRoute(s.noRoute)
	e.NoMethod(func(c *gin.Context) { s.writeError(c, errNoMethod) })
	s.engine = e

	s.routes = s.apiRoutes()
	for _, r := range s.routes {
		s.Handle(r.Method, r.Path, r.Access, r.Handle)
	}
	return s, nil
}

// apiRoutes is every route of the portal. openapi.yaml documents exactly
// these; TestOpenAPIMatchesRoutes keeps the two in step.
func (s *Server) apiRoutes() []route {
	rs := []route{
		{http.MethodGet, "/healthz", Public, s.healthz},
		{http.MethodGet, "/readyz", Public, s.readyz},
		{http.MethodGet, "/metrics", Public, s.serveMetrics},
		{http.MethodGet, "/api/v1/openapi.json", Public, s.openAPI},

		{http.MethodPost, "/api/v1/auth/register", Public, s.register},
		{http.MethodPost, "/api/v1/auth/login", Public, s.login},
		{http.MethodPost, "/api/v1/auth/refresh", Public, s.refresh},
		{http.MethodPost, "/api/v1/auth/logout", Public, s.logout},

		{http.MethodGet, "/api/v1/me", User, s.getMe},
		{http.MethodPatch, "/api/v1/me", User, s.patchMe},
		{http.MethodPost, "/api/v1/me/password", User, s.changePassword},

		{http.MethodGet, "/api/v1/workspaces", User, s.listWorkspaces},
		{http.MethodPost, "/api/v1/workspaces", User, s.createWorkspace},
		{http.MethodGet, "/api/v1/workspaces/:name", User, s.getWorkspace},
		{http.MethodPatch, "/api/v1/workspaces/:name", User, s.patchWorkspace},
		{http.MethodDelete, "/api/v1/workspaces/:name", User, s.deleteWorkspace},

		{http.MethodGet, "/api/v1/patterns", User, s.listPatterns},

		{http.MethodGet, "/api/v1/admin/users", Admin, s.adminListUsers},
		{http.MethodPatch, "/api/v1/admin/users/:id", Admin, s.adminPatchUser},
		{http.MethodGet, "/api/v1/admin/workspaces", Admin, s.adminListWorkspaces},

		{http.MethodGet, "/api/v1/tokens", User, s.listTokens},
		{http.MethodPost, "/api/v1/tokens", User, s.createToken},
		{http.MethodDelete, "/api/v1/tokens/:id", User, s.revokeToken},
		{http.MethodGet, "/api/v1/admin/tokens", Admin, s.adminListTokens},
	}
	for _, e := range gateway.Forwarded {
		rs = append(rs, route{e.Method, gatewayPrefix + e.Path, Gateway, s.forward})
	}
	for _, e := range gateway.Refused {
		rs = append(rs, route{e.Method, gatewayPrefix + e.Path, Gateway, s.refuse})
	}
	return rs
}

// Handle registers a route behind the access check. Later features (web UI,
// LLM gateway) add their routes through it.
func (s *Server) Handle(method, path string, a Access, h handlerFunc) {
	chain := []gin.HandlerFunc{}
	switch a {
	case User:
		chain = append(chain, s.authenticate)
	case Admin:
		chain = append(chain, s.authenticate, s.requireAdmin)
	case Gateway:
		chain = append(chain, s.authenticateGateway)
	}
	chain = append(chain, s.wrap(h))
	s.engine.Handle(method, path, chain...)
}

// Gateway is the LLM gateway, whose usage ledger the app flushes.
func (s *Server) Gateway() *gateway.Gateway { return s.gateway }

// Reserved reports whether path belongs to the API side of the portal, where
// an unknown path must stay a JSON 404 and never become the web app's page:
// a client of /api or of the LLM gateway has to see a machine-readable error.
func Reserved(p string) bool {
	// Clean first, so "//api/x" or "/x/../api" count as the API too.
	path := pathpkg.Clean("/" + p)
	for _, p := range []string{"/api", "/llm", "/healthz", "/readyz", "/metrics"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func (s *Server) noRoute(c *gin.Context) {
	r := c.Request
	if s.Web != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !Reserved(r.URL.Path) {
		s.Web.ServeHTTP(c.Writer, r)
		return
	}
	s.writeError(c, errNoRoute)
}

// Engine is the underlying router, e.g. to mount static files.
func (s *Server) Engine() *gin.Engine { return s.engine }

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }
