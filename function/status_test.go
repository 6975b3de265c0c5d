package function

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

type podState struct {
	container   string // default model-job
	message     string // state.terminated.message
	lastMessage string // lastState.terminated.message
}

// pod is a model Job's pod as the requirement returns it.
func pod(t *testing.T, job, created string, s podState) resource.Required {
	t.Helper()
	if s.container == "" {
		s.container = "model-job"
	}
	cs := map[string]any{"name": s.container}
	if s.message != "" {
		cs["state"] = map[string]any{"terminated": map[string]any{"exitCode": 0.0, "message": s.message}}
	} else {
		cs["state"] = map[string]any{"running": map[string]any{}}
	}
	if s.lastMessage != "" {
		cs["lastState"] = map[string]any{"terminated": map[string]any{"exitCode": 1.0, "message": s.lastMessage}}
	}
	labels := map[string]any{}
	if job != "" {
		labels[labelModelJob] = job
	}
	return resource.Required{Resource: &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": job + "-" + created, "labels": labels, "creationTimestamp": created},
		"status":   map[string]any{"containerStatuses": []any{cs}},
	}}}
}

func summaryJSON(state v1alpha1.ModelState, msg string) string {
	b, _ := json.Marshal(v1alpha1.ModelJobSummary{Model: "m", Kind: v1alpha1.ModelKindBase, State: state, Message: msg})
	return string(b)
}

func TestJobSummaries(t *testing.T) {
	const t1, t2 = "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"
	ready := v1alpha1.ModelJobSummary{Model: "m", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelReady, Message: "pulled 1.3 GB"}
	failed := v1alpha1.ModelJobSummary{Model: "m", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelFailed, Message: "connection refused"}
	cases := map[string]struct {
		reason string
		pods   func(t *testing.T) []resource.Required
		want   map[string]v1alpha1.ModelJobSummary
	}{
		"None": {
			reason: "No pods, no summaries.",
			pods:   func(*testing.T) []resource.Required { return nil },
			want:   map[string]v1alpha1.ModelJobSummary{},
		},
		"Terminated": {
			reason: "A terminated container's message is the summary.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{pod(t, "j", t1, podState{message: summaryJSON(v1alpha1.ModelReady, "pulled 1.3 GB")})}
			},
			want: map[string]v1alpha1.ModelJobSummary{"j": ready},
		},
		"LastState": {
			reason: "A restarted container's last termination message is read when the current state has none.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{pod(t, "j", t1, podState{lastMessage: summaryJSON(v1alpha1.ModelFailed, "connection refused")})}
			},
			want: map[string]v1alpha1.ModelJobSummary{"j": failed},
		},
		"FirstLine": {
			reason: "Only the first line is JSON (FallbackToLogsOnError may append more).",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{pod(t, "j", t1, podState{message: "\n" + summaryJSON(v1alpha1.ModelReady, "pulled 1.3 GB") + "\nmore log lines\n"})}
			},
			want: map[string]v1alpha1.ModelJobSummary{"j": ready},
		},
		"BadJSON": {
			reason: "A message that is not a summary is ignored.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{
					pod(t, "a", t1, podState{message: "panic: runtime error"}),
					pod(t, "b", t1, podState{message: `{"model": "m"}`}),
					pod(t, "c", t1, podState{message: `{"state": 3}`}),
				}
			},
			want: map[string]v1alpha1.ModelJobSummary{},
		},
		"Unlabelled": {
			reason: "Pods without the model Job label and nil pods are ignored.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{pod(t, "", t1, podState{message: summaryJSON(v1alpha1.ModelReady, "x")}), {}}
			},
			want: map[string]v1alpha1.ModelJobSummary{},
		},
		"OtherContainer": {
			reason: "Only the model-job container's message counts.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{pod(t, "j", t1, podState{container: "sidecar", message: summaryJSON(v1alpha1.ModelReady, "x")})}
			},
			want: map[string]v1alpha1.ModelJobSummary{},
		},
		"NewestWins": {
			reason: "Of several pods of a Job the newest pod's summary wins, whatever the order.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{
					pod(t, "j", t2, podState{message: summaryJSON(v1alpha1.ModelReady, "pulled 1.3 GB")}),
					pod(t, "j", t1, podState{message: summaryJSON(v1alpha1.ModelFailed, "connection refused")}),
				}
			},
			want: map[string]v1alpha1.ModelJobSummary{"j": ready},
		},
		"NewestWinsReversed": {
			reason: "The same the other way round.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{
					pod(t, "j", t1, podState{message: summaryJSON(v1alpha1.ModelFailed, "connection refused")}),
					pod(t, "j", t2, podState{message: summaryJSON(v1alpha1.ModelReady, "pulled 1.3 GB")}),
				}
			},
			want: map[string]v1alpha1.ModelJobSummary{"j": ready},
		},
		"NewestStillRunning": {
			reason: "A newer pod that has not terminated yet leaves the last attempt's summary.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{
					pod(t, "j", t1, podState{message: summaryJSON(v1alpha1.ModelFailed, "connection refused")}),
					pod(t, "j", t2, podState{}),
				}
			},
			want: map[string]v1alpha1.ModelJobSummary{"j": failed},
		},
		"PerJob": {
			reason: "Each Job has its own summary.",
			pods: func(t *testing.T) []resource.Required {
				return []resource.Required{
					pod(t, "a", t1, podState{message: summaryJSON(v1alpha1.ModelReady, "pulled 1.3 GB")}),
					pod(t, "b", t1, podState{message: summaryJSON(v1alpha1.ModelFailed, "connection refused")}),
				}
			},
			want: map[string]v1alpha1.ModelJobSummary{"a": ready, "b": failed},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, jobSummaries(tc.pods(t))); diff != "" {
				t.Errorf("%s\njobSummaries(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestModelStatus(t *testing.T) {
	base := modelJob{name: "pull-m-0123456789", model: "m:1b", kind: v1alpha1.ModelKindBase}
	assistant := modelJob{name: "create-a-0123456789", model: "a", kind: v1alpha1.ModelKindAssistant, from: "m:1b"}
	job := func(status string) string { return `{"kind": "Job", "status": ` + status + `}` }
	complete := job(`{"conditions": [{"type": "Complete", "status": "True"}]}`)
	failedJob := job(`{"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}`)
	active := job(`{"active": 1}`)
	sum := func(job string, state v1alpha1.ModelState, msg string) map[string]v1alpha1.ModelJobSummary {
		return map[string]v1alpha1.ModelJobSummary{job: {State: state, Message: msg}}
	}
	long := strings.Repeat("x", 600)

	cases := map[string]struct {
		reason    string
		job       modelJob
		observed  string
		emitted   bool
		summaries map[string]v1alpha1.ModelJobSummary
		want      v1alpha1.ModelStatus
	}{
		"NotEmitted": {
			reason: "An assistant whose base is not pulled waits for it.",
			job:    assistant, emitted: false,
			want: v1alpha1.ModelStatus{Name: "a", Kind: v1alpha1.ModelKindAssistant, State: v1alpha1.ModelPending, Message: "waiting for base model m:1b"},
		},
		"NotObserved": {
			reason: "A Job not observed yet is being created.",
			job:    base, emitted: true,
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelPending, Message: "Job pull-m-0123456789 is being created"},
		},
		"Complete": {
			reason: "A complete Job is a ready model.",
			job:    base, observed: complete, emitted: true,
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelReady, Message: "ready"},
		},
		"CompleteWithSummary": {
			reason: "A ready summary says more than 'ready'.",
			job:    base, observed: complete, emitted: true, summaries: sum(base.name, v1alpha1.ModelReady, "pulled 1.3 GB"),
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelReady, Message: "pulled 1.3 GB"},
		},
		"CompleteWithFailedSummary": {
			reason: "A failed attempt before success does not taint a complete Job.",
			job:    base, observed: complete, emitted: true, summaries: sum(base.name, v1alpha1.ModelFailed, "timeout"),
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelReady, Message: "ready"},
		},
		"OtherJobsSummary": {
			reason: "Another Job's summary is not this model's.",
			job:    base, observed: complete, emitted: true, summaries: sum("pull-other", v1alpha1.ModelReady, "pulled other"),
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelReady, Message: "ready"},
		},
		"Failed": {
			reason: "A failed Job is a failed model, with the Job's reason.",
			job:    base, observed: failedJob, emitted: true,
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelFailed, Message: "Job pull-m-0123456789 failed: BackoffLimitExceeded"},
		},
		"FailedWithSummary": {
			reason: "The model program's own message says why better.",
			job:    assistant, observed: failedJob, emitted: true, summaries: sum(assistant.name, v1alpha1.ModelFailed, `pattern "x": 404 Not Found`),
			want: v1alpha1.ModelStatus{Name: "a", Kind: v1alpha1.ModelKindAssistant, State: v1alpha1.ModelFailed, Message: `pattern "x": 404 Not Found`},
		},
		"RunningPull": {
			reason: "An active pull is running.",
			job:    base, observed: active, emitted: true,
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelRunning, Message: "pulling m:1b"},
		},
		"RunningCreate": {
			reason: "An active create says what it builds from.",
			job:    assistant, observed: active, emitted: true,
			want: v1alpha1.ModelStatus{Name: "a", Kind: v1alpha1.ModelKindAssistant, State: v1alpha1.ModelRunning, Message: "creating a from m:1b"},
		},
		"RunningAfterFailure": {
			reason: "A retry tells the last attempt's failure.",
			job:    base, observed: active, emitted: true, summaries: sum(base.name, v1alpha1.ModelFailed, "connection reset"),
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelRunning, Message: "pulling m:1b; the last attempt failed: connection reset"},
		},
		"NoPodYet": {
			reason: "A Job with no active pod and no condition waits for its pod.",
			job:    base, observed: job(`{}`), emitted: true,
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelPending, Message: "waiting for the Job's pod to start"},
		},
		"Truncated": {
			reason: "Messages are cut to 512 characters.",
			job:    base, observed: failedJob, emitted: true, summaries: sum(base.name, v1alpha1.ModelFailed, long),
			want: v1alpha1.ModelStatus{Name: "m:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelFailed, Message: long[:509] + "..."},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var o *composed.Unstructured
			if tc.observed != "" {
				o = observedJSON(t, tc.observed)
			}
			if diff := cmp.Diff(tc.want, modelStatus(tc.job, o, tc.emitted, tc.summaries)); diff != "" {
				t.Errorf("%s\nmodelStatus(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestReadyCount(t *testing.T) {
	m := func(states ...v1alpha1.ModelState) []v1alpha1.ModelStatus {
		out := make([]v1alpha1.ModelStatus, len(states))
		for i, s := range states {
			out[i] = v1alpha1.ModelStatus{Name: fmt.Sprint(i), State: s}
		}
		return out
	}
	cases := map[string]struct {
		models []v1alpha1.ModelStatus
		n      int
		s      string
	}{
		"None":  {nil, 0, "0/0"},
		"Mixed": {m(v1alpha1.ModelReady, v1alpha1.ModelFailed, v1alpha1.ModelRunning, v1alpha1.ModelReady, v1alpha1.ModelPending), 2, "2/5"},
		"All":   {m(v1alpha1.ModelReady, v1alpha1.ModelReady), 2, "2/2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n, s := readyCount(tc.models)
			if n != tc.n || s != tc.s {
				t.Errorf("readyCount(...): want %d, %q; got %d, %q", tc.n, tc.s, n, s)
			}
		})
	}
}

func TestPreviousStates(t *testing.T) {
	cases := map[string]struct {
		reason string
		xr     string
		want   map[string]v1alpha1.ModelState
	}{
		"NoStatus": {"A new XR has no previous states.", `{"spec": {}}`, map[string]v1alpha1.ModelState{}},
		"Models": {"Every named model's state.",
			`{"status": {"models": [{"name": "a", "state": "Ready"}, {"name": "b", "state": "Failed"}, {"name": "c"}]}}`,
			map[string]v1alpha1.ModelState{"a": v1alpha1.ModelReady, "b": v1alpha1.ModelFailed, "c": ""}},
		"Malformed": {"Entries that are no models are ignored.",
			`{"status": {"models": [3, "x", {"state": "Ready"}, {"name": 4, "state": "Ready"}, {"name": "ok", "state": "Running"}]}}`,
			map[string]v1alpha1.ModelState{"ok": v1alpha1.ModelRunning}},
		"NotAList": {"A status.models that is no list is ignored.", `{"status": {"models": {"a": "Ready"}}}`, map[string]v1alpha1.ModelState{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := map[string]any{}
			if err := json.Unmarshal([]byte(tc.xr), &xr); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, previousStates(xr)); diff != "" {
				t.Errorf("%s\npreviousStates(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	cases := map[string]struct {
		in   string
		n    int
		want string
	}{
		"Short": {"abc", 5, "abc"},
		"Exact": {"abcde", 5, "abcde"},
		"Long":  {"abcdef", 5, "ab..."},
		// "é" is two bytes: 5 bytes leave room for one "é" and "...".
		"Runes": {"éééé", 5, "é..."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := truncate(tc.in, tc.n)
			if !utf8.ValidString(got) || len(got) > tc.n {
				t.Errorf("truncate(%q, %d) = %q: not valid UTF-8 of at most %d bytes", tc.in, tc.n, got, tc.n)
			}
			if got != tc.want {
				t.Errorf("truncate(%q, %d): want %q, got %q", tc.in, tc.n, tc.want, got)
			}
		})
	}
}
