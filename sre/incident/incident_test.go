package incident

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func pod(name string, owner metav1.OwnerReference, cs ...corev1.ContainerStatus) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{owner}},
		Status:     corev1.PodStatus{ContainerStatuses: cs},
	}
}

func waiting(reason, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "app", Image: "img:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

var rs = metav1.OwnerReference{Kind: "ReplicaSet", Name: "webui-7f", Controller: ptr.To(true)}

func TestDetect(t *testing.T) {
	ws := Workspace{ID: "ws1", Namespace: "aichat-ws1"}
	cases := map[string]struct {
		reason string
		snap   Snapshot
		want   []Incident
	}{
		"healthy": {
			reason: "running pods, a succeeded Job and a bound PVC are no incident",
			snap: Snapshot{Pods: []corev1.Pod{pod("p", rs, corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})},
				PVCs: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}}},
			want: []Incident{},
		},
		"image pull, two pods of one ReplicaSet": {
			reason: "replicas of one rollout are one incident, named by their controller",
			snap:   Snapshot{Pods: []corev1.Pod{pod("p1", rs, waiting("ImagePullBackOff", "back-off")), pod("p2", rs, waiting("ErrImagePull", "not found"))}},
			want: []Incident{{Workspace: "ws1", Reason: ImagePullFailed, Object: "ReplicaSet/webui-7f",
				Summary: `container "app" of pod p1 (image img:1) is waiting: ImagePullBackOff: back-off`, Hint: Hint(ImagePullFailed)}},
		},
		"crash loop of a bare pod": {
			reason: "a pod without a controller names itself",
			snap:   Snapshot{Pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "solo"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("CrashLoopBackOff", "back-off 5m")}}}}},
			want: []Incident{{Workspace: "ws1", Reason: CrashLoopBackOff, Object: "Pod/solo",
				Summary: `container "app" of pod solo (image img:1) is waiting: CrashLoopBackOff: back-off 5m`, Hint: Hint(CrashLoopBackOff)}},
		},
		"quota event": {
			reason: "the ReplicaSet controller's recent FailedCreate for an exceeded quota; an old one, other FailedCreate and Normal events are not incidents",
			snap: Snapshot{Events: []corev1.Event{
				{Type: corev1.EventTypeWarning, Reason: "FailedCreate", Message: `pods "x" is forbidden: exceeded quota: workspace`, InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "hog-1"}, LastTimestamp: metav1.NewTime(now.Add(-time.Minute))},
				{Type: corev1.EventTypeWarning, Reason: "FailedCreate", Message: `pods "y" is forbidden: exceeded quota: workspace`, InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "old"}, LastTimestamp: metav1.NewTime(now.Add(-EventWindow - time.Second))},
				{Type: corev1.EventTypeWarning, Reason: "FailedCreate", Message: "something else", InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "other"}},
				{Type: corev1.EventTypeNormal, Reason: "FailedScheduling", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "n"}},
			}},
			want: []Incident{{Workspace: "ws1", Reason: QuotaExceeded, Object: "ReplicaSet/hog-1",
				Summary: `ReplicaSet hog-1: FailedCreate: pods "x" is forbidden: exceeded quota: workspace`, Hint: Hint(QuotaExceeded)}},
		},
		"failed model Job with its pod's summary": {
			reason: "the Job rule reports the model program's message; the failed pod itself is not a second incident",
			snap: Snapshot{
				Jobs: []batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Name: "pull-x", Labels: map[string]string{LabelComponent: ComponentModelJob}},
					Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}}}},
				Pods: []corev1.Pod{{
					ObjectMeta: metav1.ObjectMeta{Name: "pull-x-abc", Labels: map[string]string{labelJobName: "pull-x"}, OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "pull-x", Controller: ptr.To(true)}}},
					Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
						ExitCode: 4, Message: `{"model":"x:1b","kind":"base","state":"Failed","message":"file does not exist"}`}}}}},
				}},
			},
			want: []Incident{{Workspace: "ws1", Reason: ModelJobFailed, Object: "Job/pull-x",
				Summary: "Job pull-x failed: BackoffLimitExceeded: Job has reached the specified backoff limit; its pod said: model x:1b Failed: file does not exist (exit code 4)",
				Hint:    Hint(ModelJobFailed)}},
		},
		"unschedulable only while it holds": {
			reason: "a FailedScheduling event counts only while its pod still waits for a node",
			snap: Snapshot{
				Pods: []corev1.Pod{
					{ObjectMeta: metav1.ObjectMeta{Name: "waiting"}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
					{ObjectMeta: metav1.ObjectMeta{Name: "placed"}, Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
				},
				Events: []corev1.Event{
					{Type: corev1.EventTypeWarning, Reason: "FailedScheduling", Message: "0/1 nodes are available", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "waiting"}, LastTimestamp: metav1.NewTime(now)},
					{Type: corev1.EventTypeWarning, Reason: "FailedScheduling", Message: "unbound PVC", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "placed"}, LastTimestamp: metav1.NewTime(now)},
					{Type: corev1.EventTypeWarning, Reason: "FailedScheduling", Message: "unbound PVC", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "gone"}, LastTimestamp: metav1.NewTime(now)},
				},
			},
			want: []Incident{{Workspace: "ws1", Reason: Unschedulable, Object: "Pod/waiting",
				Summary: "Pod waiting: FailedScheduling: 0/1 nodes are available", Hint: Hint(Unschedulable)}},
		},
		"pending PVC": {
			reason: "a PVC is an incident only once Pending longer than PVCPendingAfter",
			snap: Snapshot{PVCs: []corev1.PersistentVolumeClaim{
				{ObjectMeta: metav1.ObjectMeta{Name: "old", CreationTimestamp: metav1.NewTime(now.Add(-PVCPendingAfter))}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
				{ObjectMeta: metav1.ObjectMeta{Name: "new", CreationTimestamp: metav1.NewTime(now.Add(-time.Second))}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
			}},
			want: []Incident{{Workspace: "ws1", Reason: VolumeNotBound, Object: "PersistentVolumeClaim/old",
				Summary: "PersistentVolumeClaim old is Pending since 2026-01-02T03:01:05Z", Hint: Hint(VolumeNotBound)}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.snap.Workspace, tc.snap.Now = ws, now
			if diff := cmp.Diff(tc.want, Detect(tc.snap)); diff != "" {
				t.Errorf("%s\nDetect (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestLastSeen(t *testing.T) {
	t1, t2 := now.Add(-time.Hour), now.Add(-time.Minute)
	cases := map[string]struct {
		e    corev1.Event
		want time.Time
	}{
		"core/v1":          {corev1.Event{LastTimestamp: metav1.NewTime(t2)}, t2},
		"events.k8s.io":    {corev1.Event{EventTime: metav1.NewMicroTime(t2)}, t2},
		"series is latest": {corev1.Event{EventTime: metav1.NewMicroTime(t1), Series: &corev1.EventSeries{LastObservedTime: metav1.NewMicroTime(t2)}}, t2},
		"creation only":    {corev1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t1)}}, t1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := LastSeen(&tc.e); !got.Equal(tc.want) {
				t.Errorf("LastSeen = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := Incident{Workspace: "w", Reason: QuotaExceeded, Object: "ReplicaSet/x", Summary: "one"}
	b := a
	b.Summary = "another message"
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("the same (workspace, reason, object) must have the same fingerprint whatever the message")
	}
	c := a
	c.Workspace = "w2"
	if a.Fingerprint() == c.Fingerprint() {
		t.Error("another workspace must be another incident")
	}
}

func TestEveryReasonHasAHint(t *testing.T) {
	for _, r := range []string{ImagePullFailed, CrashLoopBackOff, ContainerConfigError, QuotaExceeded, VolumeNotBound, Unschedulable, ModelJobFailed, JobFailed} {
		if Hint(r) == "" {
			t.Errorf("reason %s has no hint", r)
		}
	}
}
