package modeljob

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ollama/ollama/api"
)

func TestPullProgress(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type event struct {
		at time.Duration
		r  api.ProgressResponse
	}
	dl := func(at time.Duration, done int64) event {
		return event{at: at, r: api.ProgressResponse{Status: "pulling abc", Digest: "sha256:abc", Total: 1000, Completed: done}}
	}
	cases := map[string]struct {
		reason string
		events []event
		want   []int // Percent of the logged lines; -1 for a status line.
	}{
		"StatusChanges": {
			reason: "each new status is logged once",
			events: []event{
				{r: api.ProgressResponse{Status: "pulling manifest"}},
				{r: api.ProgressResponse{Status: "pulling manifest"}},
				{r: api.ProgressResponse{Status: "verifying sha256 digest"}},
				{r: api.ProgressResponse{Status: "success"}},
			},
			want: []int{0, 0, 0},
		},
		"Steps": {
			reason: "a download logs when it passes another 10% step, not per chunk",
			events: []event{dl(0, 0), dl(1, 30), dl(2, 60), dl(3, 99), dl(4, 100), dl(5, 150), dl(6, 199), dl(7, 250), dl(8, 990), dl(9, 1000)},
			want:   []int{0, 10, 25, 99, 100},
		},
		"Interval": {
			reason: "a slow download logs at least every interval while it makes progress",
			events: []event{dl(0, 0), dl(5*time.Second, 1), dl(11*time.Second, 2), dl(12*time.Second, 3), dl(30*time.Second, 3), dl(31*time.Second, 4)},
			want:   []int{0, 0, 0},
		},
		"Stalled": {
			reason: "no progress, no line",
			events: []event{dl(0, 500), dl(time.Minute, 500), dl(2*time.Minute, 500)},
			want:   []int{50},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := &pullProgress{Step: 10, Interval: 10 * time.Second}
			var got []int
			for _, e := range tc.events {
				if l, ok := p.update(e.r, t0.Add(e.at)); ok {
					got = append(got, l.Percent)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nlogged percents: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
