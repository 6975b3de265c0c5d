// Package ratelimit is a keyed token-bucket limiter kept in memory, used to
// slow down password guessing per client address and per account.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter allows PerMinute events per key per minute with a burst of the
// same size.
type Limiter struct {
	perMinute float64
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter. now may be nil.
func New(perMinute int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{perMinute: float64(perMinute), now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. When none is left it returns false and the
// seconds until one is.
func (l *Limiter) Allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.perMinute, b.tokens+now.Sub(b.last).Minutes()*l.perMinute)
	b.last = now
	if b.tokens < 1 {
		wait := (1 - b.tokens) / l.perMinute * 60
		return false, int(math.Ceil(wait))
	}
	b.tokens--
	return true, 0
}

// sweep drops buckets that have refilled completely, so the map stays as
// small as the set of recently active keys.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.last) >= time.Minute {
			delete(l.buckets, k)
		}
	}
}
