package patterns

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixtures writes pattern directories of our own (never Fabric's texts).
func fixtures(t *testing.T) string {
	dir := t.TempDir()
	for _, p := range []string{"summarize", "write_haiku", "no_system"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if p != "no_system" {
			if err := os.WriteFile(filepath.Join(dir, p, "system.md"), []byte("# IDENTITY\nYou are a test fixture.\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not a valid pattern name: ignored.
	if err := os.MkdirAll(filepath.Join(dir, "Bad-Name"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "Bad-Name", "system.md"), []byte("x"), 0o644)
	return dir
}

func TestNames(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/names.txt" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("# catalog\nwrite_haiku\nsummarize\n\nsummarize\nnot valid!\n"))
	}))
	defer srv.Close()
	dir := fixtures(t)
	type want struct {
		Names []string
		Err   bool
	}
	cases := map[string]struct {
		reason  string
		source  string
		catalog string
		want    want
	}{
		"Directory":      {reason: "subdirectories with system.md", source: dir, want: want{Names: []string{"summarize", "write_haiku"}}},
		"URLCatalog":     {reason: "a names file over HTTP, sorted, deduplicated, invalid lines dropped", source: srv.URL + "/patterns", catalog: srv.URL + "/names.txt", want: want{Names: []string{"summarize", "write_haiku"}}},
		"MissingCatalog": {reason: "a catalog URL that answers 404 is an error", source: srv.URL, catalog: srv.URL + "/missing.txt", want: want{Err: true}},
		"FileCatalog":    {reason: "a names file on disk", source: "https://example.invalid/patterns", catalog: writeFile(t, "summarize\n"), want: want{Names: []string{"summarize"}}},
		"MissingDir":     {reason: "a missing directory is an error", source: filepath.Join(dir, "nope"), want: want{Err: true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			names, err := New(tc.source, tc.catalog, time.Minute).Names(context.Background())
			if diff := cmp.Diff(tc.want, want{Names: names, Err: err != nil}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func writeFile(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "names.txt")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuiltInList(t *testing.T) {
	names, err := New("https://example.invalid/patterns", "", time.Minute).Names(context.Background())
	if err != nil || len(names) < 10 {
		t.Fatalf("built-in list for a URL source without a catalog: %d names, %v", len(names), err)
	}
}

func TestCacheServesStale(t *testing.T) {
	dir := fixtures(t)
	now := time.Now()
	c := New(dir, "", time.Minute)
	c.now = func() time.Time { return now }
	first, err := c.Names(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The source disappears; within and after the TTL the last list stays.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	second, err := c.Names(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("stale list after a failed refresh (-want +got):\n%s", diff)
	}
}
