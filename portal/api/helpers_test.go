package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aichatworkspaces/workspaces/portal/api"
	"github.com/aichatworkspaces/workspaces/portal/auth"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/gateway"
	"github.com/aichatworkspaces/workspaces/portal/patterns"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopMySQL()
	os.Exit(code)
}

var testKey = []byte("test-key-test-key-test-key-test-key!")

type env struct {
	srv   *api.Server
	store *store.GormStore
	cfg   config.Config
	log   *bytes.Buffer
}

type envOptions struct {
	dsn        string // "" = SQLite
	workspaces workspaces.Service
	edit       func(*config.Config)
	resolver   gateway.Resolver
	now        func() time.Time
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	cfg := config.Default()
	cfg.BcryptCost = 4 // the minimum: tests do not measure bcrypt
	cfg.JWTSecret = string(testKey)
	cfg.PatternSource = t.TempDir()
	if o.edit != nil {
		o.edit(&cfg)
	}
	st, db, err := store.Open(o.dsn, filepath.Join(t.TempDir(), "portal.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := store.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	h, err := auth.NewHasher(cfg.BcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	if o.workspaces == nil {
		o.workspaces = workspaces.Disabled{}
	}
	logs := &bytes.Buffer{}
	srv, err := api.New(api.Deps{
		Config: cfg, Store: st, Hasher: h, Workspaces: o.workspaces,
		Tokens:          auth.NewTokens(testKey, cfg.JWTIssuer, cfg.JWTAudience, cfg.AccessTTL, nil),
		Patterns:        patterns.New(cfg.PatternSource, cfg.PatternCatalog, cfg.PatternTTL),
		Log:             slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		GatewayResolver: o.resolver,
		Now:             o.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, store: st, cfg: cfg, log: logs}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Error returns code and field of an error body, failing unless the body
// has the error shape.
func (r response) Error(t *testing.T) (code, field string) {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d: not an error body: %s", r.Status, r.Body)
	}
	return e.Error.Code, e.Error.Field
}

func (e *env) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	return response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
}

type pair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// signup registers and logs in a user, returning their tokens.
func (e *env) signup(t *testing.T, email string) pair {
	t.Helper()
	if r := e.do(t, "POST", "/api/v1/auth/register", "", map[string]string{"email": email, "password": "passw0rd-long", "name": "N"}); r.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", email, r.Status, r.Body)
	}
	return e.login(t, email, "passw0rd-long")
}

func (e *env) login(t *testing.T, email, pw string) pair {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": pw})
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	var p pair
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) makeAdmin(t *testing.T, email string) {
	t.Helper()
	u, err := e.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	role := store.RoleAdmin
	if _, err := e.store.UpdateUser(context.Background(), u.ID, store.UserUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
}
