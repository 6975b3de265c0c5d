package ratelimit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAllow(t *testing.T) {
	type step struct {
		after time.Duration // since the previous step
		key   string
	}
	type got struct {
		OK   bool
		Wait int
	}
	cases := map[string]struct {
		reason string
		steps  []step
		want   []got
	}{
		"Burst": {reason: "three per minute, then a wait of 20 s",
			steps: []step{{0, "a"}, {0, "a"}, {0, "a"}, {0, "a"}}, want: []got{{true, 0}, {true, 0}, {true, 0}, {false, 20}}},
		"Refill": {reason: "one token comes back every 20 s",
			steps: []step{{0, "a"}, {0, "a"}, {0, "a"}, {20 * time.Second, "a"}, {0, "a"}}, want: []got{{true, 0}, {true, 0}, {true, 0}, {true, 0}, {false, 20}}},
		"Keys": {reason: "keys are independent",
			steps: []step{{0, "a"}, {0, "a"}, {0, "a"}, {0, "b"}}, want: []got{{true, 0}, {true, 0}, {true, 0}, {true, 0}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			l := New(3, func() time.Time { return now })
			var res []got
			for _, s := range tc.steps {
				now = now.Add(s.after)
				ok, wait := l.Allow(s.key)
				res = append(res, got{ok, wait})
			}
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSweep(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(3, func() time.Time { return now })
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	now = now.Add(2 * time.Minute)
	l.Allow("d")
	if n := len(l.buckets); n != 1 {
		t.Errorf("idle buckets are dropped: %d left, want 1", n)
	}
}
