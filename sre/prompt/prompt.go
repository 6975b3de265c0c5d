// Package prompt turns one workspace's facts into the text the LLM is asked
// to diagnose. Only the snapshot of that workspace goes in, never Secret data
// or environment values (neither is read: the snapshot holds pod status, not
// pod specs), token-shaped strings are redacted, every line and the whole
// prompt are bounded.
package prompt

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/aichatworkspaces/workspaces/sre/incident"
)

// Bounds: a small model's context is a few thousand tokens, and a prompt
// that grows with the number of events would make every diagnosis slower.
const (
	DefaultMaxBytes = 8 << 10
	maxLine         = 400
)

// Instructions are the system prompt.
const Instructions = "You are the SRE assistant of a platform that runs private AI chat workspaces " +
	"(Open WebUI and Ollama) on Kubernetes, one namespace per workspace. " +
	"Given the facts of one incident, say in at most five sentences the most likely cause " +
	"and what the tenant or the platform engineer should do. Do not invent facts."

// redactions replace token-shaped text that might appear in event or
// termination messages (a URL with credentials, a bearer token, key=value
// secrets, the portal's API tokens).
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "$1 [redacted]"},
	{regexp.MustCompile(`aichat_[A-Za-z0-9_-]+`), "[redacted token]"},
	{regexp.MustCompile(`(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)\S+`), "$1$2[redacted]"},
	{regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`), "://[redacted]@"},
}

// Redact removes secrets-shaped text from s.
func Redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// Build returns the user prompt for inc from the snapshot of its workspace,
// at most maxBytes long (DefaultMaxBytes when 0). Sections come in order of
// usefulness; what does not fit is left off and said so.
func Build(s incident.Snapshot, inc incident.Incident, maxBytes int) string {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	b := &builder{max: maxBytes}
	b.line(fmt.Sprintf("Incident: %s on %s", inc.Reason, inc.Object))
	b.line("Summary: " + inc.Summary)
	b.line("Rule-based hint: " + inc.Hint)
	b.line(fmt.Sprintf("Workspace: %s (namespace %s)", s.Workspace.ID, s.Workspace.Namespace))

	b.section("Warning events")
	for _, e := range groupEvents(s.Events) {
		b.line(fmt.Sprintf("- %s %s: %s (x%d): %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Count, e.Message))
	}
	b.section("Pods")
	for _, p := range s.Pods {
		b.line(fmt.Sprintf("- %s: phase %s", p.Name, p.Status.Phase))
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			b.line(fmt.Sprintf("  container %s image %s ready=%t restarts=%d state=%s", cs.Name, cs.Image, cs.Ready, cs.RestartCount, state(cs.State)))
			if t := cs.LastTerminationState.Terminated; t != nil {
				b.line("    last terminated: " + state(cs.LastTerminationState))
			}
		}
	}
	b.section("Jobs")
	for _, j := range s.Jobs {
		line := fmt.Sprintf("- %s: active=%d succeeded=%d failed=%d", j.Name, j.Status.Active, j.Status.Succeeded, j.Status.Failed)
		for _, c := range j.Status.Conditions {
			if c.Status == corev1.ConditionTrue {
				line += fmt.Sprintf("; %s: %s %s", c.Type, c.Reason, c.Message)
			}
		}
		if m := incident.JobMessage(s.Pods, j.Name); m != "" {
			line += "; message: " + m
		}
		b.line(line)
	}
	b.section("Resource quota")
	for _, q := range s.Quotas {
		names := make([]string, 0, len(q.Status.Hard))
		for n := range q.Status.Hard {
			names = append(names, string(n))
		}
		slices.Sort(names)
		for _, n := range names {
			used, hard := q.Status.Used[corev1.ResourceName(n)], q.Status.Hard[corev1.ResourceName(n)]
			b.line(fmt.Sprintf("- %s %s: used %s of %s", q.Name, n, used.String(), hard.String()))
		}
	}
	b.section("PersistentVolumeClaims")
	for _, pvc := range s.PVCs {
		req := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		class := "(default)"
		if pvc.Spec.StorageClassName != nil {
			class = *pvc.Spec.StorageClassName
		}
		b.line(fmt.Sprintf("- %s: %s, %s requested, class %s", pvc.Name, pvc.Status.Phase, req.String(), class))
	}
	return b.String()
}

// groupEvents folds the events about one object with one reason into one,
// counting them all and keeping the latest message (a ReplicaSet refused by
// its quota writes one event per pod it could not create), newest first.
func groupEvents(events []corev1.Event) []corev1.Event {
	type key struct{ kind, name, reason string }
	byKey := map[key]*corev1.Event{}
	var order []key
	for _, e := range events {
		k := key{e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason}
		g, ok := byKey[k]
		if !ok {
			g = e.DeepCopy()
			g.Count = 0
			byKey[k] = g
			order = append(order, k)
		}
		g.Count += max(e.Count, 1)
		if !incident.LastSeen(&e).Before(incident.LastSeen(g)) {
			g.Message, g.LastTimestamp, g.EventTime, g.Series = e.Message, e.LastTimestamp, e.EventTime, e.Series
		}
	}
	out := make([]corev1.Event, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	slices.SortStableFunc(out, func(a, c corev1.Event) int { return incident.LastSeen(&c).Compare(incident.LastSeen(&a)) })
	return out
}

func state(s corev1.ContainerState) string {
	switch {
	case s.Waiting != nil:
		return fmt.Sprintf("waiting %s: %s", s.Waiting.Reason, s.Waiting.Message)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated %s exit %d: %s", s.Terminated.Reason, s.Terminated.ExitCode, strings.TrimSpace(s.Terminated.Message))
	case s.Running != nil:
		return "running"
	}
	return "unknown"
}

// builder appends bounded, redacted lines until the budget is spent.
type builder struct {
	strings.Builder
	max  int
	full bool
}

const truncated = "[more facts left off: prompt size bound]\n"

func (b *builder) section(title string) { b.line(title + ":") }

func (b *builder) line(l string) {
	if b.full {
		return
	}
	l = clip(Redact(strings.ReplaceAll(l, "\n", " ")), maxLine) + "\n"
	if b.Len()+len(l)+len(truncated) > b.max {
		b.full = true
		b.WriteString(truncated)
		return
	}
	b.WriteString(l)
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
