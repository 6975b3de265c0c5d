package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
	"github.com/aichatworkspaces/workspaces/sre/controller"
	"github.com/aichatworkspaces/workspaces/sre/incident"
	"github.com/aichatworkspaces/workspaces/sre/llm"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/ollama"
)

const timeout = 3 * time.Minute

// prompts records every prompt sent to the LLM, by incident reason (read
// off the prompt's first line), so the test can check what went out.
type prompts struct {
	controller.LLM
	mu   sync.Mutex
	sent map[string][]string
}

func (p *prompts) Diagnose(ctx context.Context, system, prompt string) (string, error) {
	p.mu.Lock()
	first, _, _ := strings.Cut(prompt, "\n")
	p.sent[first] = append(p.sent[first], prompt)
	p.mu.Unlock()
	return p.LLM.Diagnose(ctx, system, prompt)
}

func (p *prompts) find(ws incident.Workspace, reason string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for first, ps := range p.sent {
		if !strings.HasPrefix(first, "Incident: "+reason+" ") {
			continue
		}
		for _, prompt := range ps {
			if strings.Contains(prompt, "\nWorkspace: "+ws.ID+" ") {
				out = append(out, prompt)
			}
		}
	}
	return out
}

// TestDiagnoses breaks a real workspace three ways and follows each
// incident from the cluster's facts to the claim and the portal.
//
// What is real and what is written as the kubelet would: KWOK plays the
// kubelet of a fake node and never pulls images or runs containers, so the
// ImagePullBackOff of the Open WebUI container and the failed pod of the
// model Job are status updates the test writes through the pods' status
// subresource, exactly as a kubelet reports them. Everything else is real
// control-plane behaviour: the ReplicaSet controller's FailedCreate Warning
// event when the workspace's ResourceQuota refuses a pod, the Job
// controller failing the Job (BackoffLimitExceeded) on its failed pod,
// Crossplane's claim sync, the portal's watch-backed cache, and a real
// Ollama answering through a counting proxy.
func TestDiagnoses(t *testing.T) {
	controlplane.SkipIfShort(t)
	cp.DumpOnFailure(t)
	ctx := t.Context()

	srv := ollama.Start(t)
	ollama.InstallTinyModel(t, srv, "tiny")
	counter := ollama.Record(t, srv)

	// The controller runs under the ServiceAccount and RBAC we ship
	// (impersonated), so a missing rule fails here as in a real install.
	// The Deployment we ship is applied too, so the API server validates
	// it (its pod "runs" on KWOK, which runs nothing).
	installSRE(t, "deployment.yaml")

	// Two tenants' workspaces become Ready first: "broken" (owned by
	// portal user 7, the label the portal writes) breaks three ways, its
	// neighbour one way, and is then repaired.
	createClaim(t, "team-sre", "broken")
	createClaim(t, "team-sre-2", "neighbour")
	ws, wsNS := waitWorkspace(t, "team-sre", "broken")
	nb, nbNS := waitWorkspace(t, "team-sre-2", "neighbour")

	// The SRE controller, asking the real Ollama through the counter.
	client0, err := llm.New(llm.Config{URL: counter.URL, Model: "tiny", MaxTokens: 32})
	if err != nil {
		t.Fatal(err)
	}
	sent := &prompts{LLM: client0, sent: map[string][]string{}}
	history := controller.NewHistory(time.Hour, 100)
	startController(t, controller.Options{
		LLM: sent, History: history,
		Limiter: llm.NewLimiter(llm.Limits{Global: rate.Every(time.Second), GlobalBurst: 10, PerWorkspace: rate.Every(time.Minute), Burst: 5}),
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})

	// 1. An image that cannot be pulled (written as the kubelet would), in
	// both workspaces.
	webui := podOf(t, wsNS, "open-webui")
	image := webui.Status.ContainerStatuses[0].Image
	pullFailed(t, webui, "Back-off pulling image \""+image+"\": not found")
	pullFailed(t, podOf(t, nbNS, "open-webui"), "Back-off pulling image \""+image+"\": not found")

	// 2. A quota that blocks a rollout: more replicas of the largest pod
	// the LimitRange admits than the quota holds; the ReplicaSet controller
	// reports FailedCreate "exceeded quota" (real). The env value must
	// never reach the prompt.
	const envSecret = "s3cr3t-env-value-never-in-prompt"
	mustCreate(t, hog(t, wsNS, ws.ID, envSecret))

	// 3. A model Job that fails: its pod is bound to a node no kubelet
	// (KWOK) serves, so nothing but the test writes its status; the test
	// fails it as the kubelet would, with the model program's exit code and
	// JSON summary; the Job controller then fails the Job (real).
	mustCreate(t, failingJob(wsNS, ws.ID))
	jobPod := waitPod(t, wsNS, "batch.kubernetes.io/job-name=pull-nosuch")
	failPod(t, jobPod, `{"model":"nosuch:1b","kind":"base","state":"Failed","message":"pull nosuch:1b: file does not exist"}`)

	// Each incident is diagnosed once by the LLM, the neighbour's too.
	waitFor(t, "an LLM diagnosis of the neighbour's ImagePullFailed", func() (bool, string) {
		return len(sent.find(nb, incident.ImagePullFailed)) == 1, fmt.Sprint(sent.keys())
	})
	for _, reason := range []string{incident.ImagePullFailed, incident.QuotaExceeded, incident.ModelJobFailed} {
		waitFor(t, "an LLM diagnosis of "+reason, func() (bool, string) {
			n := len(sent.find(ws, reason))
			return n >= 1, fmt.Sprintf("%d prompts; all sent: %v; Warning events: %v", n, sent.keys(), warnings(t, wsNS))
		})
	}
	// The answers are in and reported (a record is kept once its
	// diagnosis is written on the claim).
	waitFor(t, "three LLM diagnoses reported", func() (bool, string) {
		var got []string
		for _, r := range history.Workspace(ws.ID) {
			got = append(got, r.Incident.Reason+"/"+r.Source+" "+r.Error)
		}
		n := 0
		for _, r := range history.Workspace(ws.ID) {
			if r.Source == "llm" {
				n++
			}
		}
		return n == 3, fmt.Sprint(got)
	})
	waitFor(t, "the neighbour's diagnosis reported", func() (bool, string) {
		r := history.Workspace(nb.ID)
		return len(r) == 1 && r[0].Source == "llm", fmt.Sprint(r)
	})
	for _, reason := range []string{incident.ImagePullFailed, incident.QuotaExceeded, incident.ModelJobFailed} {
		if n := len(sent.find(ws, reason)); n != 1 {
			t.Errorf("%s: %d prompts, want 1", reason, n)
		}
	}

	// The prompts hold this workspace's facts and nothing secret.
	secret := &corev1.Secret{}
	secrets := &corev1.SecretList{}
	if err := cp.Client.List(ctx, secrets, client.InNamespace(wsNS)); err != nil || len(secrets.Items) == 0 {
		t.Fatalf("want the workspace's Secret to exist (err %v)", err)
	}
	*secret = secrets.Items[0]
	pullPrompt := sent.find(ws, incident.ImagePullFailed)[0]
	t.Logf("the prompt of the ImagePullFailed incident (%d bytes):\n%s", len(pullPrompt), pullPrompt)
	// Each prompt holds its own incident's facts and the workspace's
	// state (the other incidents' facts may or may not be there yet: they
	// happen concurrently).
	wants := map[string][]string{
		incident.ImagePullFailed: {"ImagePullBackOff", image, "Rule-based hint: An image cannot be pulled"},
		incident.QuotaExceeded:   {"exceeded quota: workspace", "ReplicaSet hog-", "Rule-based hint: The workspace's ResourceQuota"},
		incident.ModelJobFailed:  {"Job/pull-nosuch", "nosuch:1b: file does not exist", "exit code 4"},
	}
	for reason, facts := range wants {
		p := sent.find(ws, reason)[0]
		for _, want := range append(facts, "Workspace: "+ws.ID, "namespace "+wsNS, "- workspace limits.cpu: used ") {
			if !strings.Contains(p, want) {
				t.Errorf("the %s prompt lacks %q:\n%s", reason, want, p)
			}
		}
	}
	for name, all := range sent.all() {
		if len(all) > 8<<10 {
			t.Errorf("prompt %q is %d bytes, over the 8 KiB bound", name, len(all))
		}
		for _, banned := range append([]string{envSecret}, secretValues(secret)...) {
			if strings.Contains(all, banned) {
				t.Errorf("prompt %q holds a secret value %q", name, banned)
			}
		}
	}
	// Each prompt holds one workspace's facts: the other's never appear.
	for name, all := range sent.all() {
		if strings.Contains(all, ws.ID) == strings.Contains(all, nb.ID) {
			t.Errorf("prompts %q: want exactly one workspace's facts (%s or %s):\n%s", name, ws.ID, nb.ID, all)
		}
	}
	if got := counter.Count("POST /api/chat"); got != 4 {
		t.Errorf("Ollama saw %d chat requests, want 4 (one per incident)", got)
	}

	// Prometheus metrics count the incidents by reason.
	for reason, want := range map[string]float64{incident.ImagePullFailed: 2, incident.QuotaExceeded: 1, incident.ModelJobFailed: 1} {
		if got := metricValue(t, "aichat_sre_incidents_total", "reason", reason); got != want {
			t.Errorf("aichat_sre_incidents_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got := metricValue(t, "aichat_sre_llm_requests_total", "result", "ok"); got != 4 {
		t.Errorf("aichat_sre_llm_requests_total{result=ok} = %v, want 4", got)
	}

	// The diagnosis is on the claim: an Incident condition and Events
	// (what kubectl describe shows).
	waitFor(t, "the Incident condition on the claim", func() (bool, string) {
		c := controlplane.Conditions(getClaim(t, "team-sre", "broken"))[controller.ConditionType]
		return c.Status == "True" && strings.Contains(c.Message, "Diagnosis by tiny: "), fmt.Sprintf("%+v", c)
	})
	waitFor(t, "Events on the claim for each incident", func() (bool, string) {
		got := claimEventReasons(t, getClaim(t, "team-sre", "broken"))
		ok := true
		for _, r := range []string{incident.ImagePullFailed, incident.QuotaExceeded, incident.ModelJobFailed} {
			ok = ok && slices.Contains(got, r)
		}
		return ok, fmt.Sprint(got)
	})

	t.Logf("the claim's Incident condition: %+v", controlplane.Conditions(getClaim(t, "team-sre", "broken"))[controller.ConditionType])

	// The condition survives Crossplane's claim sync: a change of the
	// claim makes Crossplane reconcile it and rewrite its status.
	patch := []byte(`{"metadata":{"labels":{"sre-test/touch":"1"}}}`)
	if err := cp.Client.Patch(ctx, getClaim(t, "team-sre", "broken"), client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Crossplane to sync the XR's label back", func() (bool, string) {
		xr := &unstructured.Unstructured{}
		xr.SetGroupVersionKind(schema.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: v1alpha1.CompositeKind})
		ref, _, _ := unstructured.NestedString(getClaim(t, "team-sre", "broken").Object, "spec", "resourceRef", "name")
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: ref}, xr); err != nil {
			return false, err.Error()
		}
		return xr.GetLabels()["sre-test/touch"] == "1", fmt.Sprint(xr.GetLabels())
	})
	time.Sleep(2 * time.Second) // the claim's own status write follows the XR apply
	conds := controlplane.Conditions(getClaim(t, "team-sre", "broken"))
	if conds[controller.ConditionType].Status != "True" || conds["Synced"].Status != "True" {
		t.Errorf("after Crossplane's sync want Incident and Synced True, got %+v", conds)
	}

	// The portal's workspace detail shows it (its watch-backed cache).
	portal, err := workspaces.NewKube(cp.Config, workspaces.Options{Namespace: "team-sre"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	portalCtx, stopPortal := context.WithCancel(ctx)
	defer stopPortal()
	portal.Start(portalCtx)
	if !portal.WaitForSync(portalCtx) {
		t.Fatal("the portal's cache did not sync")
	}
	waitFor(t, "the diagnosis in the portal's workspace detail", func() (bool, string) {
		w, err := portal.Get(ctx, workspaces.Owner{ID: 7}, "broken")
		if err != nil {
			return false, err.Error()
		}
		for _, c := range w.Status.Conditions {
			if c.Type == controller.ConditionType && c.Status == "True" && strings.Contains(c.Message, "Hint: ") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", w.Status.Conditions)
	})

	// A repeat: the kubelet reports the same failure again (a new back-off
	// message); the controller sees it (the record's LastSeen moves) and
	// does not ask the LLM again.
	before := time.Now()
	pullFailed(t, podOf(t, wsNS, "open-webui"), "Back-off pulling image \""+image+"\": still not found")
	waitFor(t, "the repeated incident to be seen", func() (bool, string) {
		for _, r := range history.Workspace(ws.ID) {
			if r.Incident.Reason == incident.ImagePullFailed {
				return r.LastSeen.After(before), r.LastSeen.String()
			}
		}
		return false, "no record"
	})
	if got := counter.Count("POST /api/chat"); got != 4 {
		t.Errorf("after a repeat Ollama saw %d chat requests, want still 4", got)
	}

	// Repaired: the neighbour's image is pulled after all (the kubelet
	// reports the container running); with nothing wrong left, its
	// Incident condition turns False.
	waitFor(t, "the neighbour's Incident condition", func() (bool, string) {
		c := controlplane.Conditions(getClaim(t, "team-sre-2", "neighbour"))[controller.ConditionType]
		return c.Status == "True", fmt.Sprintf("%+v", c)
	})
	running(t, podOf(t, nbNS, "open-webui"))
	waitFor(t, "the neighbour's Incident condition to turn False", func() (bool, string) {
		c := controlplane.Conditions(getClaim(t, "team-sre-2", "neighbour"))[controller.ConditionType]
		return c.Status == "False" && c.Reason == "NoIncident", fmt.Sprintf("%+v", c)
	})
	// It breaks the same way again within the history window: the claim
	// shows the remembered diagnosis again, and the LLM is not asked again.
	pullFailed(t, podOf(t, nbNS, "open-webui"), "Back-off pulling image \""+image+"\": not found again")
	waitFor(t, "the neighbour's Incident condition to turn True again", func() (bool, string) {
		c := controlplane.Conditions(getClaim(t, "team-sre-2", "neighbour"))[controller.ConditionType]
		return c.Status == "True" && c.Reason == incident.ImagePullFailed && strings.Contains(c.Message, "Diagnosis by tiny: "), fmt.Sprintf("%+v", c)
	})
	if got := counter.Count("POST /api/chat"); got != 4 {
		t.Errorf("after the repair and a relapse Ollama saw %d chat requests, want still 4", got)
	}
}

func (p *prompts) keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k := range p.sent {
		out = append(out, k)
	}
	return out
}

func (p *prompts) all() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for k, v := range p.sent {
		out[k] = strings.Join(v, "\n")
	}
	return out
}

func startController(t *testing.T, o controller.Options) {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:aichat-system:aichat-sre"}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme.Scheme,
		Cache:   controller.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controller.Setup(mgr, o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the controller manager: %v", err)
		}
	})
}

func mustCreate(t *testing.T, o client.Object) {
	t.Helper()
	if err := cp.Client.Create(t.Context(), o); err != nil {
		t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), o) })
}

func getClaim(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: v1alpha1.ClaimKind})
	if err := cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	err := controlplane.WaitFor(t.Context(), timeout, what, func(context.Context) (bool, string, error) {
		ok, seen := cond()
		return ok, seen, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func podOf(t *testing.T, ns, component string) *corev1.Pod {
	t.Helper()
	return waitPod(t, ns, "app.kubernetes.io/component="+component)
}

func waitPod(t *testing.T, ns, selector string) *corev1.Pod {
	t.Helper()
	k, v, _ := strings.Cut(selector, "=")
	var pod *corev1.Pod
	waitFor(t, "a pod "+selector, func() (bool, string) {
		l := &corev1.PodList{}
		if err := cp.Client.List(t.Context(), l, client.InNamespace(ns), client.MatchingLabels{k: v}); err != nil {
			return false, err.Error()
		}
		if len(l.Items) == 0 {
			return false, "none"
		}
		pod = &l.Items[0]
		return true, ""
	})
	return pod
}

// pullFailed writes the status a kubelet writes when it cannot pull the
// image of the pod's first container.
func pullFailed(t *testing.T, pod *corev1.Pod, message string) {
	t.Helper()
	p := pod.DeepCopy()
	cs := &p.Status.ContainerStatuses[0]
	cs.Ready, cs.Started = false, ptr.To(false)
	cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: message}}
	if err := cp.Client.Status().Update(t.Context(), p); err != nil {
		t.Fatalf("cannot write the pod's status as the kubelet would: %v", err)
	}
}

// failPod writes the status a kubelet writes when the pod's only container
// exited 4 (the model program's "model failed") with a termination message.
func failPod(t *testing.T, pod *corev1.Pod, message string) {
	t.Helper()
	p := pod.DeepCopy()
	now := metav1.Now()
	p.Status.Phase = corev1.PodFailed
	p.Status.StartTime = &now
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: pod.Spec.Containers[0].Name, Image: pod.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 4, Reason: "Error", Message: message, StartedAt: now, FinishedAt: now,
		}},
	}}
	if err := cp.Client.Status().Update(t.Context(), p); err != nil {
		t.Fatalf("cannot write the pod's status as the kubelet would: %v", err)
	}
}

// restricted is a container the workspace namespace's restricted Pod
// Security level admits, so the quota (not PSS) is what refuses it.
func restricted(env []corev1.EnvVar) corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name: "main", Image: "registry.example/tools:1.0", Env: env,
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}},
	}
}

func hog(t *testing.T, ns, id, envSecret string) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{incident.LabelWorkspace: id, "app.kubernetes.io/component": "hog"}
	q, lrs := &corev1.ResourceQuota{}, &corev1.LimitRangeList{}
	if err := cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "workspace"}, q); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.List(t.Context(), lrs, client.InNamespace(ns)); err != nil || len(lrs.Items) == 0 {
		t.Fatalf("want the workspace's LimitRange (err %v)", err)
	}
	biggest := corev1.ResourceList{}
	for _, l := range lrs.Items[0].Spec.Limits {
		if l.Type == corev1.LimitTypeContainer {
			biggest = l.Max
		}
	}
	quotaCPU, maxCPU := q.Spec.Hard[corev1.ResourceLimitsCPU], biggest[corev1.ResourceCPU]
	if maxCPU.IsZero() || quotaCPU.IsZero() {
		t.Fatalf("want limits.cpu in the quota and a container max in the LimitRange: %v %v", q.Spec.Hard, biggest)
	}
	replicas := int32(quotaCPU.MilliValue()/maxCPU.MilliValue()) + 2
	spec := restricted([]corev1.EnvVar{{Name: "API_TOKEN", Value: envSecret}})
	spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: biggest, Requests: biggest}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hog", Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       spec,
			},
		},
	}
}

func failingJob(ns, id string) *batchv1.Job {
	spec := restricted(nil)
	spec.RestartPolicy = corev1.RestartPolicyNever
	spec.NodeName = "no-kubelet-here"
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pull-nosuch", Namespace: ns, Labels: map[string]string{
			incident.LabelWorkspace: id, incident.LabelComponent: incident.ComponentModelJob}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{incident.LabelWorkspace: id}},
				Spec:       spec,
			},
		},
	}
}

func secretValues(s *corev1.Secret) []string {
	var out []string
	for _, v := range s.Data {
		if len(v) >= 8 {
			out = append(out, string(v))
		}
	}
	return out
}

// claimEventReasons lists the reasons of the Events about the claim.
func claimEventReasons(t *testing.T, claim *unstructured.Unstructured) []string {
	t.Helper()
	l := &corev1.EventList{}
	if err := cp.Client.List(t.Context(), l, client.InNamespace(claim.GetNamespace())); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		if e.InvolvedObject.UID == claim.GetUID() && e.ReportingController == controller.Name {
			out = append(out, e.Reason)
		}
	}
	return out
}

// warnings lists a namespace's Warning events, for failure messages.
func warnings(t *testing.T, ns string) []string {
	l := &corev1.EventList{}
	if err := cp.Client.List(t.Context(), l, client.InNamespace(ns)); err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range l.Items {
		if e.Type == corev1.EventTypeWarning {
			out = append(out, e.InvolvedObject.Name+" "+e.Reason+": "+e.Message)
		}
	}
	return out
}

// metricValue reads a counter from the registry the manager's /metrics
// endpoint serves.
func metricValue(t *testing.T, name, label, value string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// createClaim creates a tenant namespace and an xsmall claim in it, owned by
// portal user 7.
func createClaim(t *testing.T, ns, name string) {
	t.Helper()
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	claim := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(fmt.Sprintf(`apiVersion: aichatworkspaces.io/v1alpha1
kind: AIChatWorkspace
metadata:
  name: %s
  namespace: %s
  labels: {aichatworkspaces.io/owner-id: "7"}
spec:
  size: xsmall
  models: [llama3.2:1b]
  scaleToZero: {enabled: false}
`, name, ns)), &claim.Object); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, claim)
}

// waitWorkspace waits until the claim is Ready and returns its workspace
// as the controller finds it: from the labels of its namespace.
func waitWorkspace(t *testing.T, ns, name string) (incident.Workspace, string) {
	t.Helper()
	ctx := t.Context()
	ref := controlplane.Ref{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.ClaimKind, Namespace: ns, Name: name}
	if err := controlplane.WaitForConditions(ctx, cp.Client, ref, timeout, "Ready", "Synced"); err != nil {
		t.Fatalf("%v\n%s", err, controlplane.Describe(ctx, cp.Client, ref))
	}
	wsNS, _, _ := unstructured.NestedString(getClaim(t, ns, name).Object, "status", "namespace")
	nsObj := &corev1.Namespace{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: wsNS}, nsObj); err != nil {
		t.Fatal(err)
	}
	ws, ok := incident.WorkspaceOf(nsObj)
	if !ok || ws.ClaimName != name || ws.ClaimNamespace != ns {
		t.Fatalf("the workspace namespace's labels do not name the claim: %v", nsObj.Labels)
	}
	return ws, wsNS
}

// running writes the status a kubelet writes once the pod's first
// container runs.
func running(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	p := pod.DeepCopy()
	cs := &p.Status.ContainerStatuses[0]
	cs.Ready, cs.Started = true, ptr.To(true)
	cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	if err := cp.Client.Status().Update(t.Context(), p); err != nil {
		t.Fatalf("cannot write the pod's status as the kubelet would: %v", err)
	}
}

// installSRE creates the aichat-system namespace (kept for the other tests:
// a terminating namespace refuses new objects) and applies the RBAC we ship
// and the given files of sre/deploy.
func installSRE(t *testing.T, files ...string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aichat-system"}}
	if err := cp.Client.Create(t.Context(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	paths := []string{filepath.Join(repoRoot(), "sre", "deploy", "rbac.yaml")}
	for _, f := range files {
		paths = append(paths, filepath.Join(repoRoot(), "sre", "deploy", f))
	}
	if err := cp.Apply(t.Context(), paths...); err != nil {
		t.Fatal(err)
	}
}
