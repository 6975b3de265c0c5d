package e2e

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestExampleClaim applies examples/claim.yaml as a tenant would and checks
// the whole workspace: every composed object with its key fields, pods
// running on the (fake) node, every model Job complete, and the claim Ready
// and Synced with its URL and per-model states. Then it deletes the claim
// and checks everything is gone, the Namespace included.
func TestExampleClaim(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	tenantNamespace(t, "team-a")
	claim := claimFrom(t, readExample(t, "claim.yaml"))
	applyClaim(t, claim)

	got := waitReady(t, "team-a", "research")
	ns := str(got, "status", "namespace")
	if ns == "" || len(ns) > 63 {
		t.Fatalf("status.namespace: want a namespace name of at most 63 characters, got %q", ns)
	}
	if u := str(got, "status", "url"); u != "https://"+ns[len("aichat-"):]+".aichat.example.com" {
		t.Errorf("status.url: got %q", u)
	}
	if diff := cmp.Diff(map[string]string{
		"llama3.2:1b": "Ready", "qwen2.5-coder:1.5b": "Ready", "summarizer": "Ready", "reviewer": "Ready",
	}, modelStates(got)); diff != "" {
		t.Errorf("status.models states (-want +got):\n%s", diff)
	}
	if m := str(got, "status", "modelsReady"); m != "4/4" {
		t.Errorf("status.modelsReady: want 4/4, got %q", m)
	}

	// The Namespace enforces the restricted Pod Security Standard, and the
	// API server admitted our pods under it.
	nsObj := &corev1.Namespace{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	if nsObj.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels: want pod-security enforce=restricted, got %v", nsObj.Labels)
	}
	if nsObj.Annotations["aichatworkspaces.io/owner"] != "ada@example.com" {
		t.Errorf("namespace annotations: want the owner, got %v", nsObj.Annotations)
	}

	quota := &corev1.ResourceQuota{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "workspace"}, quota); err != nil {
		t.Fatalf("ResourceQuota: %v", err)
	}
	if q := quota.Spec.Hard[corev1.ResourceRequestsStorage]; q.String() != "22Gi" {
		t.Errorf("quota requests.storage: want 22Gi (20Gi models + 2Gi data), got %s", q.String())
	}

	wantKinds := map[string][]string{
		"NetworkPolicy":    {"allow-dns", "default-deny", "model-job", "ollama", "open-webui"},
		"HTTPScaledObject": {"ollama", "open-webui"},
		"ScaledObject":     {"ollama"},
		"Ingress":          {"open-webui"},
		"StatefulSet":      {"ollama"},
		"Deployment":       {"open-webui"},
		"Service":          {"keda-interceptor", "ollama", "open-webui"},
		"ServiceAccount":   {"default", "model-job", "ollama", "open-webui"},
		"LimitRange":       {"workspace"},
	}
	apiVersions := map[string]string{
		"NetworkPolicy": "networking.k8s.io/v1", "HTTPScaledObject": "http.keda.sh/v1alpha1", "ScaledObject": "keda.sh/v1alpha1",
		"Ingress": "networking.k8s.io/v1", "StatefulSet": "apps/v1", "Deployment": "apps/v1", "Service": "v1",
		"ServiceAccount": "v1", "LimitRange": "v1",
	}
	for kind, want := range wantKinds {
		if diff := cmp.Diff(want, names(list(t, apiVersions[kind], kind, ns))); diff != "" {
			t.Errorf("%s in %s (-want +got):\n%s", kind, ns, diff)
		}
	}

	jobs := jobsByModel(t, ns)
	for _, m := range []string{"llama3.2:1b", "qwen2.5-coder:1.5b", "summarizer", "reviewer"} {
		if len(jobs[m]) != 1 {
			t.Errorf("model %s: want exactly one Job, got %v", m, jobs[m])
		}
	}
	for _, j := range list(t, "batch/v1", "Job", ns) {
		if n, _, _ := unstructuredInt(j.Object, "status", "succeeded"); n < 1 {
			t.Errorf("Job %s did not succeed: %v", j.GetName(), j.Object["status"])
		}
	}

	// Pods run on the fake node: Ollama and Open WebUI are Running.
	pods := &corev1.PodList{}
	if err := cp.Client.List(ctx, pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			running[p.Labels["app.kubernetes.io/component"]] = true
		}
	}
	for _, c := range []string{"ollama", "open-webui"} {
		if !running[c] {
			t.Errorf("no running %s pod in %s", c, ns)
		}
	}
}

func unstructuredInt(obj map[string]any, path ...string) (int64, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false, nil
		}
		cur = m[p]
	}
	switch v := cur.(type) {
	case int64:
		return v, true, nil
	case float64:
		return int64(v), true, nil
	}
	return 0, false, nil
}
