// Package incident finds what is wrong in one workspace: it reads a snapshot
// of the workspace namespace (pods, Warning events, Jobs, PVCs) and groups
// the facts into incidents, each identified by (workspace, reason, object),
// with a rule-based hint for the common causes. It is pure: no API calls,
// so every rule is a table test.
package incident

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Labels the composition function puts on a workspace's objects (see
// function/workspace.go); the SRE assistant finds workspaces by them.
const (
	LabelWorkspace      = "aichatworkspaces.io/workspace"
	LabelComponent      = "app.kubernetes.io/component"
	LabelClaimName      = "crossplane.io/claim-name"
	LabelClaimNamespace = "crossplane.io/claim-namespace"
	ComponentModelJob   = "model-job"
	labelJobName        = "batch.kubernetes.io/job-name"
)

// Reasons of incidents. They are metric label values, so the set is closed.
const (
	ImagePullFailed      = "ImagePullFailed"
	CrashLoopBackOff     = "CrashLoopBackOff"
	ContainerConfigError = "ContainerConfigError"
	QuotaExceeded        = "QuotaExceeded"
	VolumeNotBound       = "VolumeNotBound"
	Unschedulable        = "Unschedulable"
	ModelJobFailed       = "ModelJobFailed"
	JobFailed            = "JobFailed"
)

// PVCPendingAfter is how long a PVC may stay Pending before it is an
// incident: binding takes seconds, provisioning a cloud disk a minute.
const PVCPendingAfter = 3 * time.Minute

// EventWindow is how recent a Warning event must be to count: events stay
// in the API for an hour, long after what they said was fixed.
const EventWindow = 15 * time.Minute

// Workspace identifies a workspace and its claim.
type Workspace struct {
	ID             string `json:"id"`
	Namespace      string `json:"namespace"`
	ClaimNamespace string `json:"claimNamespace"`
	ClaimName      string `json:"claimName"`
}

// WorkspaceOf reads a workspace namespace's labels; ok is false for any other
// namespace.
func WorkspaceOf(ns *corev1.Namespace) (Workspace, bool) {
	l := ns.GetLabels()
	id := l[LabelWorkspace]
	if id == "" {
		return Workspace{}, false
	}
	return Workspace{ID: id, Namespace: ns.Name, ClaimNamespace: l[LabelClaimNamespace], ClaimName: l[LabelClaimName]}, true
}

// Snapshot is what the cluster shows of one workspace namespace.
type Snapshot struct {
	Workspace Workspace
	Now       time.Time
	Pods      []corev1.Pod
	Events    []corev1.Event // Warning events only
	Jobs      []batchv1.Job
	PVCs      []corev1.PersistentVolumeClaim
	Quotas    []corev1.ResourceQuota
}

// Incident is one thing wrong in a workspace.
type Incident struct {
	Workspace string `json:"workspace"`
	Reason    string `json:"reason"`
	// Object is "Kind/name" of what is broken: a pod's controller (so a
	// restarted pod is the same incident), a Job, a PVC, or the object of an
	// event.
	Object string `json:"object"`
	// Summary says in one line what the facts show.
	Summary string `json:"summary"`
	// Hint is the rule-based advice for Reason.
	Hint string `json:"hint"`
}

// Fingerprint identifies the incident across reconciles: the same
// (workspace, reason, object) is the same incident.
func (i Incident) Fingerprint() string {
	h := sha256.Sum256([]byte(i.Workspace + "\x00" + i.Reason + "\x00" + i.Object))
	return hex.EncodeToString(h[:8])
}

// Detect returns the incidents of a snapshot, sorted by reason and object.
// Several facts about the same (reason, object) make one incident; the first
// fact's summary wins, in the order pods, Jobs, PVCs, events.
func Detect(s Snapshot) []Incident {
	found := map[string]Incident{}
	add := func(reason, object, summary string) {
		k := reason + "\x00" + object
		if _, ok := found[k]; ok {
			return
		}
		found[k] = Incident{Workspace: s.Workspace.ID, Reason: reason, Object: object, Summary: summary, Hint: Hint(reason)}
	}
	for _, p := range s.Pods {
		if ownedByJob(&p) {
			continue // a Job's failure is reported once, by the Job rule
		}
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			w := cs.State.Waiting
			if w == nil {
				continue
			}
			reason := waitingReason(w.Reason)
			if reason == "" {
				continue
			}
			add(reason, controllerOf(&p), fmt.Sprintf("container %q of pod %s (image %s) is waiting: %s: %s",
				cs.Name, p.Name, cs.Image, w.Reason, w.Message))
		}
	}
	for _, j := range s.Jobs {
		c := failedCondition(&j)
		if c == nil {
			continue
		}
		reason := JobFailed
		if j.Labels[LabelComponent] == ComponentModelJob {
			reason = ModelJobFailed
		}
		summary := fmt.Sprintf("Job %s failed: %s: %s", j.Name, c.Reason, c.Message)
		if m := JobMessage(s.Pods, j.Name); m != "" {
			summary += "; its pod said: " + m
		}
		add(reason, "Job/"+j.Name, summary)
	}
	for _, pvc := range s.PVCs {
		if pvc.Status.Phase == corev1.ClaimPending && s.Now.Sub(pvc.CreationTimestamp.Time) >= PVCPendingAfter {
			add(VolumeNotBound, "PersistentVolumeClaim/"+pvc.Name, fmt.Sprintf("PersistentVolumeClaim %s is Pending since %s",
				pvc.Name, pvc.CreationTimestamp.UTC().Format(time.RFC3339)))
		}
	}
	for _, e := range s.Events {
		if e.Type != corev1.EventTypeWarning || s.Now.Sub(LastSeen(&e)) > EventWindow {
			continue
		}
		reason := eventReason(&e)
		if reason == "" || (reason == Unschedulable && !unscheduled(s.Pods, e.InvolvedObject.Name)) {
			continue
		}
		add(reason, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name, fmt.Sprintf("%s %s: %s: %s",
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message))
	}
	out := make([]Incident, 0, len(found))
	for _, i := range found {
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b Incident) int {
		return cmp.Or(cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Object, b.Object))
	})
	return out
}

// LastSeen is when an event last happened, whichever API wrote it: core/v1
// (lastTimestamp) or events.k8s.io/v1 (eventTime, series).
func LastSeen(e *corev1.Event) time.Time {
	t := e.LastTimestamp.Time
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	if e.EventTime.After(t) {
		t = e.EventTime.Time
	}
	if t.IsZero() {
		t = e.CreationTimestamp.Time
	}
	return t
}

func waitingReason(r string) string {
	switch r {
	case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull":
		return ImagePullFailed
	case "CrashLoopBackOff":
		return CrashLoopBackOff
	case "CreateContainerConfigError", "CreateContainerError":
		return ContainerConfigError
	}
	return ""
}

// eventReason maps a Warning event to an incident reason, "" for events that
// are noise on their own (e.g. a single failed probe).
func eventReason(e *corev1.Event) string {
	switch {
	case e.Reason == "FailedCreate" && strings.Contains(e.Message, "exceeded quota"):
		return QuotaExceeded
	case e.Reason == "FailedScheduling":
		return Unschedulable
	case e.InvolvedObject.Kind == "PersistentVolumeClaim" && (e.Reason == "ProvisioningFailed" || e.Reason == "FailedBinding"):
		return VolumeNotBound
	}
	return ""
}

// unscheduled reports whether the named pod still waits for a node: a
// FailedScheduling event outlives the moment (a pod waits seconds for its
// PVC at every workspace's start) and is only an incident while it holds.
func unscheduled(pods []corev1.Pod, name string) bool {
	for _, p := range pods {
		if p.Name == name {
			return p.Spec.NodeName == "" && p.Status.Phase == corev1.PodPending
		}
	}
	return false
}

func ownedByJob(p *corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "Job" {
			return true
		}
	}
	return false
}

// controllerOf names a pod's controller (ReplicaSet, StatefulSet), so a
// replaced pod of the same rollout is the same incident; a bare pod names
// itself.
func controllerOf(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.Kind + "/" + o.Name
		}
	}
	return "Pod/" + p.Name
}

func failedCondition(j *batchv1.Job) *batchv1.JobCondition {
	for i, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// JobMessage is what a Job's latest terminated pod wrote as its termination
// message: for model Jobs the "message" of the model program's JSON summary
// ({model, kind, state, message}), else the raw text.
func JobMessage(pods []corev1.Pod, job string) string {
	var latest *corev1.ContainerStateTerminated
	for _, p := range pods {
		if p.Labels[labelJobName] != job && p.Labels["job-name"] != job {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if t == nil || t.Message == "" {
				continue
			}
			if latest == nil || t.FinishedAt.After(latest.FinishedAt.Time) {
				latest = t
			}
		}
	}
	if latest == nil {
		return ""
	}
	var summary struct {
		Model   string `json:"model"`
		State   string `json:"state"`
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(latest.Message)
	if json.Unmarshal([]byte(msg), &summary) == nil && summary.Message != "" {
		return fmt.Sprintf("model %s %s: %s (exit code %d)", summary.Model, summary.State, summary.Message, latest.ExitCode)
	}
	return fmt.Sprintf("%s (exit code %d)", msg, latest.ExitCode)
}
