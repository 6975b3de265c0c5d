// Package controller is the SRE assistant's controller: it watches the
// workspace namespaces (found by the function's labels), finds incidents
// (package incident), diagnoses each new one once (package llm, with the
// facts of package prompt, or the rule-based hint alone), and writes the
// result where people look: an Event and the Incident condition on the claim
// (kubectl describe, and the portal, which shows the claim's conditions),
// and Prometheus metrics.
package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/sre/incident"
	"github.com/aichatworkspaces/workspaces/sre/llm"
	"github.com/aichatworkspaces/workspaces/sre/prompt"
)

// Name is the controller's name: the Event source and field manager.
const Name = "aichat-sre"

// recheck is how often a workspace is looked at without a change: a PVC
// becomes an incident by staying Pending, which no watch event says.
const recheck = time.Minute

// LLM is what the controller needs of a model (llm.Client).
type LLM interface {
	Model() string
	Diagnose(ctx context.Context, system, prompt string) (string, error)
}

// Options configure the controller.
type Options struct {
	// LLM is nil when none is configured: diagnoses are the rule-based hints.
	LLM            LLM
	Limiter        *llm.Limiter
	History        *History
	PromptMaxBytes int
	Log            *slog.Logger
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
}

// CacheOptions restrict the manager's cache to what the controller reads:
// objects carrying the workspace label, and Warning events (which carry no
// labels; events.k8s.io cannot select them by namespace label either).
func CacheOptions() cache.Options {
	ws, _ := labels.NewRequirement(incident.LabelWorkspace, selection.Exists, nil)
	byLabel := cache.ByObject{Label: labels.NewSelector().Add(*ws)}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Namespace{}:             byLabel,
		&corev1.Pod{}:                   byLabel,
		&batchv1.Job{}:                  byLabel,
		&corev1.PersistentVolumeClaim{}: byLabel,
		&corev1.ResourceQuota{}:         byLabel,
		&corev1.Event{}:                 {Field: fields.OneTermEqualSelector("type", corev1.EventTypeWarning)},
	}}
}

// Reconciler reconciles one workspace namespace per request.
type Reconciler struct {
	opts     Options
	client   client.Client
	reader   client.Reader // uncached, for the claim
	recorder events.EventRecorder
	// resolved remembers the workspaces whose claim is known to show no
	// open incident, so a healthy workspace costs no claim read per
	// reconcile; after a restart each is read once.
	resolved sync.Map // workspace ID -> struct{}
}

// Setup adds the controller to mgr; mgr's cache must use CacheOptions.
func Setup(mgr manager.Manager, o Options) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := &Reconciler{opts: o, client: mgr.GetClient(), reader: mgr.GetAPIReader(), recorder: mgr.GetEventRecorder(Name)}
	toNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.GetNamespace()}}}
	})
	return builder.ControllerManagedBy(mgr).
		Named("sre").
		For(&corev1.Namespace{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Pod{}, toNamespace).
		Watches(&batchv1.Job{}, toNamespace).
		Watches(&corev1.PersistentVolumeClaim{}, toNamespace).
		Watches(&corev1.Event{}, toNamespace).
		Complete(r)
}

// Reconcile looks at one namespace.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ns := &corev1.Namespace{}
	if err := r.client.Get(ctx, req.NamespacedName, ns); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	ws, ok := incident.WorkspaceOf(ns)
	if !ok || ns.DeletionTimestamp != nil {
		return reconcile.Result{}, nil
	}
	snap, err := r.snapshot(ctx, ws)
	if err != nil {
		return reconcile.Result{}, err
	}
	found := incident.Detect(snap)
	for _, inc := range found {
		if r.opts.History.Seen(inc.Fingerprint(), snap.Now) {
			// Known, but the claim was marked resolved since (the same
			// incident came back within the window): show the remembered
			// diagnosis again, without asking the LLM again.
			if _, ok := r.resolved.Load(ws.ID); ok {
				if rec, ok := r.opts.History.Get(inc.Fingerprint()); ok {
					if err := r.report(ctx, ws, rec); err != nil {
						return reconcile.Result{}, err
					}
				}
			}
			continue
		}
		incidentsTotal.WithLabelValues(inc.Reason).Inc()
		rec := r.diagnose(ctx, snap, inc)
		if err := r.report(ctx, ws, rec); err != nil {
			return reconcile.Result{}, err
		}
		// Remembered only once reported: a failed write is retried, and a
		// retry of the LLM call is the lesser evil than a lost diagnosis.
		r.opts.History.Add(inc.Fingerprint(), rec)
	}
	if len(found) == 0 {
		if err := r.resolve(ctx, ws); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: recheck}, nil
}

func (r *Reconciler) snapshot(ctx context.Context, ws incident.Workspace) (incident.Snapshot, error) {
	s := incident.Snapshot{Workspace: ws, Now: r.opts.Now()}
	in := client.InNamespace(ws.Namespace)
	pods, jobs, pvcs, quotas, evs := &corev1.PodList{}, &batchv1.JobList{}, &corev1.PersistentVolumeClaimList{}, &corev1.ResourceQuotaList{}, &corev1.EventList{}
	for _, l := range []client.ObjectList{pods, jobs, pvcs, quotas, evs} {
		if err := r.client.List(ctx, l, in); err != nil {
			return s, fmt.Errorf("listing %T in %s: %w", l, ws.Namespace, err)
		}
	}
	s.Pods, s.Jobs, s.PVCs, s.Quotas, s.Events = pods.Items, jobs.Items, pvcs.Items, quotas.Items, evs.Items
	return s, nil
}

// diagnose asks the LLM when one is configured and the limits allow it; the
// rule-based hint is always part of the result.
func (r *Reconciler) diagnose(ctx context.Context, snap incident.Snapshot, inc incident.Incident) Record {
	rec := Record{Incident: inc, Source: "rules", FirstSeen: snap.Now, LastSeen: snap.Now}
	switch {
	case r.opts.LLM == nil:
	case !r.opts.Limiter.Allow(inc.Workspace, snap.Now):
		llmRequestsTotal.WithLabelValues("rate_limited").Inc()
		rec.Error = llm.ErrRateLimited.Error()
	default:
		text, err := r.opts.LLM.Diagnose(ctx, prompt.Instructions, prompt.Build(snap, inc, r.opts.PromptMaxBytes))
		if err != nil {
			llmRequestsTotal.WithLabelValues("error").Inc()
			r.opts.Log.Warn("LLM diagnosis failed; reporting the rule-based hint", "workspace", inc.Workspace, "reason", inc.Reason, "error", err)
			rec.Error = err.Error()
			break
		}
		llmRequestsTotal.WithLabelValues("ok").Inc()
		if text == "" {
			// Said as it is: the model was asked and answered nothing.
			text = "(no answer)"
		}
		rec.Source, rec.Model, rec.Diagnosis = "llm", r.opts.LLM.Model(), text
	}
	diagnosesTotal.WithLabelValues(rec.Source).Inc()
	return rec
}

// Condition on the claim. Crossplane v2's claim syncer keeps the claim's
// own conditions when it copies the XR's status (syncer_ssa.go: "Preserve
// Crossplane machinery, like status conditions"), so a condition type of our
// own survives; the e2e test proves it on real Crossplane.
const (
	ConditionType     = "Incident"
	reasonNoIncident  = "NoIncident"
	maxConditionBytes = 2048
	maxEventNote      = 1024 // events.k8s.io/v1 rejects a longer note
)

// Message is the text shown on the claim for a record.
func Message(rec Record) string {
	m := fmt.Sprintf("%s on %s: %s. Hint: %s", rec.Incident.Reason, rec.Incident.Object, rec.Incident.Summary, rec.Incident.Hint)
	if rec.Diagnosis != "" {
		m += " Diagnosis by " + rec.Model + ": " + rec.Diagnosis
	}
	return prompt.Redact(m)
}

func (r *Reconciler) report(ctx context.Context, ws incident.Workspace, rec Record) error {
	msg := Message(rec)
	r.resolved.Delete(ws.ID)
	claim, err := r.setCondition(ctx, ws, "True", rec.Incident.Reason, clipBytes(msg, maxConditionBytes))
	if err != nil || claim == nil {
		return err
	}
	r.recorder.Eventf(claim, nil, corev1.EventTypeWarning, rec.Incident.Reason, "Diagnose", "%s", clipBytes(msg, maxEventNote))
	r.opts.Log.Info("incident diagnosed", "workspace", ws.ID, "reason", rec.Incident.Reason, "object", rec.Incident.Object, "source", rec.Source)
	return nil
}

// resolve turns a True Incident condition False once no incident is left.
func (r *Reconciler) resolve(ctx context.Context, ws incident.Workspace) error {
	if _, ok := r.resolved.Load(ws.ID); ok {
		return nil
	}
	if _, err := r.setCondition(ctx, ws, "False", reasonNoIncident, "No incident found in the workspace.", onlyIfTrue); err != nil {
		return err
	}
	r.resolved.Store(ws.ID, struct{}{})
	return nil
}

type condOpt int

const onlyIfTrue condOpt = 1

// setCondition writes the Incident condition with a read-modify-write of
// the claim's status: an apply would own the whole conditions list when
// the claim CRD makes it atomic, and a conflict with Crossplane's own
// status update is retried. It returns nil without error when there is no
// claim (yet, or any more).
func (r *Reconciler) setCondition(ctx context.Context, ws incident.Workspace, status, reason, message string, opts ...condOpt) (*unstructured.Unstructured, error) {
	if ws.ClaimName == "" || ws.ClaimNamespace == "" {
		return nil, nil // an XR without a claim: nowhere tenants look
	}
	for attempt := 0; ; attempt++ {
		claim := &unstructured.Unstructured{}
		claim.SetGroupVersionKind(schema.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: v1alpha1.ClaimKind})
		if err := r.reader.Get(ctx, client.ObjectKey{Namespace: ws.ClaimNamespace, Name: ws.ClaimName}, claim); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("reading claim %s/%s: %w", ws.ClaimNamespace, ws.ClaimName, err)
		}
		conds, _, _ := unstructured.NestedSlice(claim.Object, "status", "conditions")
		idx := -1
		for i, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == ConditionType {
				idx = i
			}
		}
		if len(opts) > 0 && opts[0] == onlyIfTrue {
			if idx < 0 || conds[idx].(map[string]any)["status"] != "True" {
				return claim, nil
			}
		}
		now := r.opts.Now().UTC().Format(time.RFC3339)
		c := map[string]any{"type": ConditionType, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
		if idx >= 0 {
			old := conds[idx].(map[string]any)
			if old["status"] == status && old["reason"] == reason && old["message"] == message {
				return claim, nil
			}
			if old["status"] == status {
				c["lastTransitionTime"] = old["lastTransitionTime"]
			}
			conds[idx] = c
		} else {
			conds = append(conds, c)
		}
		if err := unstructured.SetNestedSlice(claim.Object, conds, "status", "conditions"); err != nil {
			return nil, err
		}
		err := r.client.Status().Update(ctx, claim, client.FieldOwner(Name))
		if err == nil {
			return claim, nil
		}
		if !apierrors.IsConflict(err) || attempt >= 5 {
			return nil, fmt.Errorf("writing the %s condition on claim %s/%s: %w", ConditionType, ws.ClaimNamespace, ws.ClaimName, err)
		}
	}
}

// clipBytes cuts s to at most n bytes on a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
