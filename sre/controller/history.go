package controller

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aichatworkspaces/workspaces/sre/incident"
)

// Record is an incident as diagnosed.
type Record struct {
	Incident  incident.Incident `json:"incident"`
	Diagnosis string            `json:"diagnosis,omitempty"`
	// Model is the model that gave Diagnosis.
	Model string `json:"model,omitempty"`
	// Source is "llm", or "rules" when no LLM answered (none configured,
	// rate-limited, or failed; Error says which).
	Source    string    `json:"source"`
	Error     string    `json:"error,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// History remembers diagnosed incidents by fingerprint, so the same incident
// is not diagnosed twice while it keeps being seen. It is bounded: an entry
// not seen for Window is forgotten, and beyond Max entries the least recently
// seen goes first.
type History struct {
	Window time.Duration
	Max    int

	mu      sync.Mutex
	entries map[string]*Record
}

// NewHistory returns an empty History.
func NewHistory(window time.Duration, maxEntries int) *History {
	return &History{Window: window, Max: maxEntries, entries: map[string]*Record{}}
}

// Seen reports whether the incident was diagnosed within the window, and
// if so marks it seen now.
func (h *History) Seen(fp string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.entries[fp]
	if !ok || now.Sub(r.LastSeen) > h.Window {
		return false
	}
	r.LastSeen = now
	return true
}

// Get returns the record of an incident.
func (h *History) Get(fp string) (Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.entries[fp]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Add records a diagnosed incident.
func (h *History) Add(fp string, r Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entries[fp] = &r
	h.evict(r.LastSeen)
}

func (h *History) evict(now time.Time) {
	for fp, r := range h.entries {
		if now.Sub(r.LastSeen) > h.Window {
			delete(h.entries, fp)
		}
	}
	for len(h.entries) > h.Max {
		var oldest string
		for fp, r := range h.entries {
			if oldest == "" || r.LastSeen.Before(h.entries[oldest].LastSeen) {
				oldest = fp
			}
		}
		delete(h.entries, oldest)
	}
}

// Len is the number of remembered incidents.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.entries)
}

// Workspace returns the remembered incidents of a workspace.
func (h *History) Workspace(id string) []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Record
	for _, r := range h.entries {
		if r.Incident.Workspace == id {
			out = append(out, *r)
		}
	}
	return out
}

// All returns every remembered incident, most recently seen first.
func (h *History) All() []Record {
	h.mu.Lock()
	out := make([]Record, 0, len(h.entries))
	for _, r := range h.entries {
		out = append(out, *r)
	}
	h.mu.Unlock()
	slices.SortFunc(out, func(a, b Record) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.Incident.Workspace, b.Incident.Workspace),
			cmp.Compare(a.Incident.Reason, b.Incident.Reason), cmp.Compare(a.Incident.Object, b.Incident.Object))
	})
	return out
}

// ServeHTTP serves the history as JSON ({"incidents": [...]}), optionally
// of one workspace (?workspace=<id>), for platform engineers: served next to
// /metrics, never to tenants (it names every workspace).
func (h *History) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	recs := h.All()
	if ws := r.URL.Query().Get("workspace"); ws != "" {
		recs = slices.DeleteFunc(recs, func(rec Record) bool { return rec.Incident.Workspace != ws })
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"incidents": recs})
}
