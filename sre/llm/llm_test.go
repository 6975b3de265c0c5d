package llm

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type ask struct {
		ws string
		at time.Duration
	}
	cases := map[string]struct {
		reason string
		limits Limits
		asks   []ask
		want   []bool
	}{
		"per workspace": {
			reason: "a workspace's burst is spent, then it waits its interval; another workspace is not affected",
			limits: Limits{Global: rate.Inf, GlobalBurst: 1, PerWorkspace: rate.Every(time.Minute), Burst: 2},
			asks:   []ask{{"a", 0}, {"a", 0}, {"a", time.Second}, {"b", time.Second}, {"a", time.Minute}},
			want:   []bool{true, true, false, true, true},
		},
		"global": {
			reason: "the global limit holds across workspaces, and a refusal by it takes no workspace token",
			limits: Limits{Global: rate.Every(time.Minute), GlobalBurst: 2, PerWorkspace: rate.Every(time.Hour), Burst: 1},
			asks:   []ask{{"a", 0}, {"b", 0}, {"c", 0}, {"c", time.Minute}},
			want:   []bool{true, true, false, true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := NewLimiter(tc.limits)
			var got []bool
			for _, a := range tc.asks {
				got = append(got, l.Allow(a.ws, t0.Add(a.at)))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, c := range []Config{{URL: "not a url", Model: "m"}, {URL: "http://ollama:11434"}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v): want an error", c)
		}
	}
}
