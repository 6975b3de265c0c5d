package controller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/aichatworkspaces/workspaces/sre/incident"
	"github.com/aichatworkspaces/workspaces/sre/llm"
)

// fakeLLM stands in for the model in this table test of the decision only;
// the real Ollama is asked in sre/e2e.
type fakeLLM struct {
	answer string
	err    error
	asked  []string
}

func (f *fakeLLM) Model() string { return "fake" }

func (f *fakeLLM) Diagnose(_ context.Context, _, prompt string) (string, error) {
	f.asked = append(f.asked, prompt)
	return f.answer, f.err
}

func TestDiagnose(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	inc := incident.Incident{Workspace: "w", Reason: incident.QuotaExceeded, Object: "ReplicaSet/x", Hint: incident.Hint(incident.QuotaExceeded)}
	open := llm.Limits{Global: rate.Inf, GlobalBurst: 1, PerWorkspace: rate.Inf, Burst: 1}
	closed := llm.Limits{Global: rate.Every(time.Hour), GlobalBurst: 0, PerWorkspace: rate.Every(time.Hour), Burst: 0}
	cases := map[string]struct {
		reason    string
		llm       *fakeLLM
		limits    llm.Limits
		want      Record
		wantAsked int
	}{
		"no LLM": {
			reason: "without an LLM the facts and the rule-based hint are the diagnosis",
			limits: open,
			want:   Record{Incident: inc, Source: "rules", FirstSeen: now, LastSeen: now},
		},
		"rate-limited": {
			reason: "over the limit the LLM is not asked, and the record says why",
			llm:    &fakeLLM{answer: "never"}, limits: closed,
			want: Record{Incident: inc, Source: "rules", Error: llm.ErrRateLimited.Error(), FirstSeen: now, LastSeen: now},
		},
		"LLM fails": {
			reason: "a failed LLM call still reports the rule-based hint",
			llm:    &fakeLLM{err: errors.New("connection refused")}, limits: open, wantAsked: 1,
			want: Record{Incident: inc, Source: "rules", Error: "connection refused", FirstSeen: now, LastSeen: now},
		},
		"LLM answers": {
			reason: "the LLM's answer is the diagnosis",
			llm:    &fakeLLM{answer: "Use a larger size."}, limits: open, wantAsked: 1,
			want: Record{Incident: inc, Source: "llm", Model: "fake", Diagnosis: "Use a larger size.", FirstSeen: now, LastSeen: now},
		},
		"LLM answers nothing": {
			reason: "an empty answer is said as such, not hidden",
			llm:    &fakeLLM{answer: ""}, limits: open, wantAsked: 1,
			want: Record{Incident: inc, Source: "llm", Model: "fake", Diagnosis: "(no answer)", FirstSeen: now, LastSeen: now},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			o := Options{Limiter: llm.NewLimiter(tc.limits), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PromptMaxBytes: 1024}
			if tc.llm != nil {
				o.LLM = tc.llm
			}
			r := &Reconciler{opts: o}
			got := r.diagnose(t.Context(), incident.Snapshot{Workspace: incident.Workspace{ID: "w"}, Now: now}, inc)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if tc.llm != nil {
				if len(tc.llm.asked) != tc.wantAsked {
					t.Errorf("asked %d times, want %d", len(tc.llm.asked), tc.wantAsked)
				}
				for _, p := range tc.llm.asked {
					if !strings.HasPrefix(p, "Incident: QuotaExceeded on ReplicaSet/x\n") {
						t.Errorf("the prompt does not start with the incident: %q", p)
					}
				}
			}
		})
	}
}
