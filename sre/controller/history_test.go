package controller

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/sre/incident"
)

func TestHistory(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(ws string, at time.Time) Record {
		return Record{Incident: incident.Incident{Workspace: ws}, FirstSeen: at, LastSeen: at}
	}
	cases := map[string]struct {
		reason string
		steps  func(h *History) []bool
		want   []bool
	}{
		"repeat within the window": {
			reason: "a diagnosed incident seen again is not new, and each sighting extends it",
			steps: func(h *History) []bool {
				first := h.Seen("a", t0)
				h.Add("a", rec("w", t0))
				return []bool{first, h.Seen("a", t0.Add(50*time.Minute)), h.Seen("a", t0.Add(100*time.Minute))}
			},
			want: []bool{false, true, true},
		},
		"after the window": {
			reason: "an incident not seen for longer than the window is new again",
			steps: func(h *History) []bool {
				h.Add("a", rec("w", t0))
				return []bool{h.Seen("a", t0.Add(61*time.Minute))}
			},
			want: []bool{false},
		},
		"bounded": {
			reason: "beyond Max entries the least recently seen is forgotten",
			steps: func(h *History) []bool {
				h.Add("a", rec("w", t0))
				h.Add("b", rec("w", t0.Add(time.Second)))
				h.Add("c", rec("w", t0.Add(2*time.Second)))
				h.Add("d", rec("w", t0.Add(3*time.Second)))
				return []bool{h.Len() == 3, h.Seen("a", t0.Add(4*time.Second)), h.Seen("d", t0.Add(4*time.Second))}
			},
			want: []bool{true, false, true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.steps(NewHistory(time.Hour, 3))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	r := Record{Incident: incident.Incident{Reason: "QuotaExceeded", Object: "ReplicaSet/x", Summary: "exceeded quota", Hint: "choose a larger size"},
		Diagnosis: "Set password=hunter2 to fix", Model: "llama3.2:1b"}
	want := "QuotaExceeded on ReplicaSet/x: exceeded quota. Hint: choose a larger size Diagnosis by llama3.2:1b: Set password=[redacted] to fix"
	if diff := cmp.Diff(want, Message(r)); diff != "" {
		t.Errorf("Message (-want +got):\n%s", diff)
	}
	long := clipBytes(strings.Repeat("ü", 2000), maxEventNote)
	if len(long) > maxEventNote || !strings.HasSuffix(long, "…") {
		t.Errorf("clipBytes: %d bytes, want at most %d ending in …", len(long), maxEventNote)
	}
}

func TestHistoryServeHTTP(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := NewHistory(time.Hour, 10)
	for i, ws := range []string{"a", "b", "a"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		inc := incident.Incident{Workspace: ws, Reason: incident.QuotaExceeded, Object: fmt.Sprint("ReplicaSet/", i)}
		h.Add(inc.Fingerprint(), Record{Incident: inc, Source: "rules", FirstSeen: at, LastSeen: at})
	}
	cases := map[string]struct {
		query string
		want  []string
	}{
		"all, latest first": {"", []string{"ReplicaSet/2", "ReplicaSet/1", "ReplicaSet/0"}},
		"one workspace":     {"?workspace=a", []string{"ReplicaSet/2", "ReplicaSet/0"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/incidents"+tc.query, nil))
			var body struct{ Incidents []Record }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range body.Incidents {
				got = append(got, r.Incident.Object)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}
