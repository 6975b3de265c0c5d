// Package gateway is the portal's LLM gateway: it forwards Ollama's native
// and OpenAI-compatible API of one workspace to that workspace's Ollama,
// streaming answers chunk by chunk, and meters each call (rate limit per
// token, token usage from Ollama's own counts, Prometheus metrics).
//
// Who may call is decided by the caller (portal/api): the gateway gets a
// workspace the caller may use and forwards one request to it.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/ratelimit"
	"github.com/aichatworkspaces/workspaces/portal/store"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

// Upstream is where a workspace's Ollama answers.
type Upstream struct {
	// URL is the base URL requests go to.
	URL *url.URL
	// Host, when set, is the Host header to send instead of URL's host:
	// the KEDA interceptor routes on it.
	Host string
}

// Resolver finds a workspace's Ollama.
type Resolver interface {
	Resolve(ws *workspaces.Workspace) (Upstream, error)
}

// ResolverFunc adapts a function to Resolver (tests point workspaces at a
// local Ollama with one).
type ResolverFunc func(ws *workspaces.Workspace) (Upstream, error)

// Resolve implements Resolver.
func (f ResolverFunc) Resolve(ws *workspaces.Workspace) (Upstream, error) { return f(ws) }

// Template resolves from the claim's status.namespace: URL is a template
// like http://ollama.{namespace}.svc:11434 ({workspace} is the claim name).
// With Interceptor set, requests go to the KEDA interceptor instead, with
// the Host header from HostTemplate, so that a request to a workspace
// scaled to zero is held by the interceptor while KEDA wakes it.
type Template struct {
	URL          string
	Interceptor  string
	HostTemplate string
}

// Resolve implements Resolver.
func (t Template) Resolve(ws *workspaces.Workspace) (Upstream, error) {
	if ws.Status.Namespace == "" {
		return Upstream{}, &apierr.Error{Status: http.StatusServiceUnavailable, Code: "not_ready", RetryAfter: 30,
			Message: "workspace " + strconv.Quote(ws.Name) + " has no namespace yet (still being created); retry later"}
	}
	r := strings.NewReplacer("{namespace}", ws.Status.Namespace, "{workspace}", ws.Name)
	raw, host := r.Replace(t.URL), ""
	if t.Interceptor != "" {
		raw, host = t.Interceptor, r.Replace(t.HostTemplate)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Upstream{}, err
	}
	return Upstream{URL: u, Host: host}, nil
}

// Options configure a Gateway.
type Options struct {
	Resolver Resolver
	Store    store.Store
	Log      *slog.Logger
	Registry prometheus.Registerer
	// RequestsPerMinute per rate key (token or user), burst the same.
	RequestsPerMinute int
	// HeaderTimeout bounds the wait for Ollama's response headers (model
	// load, wake-up); IdleTimeout the pause between chunks either way;
	// BodyTimeout the upload of the request body.
	HeaderTimeout, IdleTimeout, BodyTimeout time.Duration
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	Now       func() time.Time
}

// Gateway forwards requests to workspaces' Ollama servers.
type Gateway struct {
	opts    Options
	proxy   *httputil.ReverseProxy
	limiter *ratelimit.Limiter
	ledger  *ledger
	m       *metrics
}

// New builds a gateway and registers its metrics.
func New(o Options) (*Gateway, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:                 nil, // in-cluster traffic never goes through HTTP_PROXY
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: o.HeaderTimeout,
			// Ollama answers compressed only when asked; passing the client's
			// Accept-Encoding through keeps the stream untouched.
			DisableCompression: true,
		}
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		opts:    o,
		limiter: ratelimit.New(o.RequestsPerMinute, o.Now),
		ledger:  newLedger(o.Store, o.Log),
		m:       m,
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      o.Transport,
		FlushInterval:  -1, // every chunk goes out as it comes: NDJSON and SSE alike
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       slog.NewLogLogger(o.Log.Handler(), slog.LevelDebug),
	}
	return g, nil
}

// Target is one authorised call.
type Target struct {
	Workspace *workspaces.Workspace
	// TokenID is the API token used (0 for a session token): its usage is
	// counted.
	TokenID uint64
	// RateKey is whose bucket the call takes from.
	RateKey string
	// Path is the Ollama path, e.g. /api/chat.
	Path string
}

type callKey struct{}

// call is the state of one forwarded request.
type call struct {
	target   Target
	upstream Upstream
	cancel   context.CancelFunc
	scan     usageScanner
	status   int
	err      error
	first    time.Time
	start    time.Time
	done     sync.Once
}

// Serve forwards r to the target's Ollama. It returns an error (for the
// portal's error writer) when nothing was sent yet; once the answer has
// started, a failure can only cut the stream.
func (g *Gateway) Serve(w http.ResponseWriter, r *http.Request, t Target) error {
	ws := t.Workspace
	if ok, wait := g.limiter.Allow(t.RateKey); !ok {
		g.m.limited.WithLabelValues(ws.Name).Inc()
		return apierr.TooManyRequests(wait, "rate limit of %d requests per minute reached; retry in %d s", g.opts.RequestsPerMinute, wait)
	}
	up, err := g.opts.Resolver.Resolve(ws)
	if err != nil {
		return err
	}
	hide := false
	if r.Method == http.MethodPost && openAIStreaming[t.Path] {
		if hide, err = askForUsage(r); err != nil {
			return err
		}
	}
	g.deadlines(w, r)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &call{target: t, upstream: up, cancel: cancel, start: g.opts.Now()}
	out := http.ResponseWriter(&idleWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: g.opts.IdleTimeout})
	var filter *sseFilter
	if hide {
		filter = &sseFilter{ResponseWriter: out}
		out = filter
	}
	g.m.inflight.WithLabelValues(ws.Name).Inc()
	// Deferred, so usage is counted even when a cut stream aborts the
	// handler (ReverseProxy panics with http.ErrAbortHandler then).
	defer func() {
		g.m.inflight.WithLabelValues(ws.Name).Dec()
		g.account(c)
	}()
	g.proxy.ServeHTTP(out, r.WithContext(context.WithValue(ctx, callKey{}, c)))
	if filter != nil {
		filter.finish()
	}
	return c.err
}

// askForUsage makes a streamed OpenAI-compatible request report usage:
// Ollama sends it only with stream_options.include_usage. It returns
// whether the gateway added it, so the extra chunk is hidden again.
func askForUsage(r *http.Request) (bool, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return false, apierr.TooLarge(mbe.Limit)
		}
		return false, apierr.BadRequest("bad_body", "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return false, nil // Ollama answers malformed JSON itself
	}
	var stream bool
	if json.Unmarshal(req["stream"], &stream) != nil || !stream {
		return false, nil
	}
	var opts map[string]json.RawMessage
	if raw, ok := req["stream_options"]; ok && json.Unmarshal(raw, &opts) != nil {
		return false, nil
	}
	if opts == nil {
		opts = map[string]json.RawMessage{}
	}
	var include bool
	if json.Unmarshal(opts["include_usage"], &include) == nil && include {
		return false, nil
	}
	opts["include_usage"] = json.RawMessage("true")
	req["stream_options"], _ = json.Marshal(opts)
	body, err = json.Marshal(req)
	if err != nil {
		return false, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true, nil
}

// deadlines replaces the server's whole-request timeouts, which suit short
// API calls and would cut a long generation, with per-request ones: the
// body must arrive within BodyTimeout, and the answer has no overall limit
// (idleWriter bounds each write instead). When the server's read deadline
// passed during a stream, net/http would cancel the request's context.
func (g *Gateway) deadlines(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // not supported by test recorders: nothing to lift there
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		_ = rc.SetReadDeadline(time.Time{})
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(g.opts.BodyTimeout))
	r.Body = &eofHook{ReadCloser: r.Body, onEOF: func() { _ = rc.SetReadDeadline(time.Time{}) }}
}

// eofHook runs onEOF once the body has been read to its end.
type eofHook struct {
	io.ReadCloser
	onEOF func()
	once  sync.Once
}

func (h *eofHook) Read(p []byte) (int, error) {
	n, err := h.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		h.once.Do(h.onEOF)
	}
	return n, err
}

// idleWriter gives each write to the client IdleTimeout: a client that
// stops reading is dropped, one that reads slowly is not.
type idleWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (w *idleWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	return w.ResponseWriter.Write(p)
}

func (w *idleWriter) Flush() { _ = w.rc.Flush() }

func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	c := pr.In.Context().Value(callKey{}).(*call)
	pr.SetURL(c.upstream.URL)
	pr.Out.URL.Path = strings.TrimRight(c.upstream.URL.Path, "/") + c.target.Path
	pr.Out.URL.RawPath = ""
	if c.upstream.Host != "" {
		pr.Out.Host = c.upstream.Host
	}
	// The caller's credentials are the portal's business, never Ollama's.
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Cookie")
	pr.Out.Header.Del("Proxy-Authorization")
}

func (g *Gateway) modifyResponse(resp *http.Response) error {
	c := resp.Request.Context().Value(callKey{}).(*call)
	c.status = resp.StatusCode
	c.first = g.opts.Now()
	g.m.firstByte.Observe(c.first.Sub(c.start).Seconds())
	resp.Body = &meter{body: resp.Body, c: c, idle: time.AfterFunc(g.opts.IdleTimeout, c.cancel), d: g.opts.IdleTimeout}
	return nil
}

// meter passes Ollama's answer through unchanged while the scanner reads
// the counts, and cancels the upstream request when Ollama falls silent
// for longer than the idle timeout.
type meter struct {
	body io.ReadCloser
	c    *call
	idle *time.Timer
	d    time.Duration
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.body.Read(p)
	m.idle.Reset(m.d)
	if n > 0 {
		m.c.scan.Write(p[:n])
	}
	return n, err
}

func (m *meter) Close() error {
	m.idle.Stop()
	m.c.done.Do(m.c.scan.Close)
	return m.body.Close()
}

// proxyError turns a failure before the answer started into the error
// Serve returns.
func (g *Gateway) proxyError(_ http.ResponseWriter, r *http.Request, err error) {
	c := r.Context().Value(callKey{}).(*call)
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		c.err = apierr.TooLarge(mbe.Limit)
	case r.Context().Err() != nil && errors.Is(context.Cause(r.Context()), context.Canceled):
		// The client went away; there is nobody to answer.
		c.err = nil
		c.status = 499
	case errors.As(err, &ne) && ne.Timeout():
		c.err = &apierr.Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Err: err,
			Message: "the workspace's Ollama did not answer in time"}
	default:
		c.err = &apierr.Error{Status: http.StatusServiceUnavailable, Code: "upstream_unavailable", RetryAfter: 10, Err: err,
			Message: "the workspace's Ollama is not reachable (asleep, starting or being updated); retry shortly"}
	}
	if c.status == 0 {
		if e, ok := apierr.As(c.err); ok {
			c.status = e.Status
		}
	}
}

// account records the call in the metrics and, for API tokens, the ledger.
func (g *Gateway) account(c *call) {
	c.done.Do(c.scan.Close)
	ws := c.target.Workspace.Name
	code := strconv.Itoa(c.status)
	if c.status == 0 {
		code = "aborted"
	}
	g.m.requests.WithLabelValues(ws, code).Inc()
	g.m.prompt.WithLabelValues(ws).Add(float64(c.scan.prompt))
	g.m.eval.WithLabelValues(ws).Add(float64(c.scan.eval))
	if c.target.TokenID != 0 {
		g.ledger.add(c.target.TokenID, c.scan.prompt, c.scan.eval, g.opts.Now().UTC())
	}
}

// Pending is a token's usage not yet written to the store, so a listing
// shows up-to-date counters between flushes.
func (g *Gateway) Pending(tokenID uint64) store.TokenUsage { return g.ledger.Pending(tokenID) }

// Flush writes pending usage to the store.
func (g *Gateway) Flush(ctx context.Context) error { return g.ledger.Flush(ctx) }

// Run flushes usage every interval until ctx ends, then once more.
func (g *Gateway) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := g.Flush(fctx); err != nil {
				g.opts.Log.Error("writing API token usage at shutdown", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := g.Flush(ctx); err != nil {
				g.opts.Log.Warn("writing API token usage; will retry", "error", err)
			}
		}
	}
}
