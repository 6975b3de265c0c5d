package modeljob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"
)

// ParseHost turns an OLLAMA_HOST value into the server's base URL with the
// same rules as the ollama api client (envconfig.Host): no scheme means
// http and port 11434; a scheme without a port means its default port; an
// empty value means 127.0.0.1:11434.
func ParseHost(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	defaultPort := "11434"
	scheme, hostport, ok := strings.Cut(s, "://")
	switch {
	case !ok:
		scheme, hostport = "http", s
		if s == "ollama.com" {
			scheme, hostport = "https", "ollama.com:443"
		}
	case scheme == "http":
		defaultPort = "80"
	case scheme == "https":
		defaultPort = "443"
	default:
		return nil, fmt.Errorf("ollama host %q: the scheme must be http or https", s)
	}
	hostport, path, _ := strings.Cut(hostport, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = "127.0.0.1", defaultPort
		if ip := net.ParseIP(strings.Trim(hostport, "[]")); ip != nil {
			host = ip.String()
		} else if hostport != "" {
			host = hostport
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		// The api client falls back to the default port; a Job with a
		// typo in its host is better off failing with the reason.
		return nil, fmt.Errorf("ollama host %q: invalid port %q", s, port)
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: path}, nil
}

// NewClient returns an Ollama client for base. Requests carry no overall
// timeout (a pull streams for as long as the download takes); callers bound
// them with contexts. Dial and header timeouts catch a dead peer early.
func NewClient(base *url.URL) *api.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return api.NewClient(base, &http.Client{Transport: tr})
}

// Backoff is the delay schedule between attempts to reach Ollama.
type Backoff struct {
	Initial, Max time.Duration
}

// next doubles d up to Max.
func (b Backoff) next(d time.Duration) time.Duration {
	if d <= 0 {
		return b.Initial
	}
	d *= 2
	if d > b.Max {
		return b.Max
	}
	return d
}

// ErrUnreachable means Ollama did not answer within the wait timeout.
var ErrUnreachable = errors.New("not answering")

// maxAttemptTimeout bounds one attempt. A scaled-to-zero Ollama behind the
// KEDA interceptor holds the first request while the pod starts, so an
// attempt may legitimately take a while.
const maxAttemptTimeout = 30 * time.Second

// WaitForOllama asks for the server's version until it answers or timeout
// passes, backing off between attempts (the last attempt is made at the
// deadline). The error wraps ErrUnreachable and says how long we waited and
// the last failure.
func WaitForOllama(ctx context.Context, c *api.Client, timeout time.Duration, b Backoff, log *slog.Logger) (string, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	var delay time.Duration
	for attempt := 1; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, min(maxAttemptTimeout, max(time.Until(deadline), time.Second)))
		v, err := c.Version(attemptCtx)
		cancel()
		if err == nil {
			log.Info("ollama is up", "version", v, "attempts", attempt, "waited", time.Since(start).Round(time.Millisecond).String())
			return v, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: %w", ErrUnreachable, ctx.Err())
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return "", fmt.Errorf("%w after %s (%d attempts): %w", ErrUnreachable, timeout, attempt, unwrapURLError(err))
		}
		delay = b.next(delay)
		log.Info("waiting for ollama", "attempt", attempt, "retry_in", min(delay, remaining).Round(time.Millisecond).String(), "error", unwrapURLError(err).Error())
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: %w", ErrUnreachable, ctx.Err())
		case <-time.After(min(delay, remaining)):
		}
	}
}

// FindModel returns the listed model called name (tags and hosts compared
// the way Ollama compares names: llama3.2 is llama3.2:latest), or nil.
func FindModel(ctx context.Context, c *api.Client, name string) (*api.ListModelResponse, error) {
	want := model.ParseName(name)
	list, err := c.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot list models: %w", err)
	}
	for i := range list.Models {
		if model.ParseName(list.Models[i].Name).EqualFold(want) {
			return &list.Models[i], nil
		}
	}
	return nil, nil
}

// ValidateModelName rejects names Ollama would refuse, before anything else
// happens.
func ValidateModelName(name string) error {
	if !model.ParseName(name).IsValid() {
		return fmt.Errorf("model name %q is invalid (want e.g. llama3.2:1b or host/namespace/model:tag)", name)
	}
	return nil
}
