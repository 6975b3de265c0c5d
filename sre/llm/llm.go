// Package llm asks an Ollama-compatible server (the platform's own Ollama,
// or the portal's LLM gateway with a token) for a diagnosis, under a global
// and a per-workspace rate limit.
package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	"golang.org/x/time/rate"
)

// ErrRateLimited says the diagnosis was not asked for: a limit was reached.
var ErrRateLimited = errors.New("LLM rate limit reached")

// Config says which LLM to ask.
type Config struct {
	// URL is the base URL of an Ollama API (http://ollama.platform:11434)
	// or of a workspace behind the portal's gateway
	// (https://portal/llm/<workspace>). Empty disables the LLM.
	URL   string
	Model string
	// Token is sent as a bearer token (the portal gateway needs one).
	Token   string
	Timeout time.Duration
	// MaxTokens bounds the answer (Ollama's num_predict).
	MaxTokens int
}

// Client asks one model.
type Client struct {
	cfg Config
	api *api.Client
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("LLM URL %q is not an absolute URL", cfg.URL)
	}
	if cfg.Model == "" {
		return nil, errors.New("an LLM URL needs a model")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 256
	}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: bearer{token: cfg.Token, next: http.DefaultTransport}}
	return &Client{cfg: cfg, api: api.NewClient(u, hc)}, nil
}

// Model is the model asked.
func (c *Client) Model() string { return c.cfg.Model }

// Diagnose sends one non-streamed chat request: the system instructions and
// the prompt.
func (c *Client) Diagnose(ctx context.Context, system, prompt string) (string, error) {
	stream := false
	var out strings.Builder
	err := c.api.Chat(ctx, &api.ChatRequest{
		Model:    c.cfg.Model,
		Stream:   &stream,
		Messages: []api.Message{{Role: "system", Content: system}, {Role: "user", Content: prompt}},
		Options:  map[string]any{"num_predict": c.cfg.MaxTokens, "temperature": 0},
	}, func(r api.ChatResponse) error {
		out.WriteString(r.Message.Content)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("asking %s at %s: %w", c.cfg.Model, c.cfg.URL, err)
	}
	return strings.TrimSpace(out.String()), nil
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token == "" {
		return b.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// Limits bound how often the LLM is asked: globally (the platform's Ollama
// is shared) and per workspace (one broken workspace must not starve the
// others).
type Limits struct {
	Global, PerWorkspace rate.Limit
	GlobalBurst, Burst   int
}

// Limiter applies Limits.
type Limiter struct {
	l      Limits
	global *rate.Limiter
	mu     sync.Mutex
	per    map[string]*rate.Limiter
}

// NewLimiter returns a Limiter for l.
func NewLimiter(l Limits) *Limiter {
	return &Limiter{l: l, global: rate.NewLimiter(l.Global, l.GlobalBurst), per: map[string]*rate.Limiter{}}
}

// Allow reports whether workspace may ask now, taking a token from both
// limits only when both have one.
func (l *Limiter) Allow(workspace string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.per[workspace]
	if !ok {
		w = rate.NewLimiter(l.l.PerWorkspace, l.l.Burst)
		l.per[workspace] = w
	}
	rw := w.ReserveN(now, 1)
	if !rw.OK() || rw.DelayFrom(now) > 0 {
		rw.CancelAt(now)
		return false
	}
	rg := l.global.ReserveN(now, 1)
	if !rg.OK() || rg.DelayFrom(now) > 0 {
		rg.CancelAt(now)
		rw.CancelAt(now)
		return false
	}
	return true
}

// Forget drops a workspace's limiter (its namespace is gone).
func (l *Limiter) Forget(workspace string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.per, workspace)
}
