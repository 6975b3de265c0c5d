package modeljob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ollama/ollama/api"
)

// Assistant is a model built from a base model and fabric patterns.
type Assistant struct {
	Name     string
	From     string
	Patterns []string
	Vars     map[string]string
	// Params are typed, as ParseParameters returns them.
	Params map[string]any
}

// CreateAssistant assembles the system prompt and creates the assistant,
// unless a model of that name already has the same weights, template,
// system prompt and parameters; then nothing is sent to Ollama's create
// endpoint. It returns the message for the summary.
func CreateAssistant(ctx context.Context, c *api.Client, src PatternSource, a Assistant, log *slog.Logger) (string, error) {
	system, err := AssembleSystem(ctx, src, a.Patterns, a.Vars)
	if err != nil {
		return "", err
	}
	log.Info("assembled system prompt", "model", a.Name, "patterns", a.Patterns, "bytes", len(system))

	base, err := c.Show(ctx, &api.ShowRequest{Model: a.From})
	if isNotFound(err) {
		return "", fmt.Errorf("base model %s is not in this workspace's Ollama; pull it first", a.From)
	}
	if err != nil {
		return "", fmt.Errorf("cannot read base model %s: %w", a.From, err)
	}
	want, err := showParameters(a.Params)
	if err != nil {
		return "", fmt.Errorf("cannot encode parameters: %w", err)
	}
	// The server merges the base's parameters under ours.
	want = ParseShownParameters(base.Parameters).merge(want)

	existing, err := c.Show(ctx, &api.ShowRequest{Model: a.Name})
	switch {
	case isNotFound(err):
		log.Info("assistant does not exist yet", "model", a.Name)
	case err != nil:
		return "", fmt.Errorf("cannot read model %s: %w", a.Name, err)
	default:
		diff := assistantDiff(existing, base, system, want)
		if diff == "" {
			log.Info("assistant is up to date, not creating it", "model", a.Name)
			return fmt.Sprintf("assistant %s unchanged (from %s, patterns %s)", a.Name, a.From, strings.Join(a.Patterns, ", ")), nil
		}
		log.Info("assistant differs, recreating it", "model", a.Name, "difference", diff)
	}

	req := &api.CreateRequest{Model: a.Name, From: a.From, System: system, Parameters: a.Params}
	err = c.Create(ctx, req, func(r api.ProgressResponse) error {
		log.Info("create progress", "model", a.Name, "status", r.Status)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("create %s from %s: %w", a.Name, a.From, err)
	}
	created, err := c.Show(ctx, &api.ShowRequest{Model: a.Name})
	if err != nil {
		return "", fmt.Errorf("created %s, but cannot read it back: %w", a.Name, err)
	}
	if diff := assistantDiff(created, base, system, want); diff != "" {
		return "", fmt.Errorf("created %s, but it does not match the request: %s", a.Name, diff)
	}
	return fmt.Sprintf("created assistant %s from %s with patterns %s", a.Name, a.From, strings.Join(a.Patterns, ", ")), nil
}

// assistantDiff says how an existing model differs from the assistant we
// want, or "" when it does not. Weights are compared by the blob paths in
// the FROM lines of the shown Modelfile, so a base re-pulled with new
// weights makes the assistant stale even though its name is the same.
func assistantDiff(existing, base *api.ShowResponse, system string, params shownParameters) string {
	var d []string
	if existing.System != system {
		d = append(d, "system prompt")
	}
	got := ParseShownParameters(existing.Parameters)
	if !got.equal(params) {
		d = append(d, fmt.Sprintf("parameters (have %q, want %q)", got, params))
	}
	if existing.Template != base.Template {
		d = append(d, "template")
	}
	if a, b := weights(existing.Modelfile), weights(base.Modelfile); a == "" || a != b {
		d = append(d, "base weights")
	}
	return strings.Join(d, "; ")
}

// weights returns the FROM and ADAPTER lines that open a shown Modelfile
// (after its comments); they name the weight blobs.
func weights(modelfile string) string {
	var w []string
lines:
	for _, line := range strings.Split(modelfile, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "FROM ") || strings.HasPrefix(line, "ADAPTER "):
			w = append(w, line)
		default:
			break lines
		}
	}
	return strings.Join(w, "\n")
}

func isNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusNotFound
}
