package modeljob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

func TestExitCode(t *testing.T) {
	cases := map[string]struct {
		reason string
		err    error
		want   int
	}{
		"OK":          {reason: "no error", want: ExitOK},
		"Usage":       {reason: "a wrapped usage error", err: fmt.Errorf("x: %w", usageError{errors.New("bad flag")}), want: ExitUsage},
		"Unreachable": {reason: "waiting for Ollama timed out", err: fmt.Errorf("ollama at x: %w", ErrUnreachable), want: ExitUnreachable},
		"WentAway":    {reason: "a network error after Ollama answered once", err: fmt.Errorf("create: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), want: ExitUnreachable},
		"Model":       {reason: "anything else is the model's failure", err: errors.New(`pattern "x": 404 Not Found`), want: ExitModelFailed},
		"Timeout":     {reason: "the operation timeout is the model's failure, not the network's", err: fmt.Errorf("pull: %w", context.DeadlineExceeded), want: ExitModelFailed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ExitCode(tc.err)); diff != "" {
				t.Errorf("%s\nExitCode(%v): -want, +got:\n%s", tc.reason, tc.err, diff)
			}
		})
	}
}

func TestNewSummary(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes.
	cases := map[string]struct {
		reason  string
		name    string
		kind    v1alpha1.ModelKind
		message string
		err     error
		want    v1alpha1.ModelJobSummary
	}{
		"Ready": {
			reason: "success carries the message", name: "llama3.2:1b", kind: v1alpha1.ModelKindBase, message: "pulled llama3.2:1b (1.3 GB)",
			want: v1alpha1.ModelJobSummary{Model: "llama3.2:1b", Kind: "base", State: "Ready", Message: "pulled llama3.2:1b (1.3 GB)"},
		},
		"Failed": {
			reason: "failure carries the error", name: "tutor", kind: v1alpha1.ModelKindAssistant, err: errors.New(`pattern "x": missing variable "lang"`),
			want: v1alpha1.ModelJobSummary{Model: "tutor", Kind: "assistant", State: "Failed", Message: `pattern "x": missing variable "lang"`},
		},
		"OneLine": {
			reason: "multi-line errors become one line", name: "m", kind: v1alpha1.ModelKindBase, err: errors.New("a\n  b\tc"),
			want: v1alpha1.ModelJobSummary{Model: "m", Kind: "base", State: "Failed", Message: "a b c"},
		},
		"Shortened": {
			reason: "messages stay under 1 KiB, cut on a rune boundary", name: "m", kind: v1alpha1.ModelKindBase, err: errors.New(long),
			want: v1alpha1.ModelJobSummary{Model: "m", Kind: "base", State: "Failed", Message: strings.Repeat("é", 510) + "…"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := NewSummary(tc.name, tc.kind, tc.message, tc.err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nNewSummary: -want, +got:\n%s", tc.reason, diff)
			}
			if len(got.Message) > MaxMessageBytes {
				t.Errorf("message is %d bytes, more than %d", len(got.Message), MaxMessageBytes)
			}
		})
	}
}

func TestWriteSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := os.WriteFile(path, []byte("old content that is longer than the new one\n\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := v1alpha1.ModelJobSummary{Model: "tutor", Kind: "assistant", State: "Ready", Message: "created"}
	if err := WriteSummary(path, s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"model":"tutor","kind":"assistant","state":"Ready","message":"created"}`+"\n", string(b)); diff != "" {
		t.Errorf("the file holds exactly one JSON line: -want, +got:\n%s", diff)
	}
	var back v1alpha1.ModelJobSummary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("round trip: -want, +got:\n%s", diff)
	}
	if err := WriteSummary(filepath.Join(t.TempDir(), "no", "dir"), s); err == nil {
		t.Error("writing into a missing directory: want an error, got none")
	}
}
