package modeljob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultPatternSource is the Fabric repository's patterns directory at a
// pinned commit, so a pattern cannot change under a running workspace.
const DefaultPatternSource = "https://raw.githubusercontent.com/danielmiessler/Fabric/90b6af298f8e3dd6459f7792303c92925293d9b2/data/patterns"

// MaxPatternBytes bounds one pattern's system.md. Fabric's largest are a few
// tens of KiB; anything much bigger is not a prompt and would eat the model's
// context.
const MaxPatternBytes = 256 << 10

const maxPatternNameLen = 100

var patternNameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// ValidatePatternName accepts Fabric's directory names: lower case letters,
// digits and underscores. Anything else could escape the source's base path.
func ValidatePatternName(name string) error {
	switch {
	case name == "":
		return errors.New("pattern name is empty")
	case len(name) > maxPatternNameLen:
		return fmt.Errorf("pattern name %.20q... is %d characters long, the limit is %d", name, len(name), maxPatternNameLen)
	case !patternNameRE.MatchString(name):
		return fmt.Errorf("pattern name %q is invalid: use only a-z, 0-9 and _", name)
	}
	return nil
}

// A PatternSource fetches a pattern's system prompt by name.
type PatternSource interface {
	// Fetch returns the content of <source>/<name>/system.md.
	Fetch(ctx context.Context, name string) (string, error)
}

// NewPatternSource returns the source spec points at: an http(s) base URL,
// or a directory given as an absolute path or a file:// URL (air-gapped
// clusters mount the patterns). timeout bounds each fetch.
func NewPatternSource(spec string, timeout time.Duration, log *slog.Logger) (PatternSource, error) {
	if spec == "" {
		spec = DefaultPatternSource
	}
	if filepath.IsAbs(spec) {
		return dirSource{dir: filepath.Clean(spec)}, nil
	}
	u, err := url.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("pattern source %q is not a URL or an absolute directory: %w", spec, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("pattern source %q has no host", spec)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		return &httpSource{
			base:    u,
			client:  &http.Client{Timeout: timeout},
			log:     log,
			retries: 3,
			backoff: time.Second,
		}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("pattern source %q: a file URL must not name a host (use file:///path)", spec)
		}
		if !filepath.IsAbs(u.Path) {
			return nil, fmt.Errorf("pattern source %q: the directory must be absolute", spec)
		}
		return dirSource{dir: filepath.Clean(u.Path)}, nil
	default:
		return nil, fmt.Errorf("pattern source %q: use an http(s) URL, an absolute directory or a file:// URL", spec)
	}
}

type dirSource struct{ dir string }

func (s dirSource) Fetch(_ context.Context, name string) (string, error) {
	if err := ValidatePatternName(name); err != nil {
		return "", err
	}
	p := filepath.Join(s.dir, name, "system.md")
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("pattern %q: not found at %s", name, p)
	}
	if err != nil {
		return "", fmt.Errorf("pattern %q: %w", name, err)
	}
	defer f.Close() //nolint:errcheck // Read only.
	return readPattern(name, p, f)
}

type httpSource struct {
	base    *url.URL
	client  *http.Client
	log     *slog.Logger
	retries int
	backoff time.Duration
}

// errPermanent marks an HTTP answer retrying cannot fix (404, 403, a pattern
// too large, ...).
type errPermanent struct{ error }

func (s *httpSource) Fetch(ctx context.Context, name string) (string, error) {
	if err := ValidatePatternName(name); err != nil {
		return "", err
	}
	u := s.base.JoinPath(name, "system.md").String()
	delay := s.backoff
	var err error
	for attempt := 1; ; attempt++ {
		var text string
		text, err = s.get(ctx, name, u)
		if err == nil {
			return text, nil
		}
		var perm errPermanent
		if errors.As(err, &perm) {
			return "", perm.error
		}
		if attempt >= s.retries || ctx.Err() != nil {
			return "", err
		}
		// Raw GitHub answers 429 and 5xx now and then; a short retry saves
		// a whole Job restart.
		s.log.Warn("pattern fetch failed, retrying", "pattern", name, "url", u, "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (s *httpSource) get(ctx context.Context, name, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", errPermanent{fmt.Errorf("pattern %q: %w", name, err)}
	}
	rsp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("pattern %q: cannot fetch %s: %w", name, u, unwrapURLError(err))
	}
	defer rsp.Body.Close() //nolint:errcheck // Read only.
	if rsp.StatusCode != http.StatusOK {
		err := fmt.Errorf("pattern %q: %s from %s", name, rsp.Status, u)
		if rsp.StatusCode == http.StatusTooManyRequests || rsp.StatusCode >= 500 {
			return "", err
		}
		return "", errPermanent{err}
	}
	text, err := readPattern(name, u, rsp.Body)
	if err != nil {
		return "", errPermanent{err}
	}
	return text, nil
}

// unwrapURLError drops url.Error's "Get \"<url>\":" prefix; our message
// names the URL already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func readPattern(name, where string, r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPatternBytes+1))
	if err != nil {
		return "", fmt.Errorf("pattern %q: cannot read %s: %w", name, where, err)
	}
	switch {
	case len(b) > MaxPatternBytes:
		return "", fmt.Errorf("pattern %q: %s is larger than %d KiB", name, where, MaxPatternBytes>>10)
	case !utf8.Valid(b):
		return "", fmt.Errorf("pattern %q: %s is not UTF-8 text", name, where)
	case strings.TrimSpace(string(b)) == "":
		return "", fmt.Errorf("pattern %q: %s is empty", name, where)
	}
	return string(b), nil
}
