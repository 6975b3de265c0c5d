package prompt

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/sre/incident"
)

func TestRedact(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"bearer":       {"401 with Authorization: Bearer abc.def-ghi", "401 with Authorization: Bearer [redacted]"},
		"portal token": {"token aichat_0123abcd_xyz rejected", "token [redacted token] rejected"},
		"key=value":    {"password=hunter2 and api_key: k-123", "password=[redacted] and api_key: [redacted]"},
		"url userinfo": {"pull https://bob:pw@registry.example/x failed", "pull https://[redacted]@registry.example/x failed"},
		"plain":        {`Back-off pulling image "ghcr.io/open-webui/open-webui:v0.6"`, `Back-off pulling image "ghcr.io/open-webui/open-webui:v0.6"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Redact(tc.in)); diff != "" {
				t.Errorf("Redact (-want +got):\n%s", diff)
			}
		})
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// snapshot has the facts of one workspace; events about one object with one
// reason are folded into one line (count summed, latest message).
func snapshot() incident.Snapshot {
	return incident.Snapshot{
		Workspace: incident.Workspace{ID: "ws1", Namespace: "aichat-ws1"},
		Pods: []corev1.Pod{{
			ObjectMeta: metav1.ObjectMeta{Name: "webui-1"},
			// The spec's env is never read: only status goes in.
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "webui", Env: []corev1.EnvVar{{Name: "WEBUI_SECRET_KEY", Value: "env-value-xyz"}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "webui", Image: "webui:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "pull https://u:p@reg/x"}},
			}}},
		}},
		Events: []corev1.Event{
			{Type: "Warning", Reason: "FailedCreate", Count: 3, Message: "exceeded quota: workspace (older)", InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "hog"}, LastTimestamp: metav1.NewTime(t0)},
			{Type: "Warning", Reason: "FailedScheduling", Message: "0/1 nodes", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"}, LastTimestamp: metav1.NewTime(t0.Add(time.Second))},
			{Type: "Warning", Reason: "FailedCreate", Message: "exceeded quota: workspace", InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "hog"}, LastTimestamp: metav1.NewTime(t0.Add(2 * time.Second))},
		},
		Quotas: []corev1.ResourceQuota{{ObjectMeta: metav1.ObjectMeta{Name: "workspace"}, Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{corev1.ResourceLimitsCPU: resource.MustParse("2")},
			Used: corev1.ResourceList{corev1.ResourceLimitsCPU: resource.MustParse("1500m")},
		}}},
	}
}

func TestBuild(t *testing.T) {
	inc := incident.Incident{Workspace: "ws1", Reason: incident.ImagePullFailed, Object: "ReplicaSet/webui-1", Summary: "cannot pull", Hint: "check the image"}
	want := `Incident: ImagePullFailed on ReplicaSet/webui-1
Summary: cannot pull
Rule-based hint: check the image
Workspace: ws1 (namespace aichat-ws1)
Warning events:
- ReplicaSet hog: FailedCreate (x4): exceeded quota: workspace
- Pod p: FailedScheduling (x1): 0/1 nodes
Pods:
- webui-1: phase Pending
  container webui image webui:1 ready=false restarts=0 state=waiting ImagePullBackOff: pull https://[redacted]@reg/x
Jobs:
Resource quota:
- workspace limits.cpu: used 1500m of 2
PersistentVolumeClaims:
`
	if diff := cmp.Diff(want, Build(snapshot(), inc, 0)); diff != "" {
		t.Errorf("Build (-want +got):\n%s", diff)
	}
}

func TestBuildIsBounded(t *testing.T) {
	s := snapshot()
	for i := range 500 {
		s.Events = append(s.Events, corev1.Event{Type: "Warning", Reason: "BackOff", Message: strings.Repeat("é", 1000),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: fmt.Sprint("p", i)}})
	}
	inc := incident.Incident{Reason: incident.CrashLoopBackOff, Object: "Pod/p"}
	for _, limit := range []int{512, DefaultMaxBytes} {
		got := Build(s, inc, limit)
		if len(got) > limit {
			t.Errorf("limit %d: prompt is %d bytes", limit, len(got))
		}
		if !strings.HasPrefix(got, "Incident: CrashLoopBackOff on Pod/p\n") || !strings.HasSuffix(got, truncated) {
			t.Errorf("limit %d: want the incident first and the truncation said last, got %q...%q", limit, got[:40], got[len(got)-60:])
		}
		if !strings.Contains(got, "Workspace: ws1") {
			t.Errorf("limit %d: the workspace line must survive the bound", limit)
		}
	}
}
