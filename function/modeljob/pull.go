package modeljob

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/format"
)

// PullOptions tune Pull.
type PullOptions struct {
	// Insecure allows a registry over plain http (an in-cluster mirror).
	Insecure bool
	// ProgressStep and ProgressInterval throttle the progress log.
	ProgressStep     int
	ProgressInterval time.Duration
}

// Pull downloads name into Ollama, logging throttled progress, and returns
// the message for the summary once the model is listed.
func Pull(ctx context.Context, c *api.Client, name string, o PullOptions, log *slog.Logger) (string, error) {
	p := &pullProgress{Step: max(o.ProgressStep, 1), Interval: o.ProgressInterval}
	if p.Interval <= 0 {
		p.Interval = 10 * time.Second
	}
	start := time.Now()
	err := c.Pull(ctx, &api.PullRequest{Model: name, Insecure: o.Insecure}, func(r api.ProgressResponse) error {
		if line, ok := p.update(r, time.Now()); ok {
			line.log(log, name)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", name, err)
	}
	m, err := FindModel(ctx, c, name)
	if err != nil {
		return "", err
	}
	if m == nil {
		return "", fmt.Errorf("pull %s: finished, but the model is not listed", name)
	}
	log.Info("pulled", "model", name, "digest", m.Digest, "size_bytes", m.Size, "took", time.Since(start).Round(time.Millisecond).String())
	return fmt.Sprintf("pulled %s (%s)", name, format.HumanBytes(m.Size)), nil
}
