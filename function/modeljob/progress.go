package modeljob

import (
	"log/slog"
	"time"

	"github.com/ollama/ollama/api"
)

// pullProgress turns Ollama's pull stream (a message per chunk, many per
// second) into a few log lines: one per status change, and for a download
// one each time it passes another Step percent or Interval has passed with
// progress made.
type pullProgress struct {
	Step     int
	Interval time.Duration

	status    string
	logged    time.Time
	percent   int
	completed int64
}

// progressLine is what pullProgress decided to log.
type progressLine struct {
	Status    string
	Digest    string
	Percent   int
	Completed int64
	Total     int64
}

// update returns the line to log for r at now, if any.
func (p *pullProgress) update(r api.ProgressResponse, now time.Time) (progressLine, bool) {
	line := progressLine{Status: r.Status, Digest: r.Digest, Completed: r.Completed, Total: r.Total}
	if r.Total > 0 {
		line.Percent = int(r.Completed * 100 / r.Total)
	}
	if r.Status != p.status {
		p.status, p.logged, p.percent, p.completed = r.Status, now, line.Percent, r.Completed
		return line, true
	}
	if r.Total <= 0 || r.Completed == p.completed {
		return line, false
	}
	stepped := line.Percent/p.Step > p.percent/p.Step
	if stepped || now.Sub(p.logged) >= p.Interval || r.Completed >= r.Total {
		p.logged, p.percent, p.completed = now, line.Percent, r.Completed
		return line, true
	}
	return line, false
}

func (l progressLine) log(log *slog.Logger, model string) {
	attrs := []any{"model", model, "status", l.Status}
	if l.Digest != "" {
		attrs = append(attrs, "digest", l.Digest)
	}
	if l.Total > 0 {
		attrs = append(attrs, "percent", l.Percent, "completed_bytes", l.Completed, "total_bytes", l.Total)
	}
	log.Info("pull progress", attrs...)
}
