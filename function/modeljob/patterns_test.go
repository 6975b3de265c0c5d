package modeljob

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestValidatePatternName(t *testing.T) {
	cases := map[string]struct {
		reason string
		name   string
		want   string
	}{
		"Fabric":     {reason: "Fabric's names are lower case with underscores", name: "extract_wisdom"},
		"Digits":     {reason: "digits are allowed", name: "create_5_sentence_summary"},
		"Empty":      {reason: "an empty name cannot be fetched", name: "", want: "pattern name is empty"},
		"Traversal":  {reason: "a path must not escape the source", name: "../etc", want: `pattern name "../etc" is invalid: use only a-z, 0-9 and _`},
		"UpperCase":  {reason: "Fabric uses lower case only", name: "Summarize", want: `pattern name "Summarize" is invalid: use only a-z, 0-9 and _`},
		"Dash":       {reason: "dashes are not in Fabric's names", name: "a-b", want: `pattern name "a-b" is invalid: use only a-z, 0-9 and _`},
		"MaxLength":  {reason: "100 characters are allowed", name: strings.Repeat("a", 100)},
		"TooLong":    {reason: "more than 100 characters is refused", name: strings.Repeat("a", 101), want: `pattern name "aaaaaaaaaaaaaaaaaaaa"... is 101 characters long, the limit is 100`},
		"Whitespace": {reason: "spaces are not allowed", name: "a b", want: `pattern name "a b" is invalid: use only a-z, 0-9 and _`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, errText(ValidatePatternName(tc.name))); diff != "" {
				t.Errorf("%s\nValidatePatternName(%q): -want error, +got:\n%s", tc.reason, tc.name, diff)
			}
		})
	}
}

func TestNewPatternSource(t *testing.T) {
	type want struct {
		source string // %T and base
		err    string
	}
	cases := map[string]struct {
		reason string
		spec   string
		want   want
	}{
		"Default":      {reason: "empty means the pinned Fabric commit", spec: "", want: want{source: "http " + DefaultPatternSource}},
		"HTTPS":        {reason: "a base URL", spec: "https://mirror.example/patterns/", want: want{source: "http https://mirror.example/patterns"}},
		"HTTP":         {reason: "an in-cluster mirror over http", spec: "http://patterns.platform.svc", want: want{source: "http http://patterns.platform.svc"}},
		"Directory":    {reason: "an absolute directory", spec: "/patterns/", want: want{source: "dir /patterns"}},
		"FileURL":      {reason: "a file URL names a directory", spec: "file:///mnt/patterns", want: want{source: "dir /mnt/patterns"}},
		"Relative":     {reason: "a relative path is ambiguous", spec: "patterns", want: want{err: `pattern source "patterns": use an http(s) URL, an absolute directory or a file:// URL`}},
		"FTP":          {reason: "other schemes are not supported", spec: "ftp://x/y", want: want{err: `pattern source "ftp://x/y": use an http(s) URL, an absolute directory or a file:// URL`}},
		"NoHost":       {reason: "an http URL needs a host", spec: "https:///x", want: want{err: `pattern source "https:///x" has no host`}},
		"FileWithHost": {reason: "file URLs with a host are remote", spec: "file://server/x", want: want{err: `pattern source "file://server/x": a file URL must not name a host (use file:///path)`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := NewPatternSource(tc.spec, time.Second, discardLog())
			got := want{err: errText(err)}
			switch s := s.(type) {
			case *httpSource:
				got.source = "http " + s.base.String()
			case dirSource:
				got.source = "dir " + s.dir
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nNewPatternSource(%q): -want, +got:\n%s", tc.reason, tc.spec, diff)
			}
		})
	}
}

func TestDirSourceFetch(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "system.md"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("greet", []byte("# IDENTITY\nYou greet people.\n"))
	write("huge", []byte(strings.Repeat("x", MaxPatternBytes+1)))
	write("limit", []byte(strings.Repeat("x", MaxPatternBytes)))
	write("blank", []byte(" \n\n"))
	write("binary", []byte{0xff, 0xfe, 0x00})

	type want struct {
		text string
		err  string
	}
	cases := map[string]struct {
		reason string
		name   string
		want   want
	}{
		"Found":    {reason: "system.md is read as is", name: "greet", want: want{text: "# IDENTITY\nYou greet people.\n"}},
		"Missing":  {reason: "the error names the pattern and the path tried", name: "nope", want: want{err: `pattern "nope": not found at ` + filepath.Join(dir, "nope", "system.md")}},
		"AtLimit":  {reason: "exactly the size limit is fine", name: "limit", want: want{text: strings.Repeat("x", MaxPatternBytes)}},
		"TooLarge": {reason: "a pattern is bounded in size", name: "huge", want: want{err: `pattern "huge": ` + filepath.Join(dir, "huge", "system.md") + " is larger than 256 KiB"}},
		"Blank":    {reason: "an empty prompt is a mistake", name: "blank", want: want{err: `pattern "blank": ` + filepath.Join(dir, "blank", "system.md") + " is empty"}},
		"Binary":   {reason: "a prompt is text", name: "binary", want: want{err: `pattern "binary": ` + filepath.Join(dir, "binary", "system.md") + " is not UTF-8 text"}},
		"Invalid":  {reason: "names are checked before any file is opened", name: "../greet", want: want{err: `pattern name "../greet" is invalid: use only a-z, 0-9 and _`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			text, err := dirSource{dir: dir}.Fetch(context.Background(), tc.name)
			got := want{text: text, err: errText(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nFetch(%q): -want, +got:\n%s", tc.reason, tc.name, diff)
			}
		})
	}
}

func TestHTTPSourceFetch(t *testing.T) {
	var flaky atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/patterns/greet/system.md":
			_, _ = io.WriteString(w, "You greet people.\n")
		case "/patterns/flaky/system.md":
			// Fails twice, then answers: within the three attempts.
			if flaky.Add(1) <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "Eventually.\n")
		case "/patterns/down/system.md":
			http.Error(w, "down", http.StatusBadGateway)
		case "/patterns/secret/system.md":
			http.Error(w, "no", http.StatusForbidden)
		case "/patterns/huge/system.md":
			_, _ = io.WriteString(w, strings.Repeat("x", MaxPatternBytes+10))
		case "/patterns/slow/system.md":
			time.Sleep(2 * time.Second)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base := srv.URL + "/patterns"

	type want struct {
		text string
		err  string
	}
	cases := map[string]struct {
		reason string
		name   string
		want   want
	}{
		"Found":     {reason: "<base>/<name>/system.md", name: "greet", want: want{text: "You greet people.\n"}},
		"NotFound":  {reason: "a 404 names the pattern and the URL tried", name: "summarize", want: want{err: `pattern "summarize": 404 Not Found from ` + base + "/summarize/system.md"}},
		"Forbidden": {reason: "other client errors are not retried", name: "secret", want: want{err: `pattern "secret": 403 Forbidden from ` + base + "/secret/system.md"}},
		"Retried":   {reason: "5xx answers are retried", name: "flaky", want: want{text: "Eventually.\n"}},
		"GivesUp":   {reason: "retries are bounded", name: "down", want: want{err: `pattern "down": 502 Bad Gateway from ` + base + "/down/system.md"}},
		"TooLarge":  {reason: "the body is bounded", name: "huge", want: want{err: `pattern "huge": ` + base + "/huge/system.md is larger than 256 KiB"}},
		"Timeout":   {reason: "a fetch is bounded in time", name: "slow", want: want{err: `pattern "slow": cannot fetch ` + base + "/slow/system.md: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := NewPatternSource(base, 500*time.Millisecond, discardLog())
			if err != nil {
				t.Fatal(err)
			}
			hs := s.(*httpSource)
			hs.backoff = time.Millisecond
			if tc.name == "slow" {
				hs.retries = 1
			}
			text, err := s.Fetch(context.Background(), tc.name)
			got := want{text: text, err: errText(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nFetch(%q): -want, +got:\n%s", tc.reason, tc.name, diff)
			}
		})
	}
}
