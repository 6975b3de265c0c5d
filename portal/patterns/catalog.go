// Package patterns lists the fabric pattern names the portal offers in its
// forms. The source is the same one the model Jobs read patterns from: a
// directory (one subdirectory with system.md per pattern) or an http(s) base
// URL. A URL cannot be listed, so its names come from a catalog: a names file
// (URL or path, one name a line) or, when none is configured, a built-in list
// of well-known Fabric patterns. The list is cached; a failed refresh keeps
// serving the last good list.
package patterns

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed default_names.txt
var defaultNames string

var validName = regexp.MustCompile(`^[a-z0-9_]{1,100}$`)

// Catalog lists pattern names.
type Catalog struct {
	source  string
	catalog string
	ttl     time.Duration
	client  *http.Client
	now     func() time.Time

	mu      sync.Mutex
	names   []string
	fetched time.Time
}

// New returns a catalog for source (URL or directory) and catalog (names
// file URL or path; may be empty).
func New(source, catalog string, ttl time.Duration) *Catalog {
	return &Catalog{source: source, catalog: catalog, ttl: ttl,
		client: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// Names returns the sorted pattern names.
func (c *Catalog) Names(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names != nil && c.now().Sub(c.fetched) < c.ttl {
		return c.names, nil
	}
	names, err := c.load(ctx)
	if err != nil {
		if c.names != nil {
			return c.names, nil // stale beats nothing
		}
		return nil, err
	}
	c.names, c.fetched = names, c.now()
	return names, nil
}

func (c *Catalog) load(ctx context.Context) ([]string, error) {
	switch {
	case c.catalog != "":
		r, err := c.open(ctx, c.catalog)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return parseNames(io.LimitReader(r, 1<<20))
	case isURL(c.source):
		return parseNames(strings.NewReader(defaultNames))
	default:
		return listDir(c.source)
	}
}

func (c *Catalog) open(ctx context.Context, where string) (io.ReadCloser, error) {
	if !isURL(where) {
		return os.Open(where)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", where, resp.Status)
	}
	return resp.Body, nil
}

// parseNames reads one name a line; blank lines and # comments are skipped,
// names that are not valid pattern names are dropped.
func parseNames(r io.Reader) ([]string, error) {
	var names []string
	s := bufio.NewScanner(r)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") || !validName.MatchString(l) {
			continue
		}
		names = append(names, l)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func listDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range entries {
		if !e.IsDir() || !validName.MatchString(e.Name()) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, e.Name(), "system.md")); err == nil && fi.Mode().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no pattern (subdirectory with system.md) in " + dir)
	}
	slices.Sort(names)
	return names, nil
}
