package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/test/controlplane"
)

func claimYAML(ns, name, spec string) string {
	return fmt.Sprintf("apiVersion: aichatworkspaces.io/v1alpha1\nkind: AIChatWorkspace\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s", name, ns, spec)
}

// TestUpdate changes a Ready workspace: a model and an assistant are added,
// an assistant is removed, the size grows. The new Jobs appear, the removed
// assistant's Job goes, the quota follows the size.
func TestUpdate(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	tenantNamespace(t, "team-u")
	applyClaim(t, claimFrom(t, claimYAML("team-u", "evolving", `  size: xsmall
  models: [llama3.2:1b]
  assistants:
    - name: writer
      from: llama3.2:1b
      patterns: [improve_writing]
`)))
	c := waitReady(t, "team-u", "evolving")
	ns := str(c, "status", "namespace")
	before := jobsByModel(t, ns)
	if len(before["writer"]) != 1 || len(before["llama3.2:1b"]) != 1 {
		t.Fatalf("want one Job each for llama3.2:1b and writer, got %v", before)
	}
	quotaCPU := func() string {
		q := &corev1.ResourceQuota{}
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "workspace"}, q); err != nil {
			t.Fatal(err)
		}
		v := q.Spec.Hard[corev1.ResourceLimitsCPU]
		return v.String()
	}
	cpuBefore := quotaCPU()

	patch := []byte(`{"spec": {"size": "medium", "models": ["llama3.2:1b", "phi3:mini"],
		"assistants": [{"name": "coder", "from": "phi3:mini", "patterns": ["explain_code", "create_coding_project"]}]}}`)
	if err := cp.Client.Patch(ctx, c, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatalf("cannot change the claim: %v", err)
	}
	waitFor(t, readyTimeout, "the new Jobs and the removed assistant's Job gone", func() (bool, string) {
		j := jobsByModel(t, ns)
		ok := len(j["phi3:mini"]) == 1 && len(j["coder"]) == 1 && len(j["writer"]) == 0 && len(j["llama3.2:1b"]) == 1
		return ok, fmt.Sprint(j)
	})
	waitFor(t, readyTimeout, "the quota to follow the size", func() (bool, string) {
		v := quotaCPU()
		return v != cpuBefore, "limits.cpu " + v
	})
	after := jobsByModel(t, ns)
	if diff := cmp.Diff(before["llama3.2:1b"], after["llama3.2:1b"]); diff != "" {
		t.Errorf("an unchanged model's Job must stay the same Job (-before +after):\n%s", diff)
	}
	c = waitReady(t, "team-u", "evolving")
	if diff := cmp.Diff(map[string]string{"llama3.2:1b": "Ready", "phi3:mini": "Ready", "coder": "Ready"}, modelStates(c)); diff != "" {
		t.Errorf("status.models (-want +got):\n%s", diff)
	}
}

// TestDelete deletes a Ready claim: its XR, the Namespace and everything in
// it go away.
func TestDelete(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	tenantNamespace(t, "team-d")
	claim := claimFrom(t, claimYAML("team-d", "shortlived", "  models: [llama3.2:1b]\n"))
	if err := cp.Client.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	c := waitReady(t, "team-d", "shortlived")
	ns := str(c, "status", "namespace")
	xrName := str(c, "spec", "resourceRef", "name")
	if xrName == "" {
		t.Fatalf("claim has no spec.resourceRef: %v", c.Object["spec"])
	}
	if err := cp.Client.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []controlplane.Ref{
		controlplane.RefTo(c),
		{APIVersion: "aichatworkspaces.io/v1alpha1", Kind: "XAIChatWorkspace", Name: xrName},
		{APIVersion: "v1", Kind: "Namespace", Name: ns},
	} {
		if err := controlplane.WaitGone(ctx, cp.Client, ref, goneTimeout); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []struct{ apiVersion, kind string }{
		{"batch/v1", "Job"}, {"apps/v1", "StatefulSet"}, {"apps/v1", "Deployment"}, {"v1", "PersistentVolumeClaim"},
		{"networking.k8s.io/v1", "NetworkPolicy"}, {"http.keda.sh/v1alpha1", "HTTPScaledObject"},
	} {
		if left := list(t, kind.apiVersion, kind.kind, ns); len(left) > 0 {
			t.Errorf("%s left in %s: %v", kind.kind, ns, names(left))
		}
	}
}

// TestRejectsBadClaims: the API server refuses bad claims with a message
// that names the field, from the XRD's OpenAPI schema and CEL rules.
func TestRejectsBadClaims(t *testing.T) {
	mustEnv(t)
	tenantNamespace(t, "team-bad")
	cases := map[string]struct {
		spec string
		want string // a part of the API server's message
	}{
		"BadName":           {"  models: [llama3.2:1b]\n  assistants:\n    - {name: Bad_Name, from: llama3.2:1b, patterns: [summarize]}\n", "spec.assistants[0].name"},
		"UnknownSize":       {"  size: huge\n", "spec.size"},
		"FromNotListed":     {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: mistral:7b, patterns: [summarize]}\n", "must name a model listed in spec.models"},
		"BadPatternName":    {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: llama3.2:1b, patterns: [Summarize-It]}\n", "spec.assistants[0].patterns[0]"},
		"TooManyPatterns":   {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: llama3.2:1b, patterns: [a, b, c, d, e, f, g, h, i]}\n", "spec.assistants[0].patterns"},
		"NoPatterns":        {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: llama3.2:1b, patterns: []}\n", "spec.assistants[0].patterns"},
		"NegativeIdle":      {"  scaleToZero: {idleAfter: -5m}\n", "spec.scaleToZero.idleAfter"},
		"IdleTooShort":      {"  scaleToZero: {idleAfter: 10s}\n", "idleAfter must be between 1m and 24h"},
		"BadModelName":      {"  models: [\"llama 3\"]\n", "spec.models[0]"},
		"DuplicateModel":    {"  models: [llama3.2:1b, llama3.2:1b]\n", "spec.models[1]"},
		"DuplicateAssist":   {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: llama3.2:1b, patterns: [a]}\n    - {name: w, from: llama3.2:1b, patterns: [b]}\n", "spec.assistants[1]"},
		"AssistantIsModel":  {"  models: [phi3]\n  assistants:\n    - {name: phi3, from: phi3, patterns: [a]}\n", "must differ from every model"},
		"UnknownParameter":  {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: llama3.2:1b, patterns: [a], parameters: {mirostat_eta: \"1\"}}\n", "parameters may only be"},
		"BadVariable":       {"  models: [llama3.2:1b]\n  assistants:\n    - {name: w, from: llama3.2:1b, patterns: [a], variables: {\"1x\": \"value\"}}\n", "variable names must match"},
		"StorageTooSmall":   {"  storage: {models: 100Mi}\n", "spec.storage.models must be between 1Gi and 10Ti"},
		"StorageMalformed":  {"  storage: {data: lots}\n", "spec.storage.data"},
		"TooManyModels":     {"  models: [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17]\n", "spec.models"},
		"OwnerTooLong":      {"  owner: " + strings.Repeat("x", 300) + "\n", "spec.owner"},
		"PipelinesNotABool": {"  pipelines: {enabled: maybe}\n", "spec.pipelines.enabled"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claim := claimFrom(t, claimYAML("team-bad", strings.ToLower(name), tc.spec))
			err := cp.Client.Create(context.Background(), claim)
			if err == nil {
				_ = cp.Client.Delete(context.Background(), claim)
				t.Fatalf("the API server accepted a bad claim; want an error containing %q", tc.want)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("want a validation error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the API server's message does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestImmutableFields: fields that cannot change once set are refused on
// update with a message naming them.
func TestImmutableFields(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	tenantNamespace(t, "team-imm")
	claim := claimFrom(t, claimYAML("team-imm", "fixed", "  owner: ada@example.com\n  models: [llama3.2:1b]\n  storage: {models: 20Gi, data: 4Gi, storageClassName: fast}\n"))
	applyClaim(t, claim)
	cases := map[string]struct {
		patch string
		want  string
	}{
		"Owner":        {`{"spec": {"owner": "mallory@example.com"}}`, "spec.owner is immutable"},
		"ModelStorage": {`{"spec": {"storage": {"models": "40Gi"}}}`, "spec.storage.models is immutable"},
		"StorageClass": {`{"spec": {"storage": {"storageClassName": "slow"}}}`, "spec.storage.storageClassName is immutable"},
		"DataShrinks":  {`{"spec": {"storage": {"data": "2Gi"}}}`, "may grow but never shrink"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := getClaim(t, "team-imm", "fixed")
			err := cp.Client.Patch(ctx, c, client.RawPatch("application/merge-patch+json", []byte(tc.patch)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("patch %s: want an error containing %q, got %v", tc.patch, tc.want, err)
			}
		})
	}
	// Growing the data volume is allowed.
	c := getClaim(t, "team-imm", "fixed")
	if err := cp.Client.Patch(ctx, c, client.RawPatch("application/merge-patch+json", []byte(`{"spec": {"storage": {"data": "8Gi"}}}`))); err != nil {
		t.Errorf("growing spec.storage.data: %v", err)
	}
}

// TestTwoTenants: two tenants name their workspace alike; names and
// namespaces never collide, and each workspace's NetworkPolicies select
// only its own pods and allow no peer from the other tenant.
func TestTwoTenants(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	spaces := map[string]string{}
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		tenantNamespace(t, tenant)
		applyClaim(t, claimFrom(t, claimYAML(tenant, "chat", "  models: [llama3.2:1b]\n")))
	}
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		spaces[tenant] = str(waitReady(t, tenant, "chat"), "status", "namespace")
	}
	if spaces["tenant-a"] == spaces["tenant-b"] {
		t.Fatalf("two tenants share the workspace namespace %s", spaces["tenant-a"])
	}
	for tenant, ns := range spaces {
		other := spaces["tenant-a"]
		if tenant == "tenant-a" {
			other = spaces["tenant-b"]
		}
		id := strings.TrimPrefix(ns, "aichat-")
		nps := &networkingv1.NetworkPolicyList{}
		if err := cp.Client.List(ctx, nps, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if len(nps.Items) < 5 {
			t.Fatalf("%s: want at least 5 NetworkPolicies, got %d", ns, len(nps.Items))
		}
		for _, np := range nps.Items {
			sel := np.Spec.PodSelector.MatchLabels
			if len(sel) > 0 && sel["app.kubernetes.io/instance"] != id {
				t.Errorf("%s/%s selects pods of another workspace: %v", ns, np.Name, sel)
			}
			var peers []networkingv1.NetworkPolicyPeer
			for _, r := range np.Spec.Ingress {
				peers = append(peers, r.From...)
			}
			for _, r := range np.Spec.Egress {
				peers = append(peers, r.To...)
			}
			for _, p := range peers {
				if p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels[corev1.LabelMetadataName] == other {
					t.Errorf("%s/%s lets the other tenant's namespace in", ns, np.Name)
				}
				if p.NamespaceSelector == nil && p.PodSelector != nil && p.PodSelector.MatchLabels["app.kubernetes.io/instance"] != id {
					t.Errorf("%s/%s allows pods of another workspace: %v", ns, np.Name, p.PodSelector.MatchLabels)
				}
			}
		}
	}
}

// TestFunctionRestart stops the function mid-life and starts it again: the
// claim recovers and nothing is lost or duplicated.
func TestFunctionRestart(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	tenantNamespace(t, "team-r")
	applyClaim(t, claimFrom(t, claimYAML("team-r", "resilient", "  models: [llama3.2:1b]\n")))
	c := waitReady(t, "team-r", "resilient")
	ns := str(c, "status", "namespace")

	cp.Function.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = cp.Function.Start()
		}
	})
	patch := []byte(`{"spec": {"models": ["llama3.2:1b", "phi3:mini"]}}`)
	if err := cp.Client.Patch(ctx, c, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if j := jobsByModel(t, ns); len(j["phi3:mini"]) != 0 {
		t.Fatalf("a Job was composed while the function was down: %v", j)
	}
	if err := cp.Function.Start(); err != nil {
		t.Fatalf("cannot restart the function: %v", err)
	}
	restarted = true
	waitFor(t, readyTimeout, "the change composed after the restart", func() (bool, string) {
		j := jobsByModel(t, ns)
		return len(j["phi3:mini"]) == 1, fmt.Sprint(j)
	})
	c = waitReady(t, "team-r", "resilient")
	j := jobsByModel(t, ns)
	for m, jobs := range j {
		if len(jobs) != 1 {
			t.Errorf("model %s: want one Job, got %v", m, jobs)
		}
	}
	var secrets corev1.SecretList
	if err := cp.Client.List(ctx, &secrets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if n := len(secrets.Items); n != 1 {
		t.Errorf("want exactly the one workspace Secret, got %d", n)
	}
}

// TestPlatformUpgrade rolls out a new Composition (a new Open WebUI tag): a
// claim on the Automatic policy moves to the new revision, a claim pinned
// with the Manual policy stays on its revision.
func TestPlatformUpgrade(t *testing.T) {
	mustEnv(t)
	ctx := context.Background()
	tenantNamespace(t, "team-p")
	applyClaim(t, claimFrom(t, claimYAML("team-p", "follows", "  models: [llama3.2:1b]\n")))
	applyClaim(t, claimFrom(t, claimYAML("team-p", "pinned", "  models: [llama3.2:1b]\n  compositionUpdatePolicy: Manual\n")))
	image := func(claim string) string {
		c := waitReady(t, "team-p", claim)
		d := &unstructured.Unstructured{}
		d.SetAPIVersion("apps/v1")
		d.SetKind("Deployment")
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: str(c, "status", "namespace"), Name: "open-webui"}, d); err != nil {
			t.Fatal(err)
		}
		cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		return fmt.Sprint(cs[0].(map[string]any)["image"])
	}
	old := image("follows")
	if got := image("pinned"); got != old {
		t.Fatalf("both claims start on the same revision: %s vs %s", old, got)
	}

	comp, err := os.ReadFile(filepath.Join(repoRoot(), "package", "configuration", "composition.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const newTag = "ghcr.io/open-webui/open-webui:v0.11.99"
	upgraded := strings.Replace(string(comp), "openWebUI: "+old, "openWebUI: "+newTag, 1)
	if upgraded == string(comp) {
		t.Fatalf("the Composition does not name %s", old)
	}
	if err := cp.ApplyYAML(ctx, upgraded); err != nil {
		t.Fatalf("cannot apply the new Composition: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.ApplyYAML(context.Background(), string(comp)); err != nil {
			t.Errorf("cannot restore the Composition: %v", err)
		}
	})
	waitFor(t, readyTimeout, "the Automatic claim on the new revision", func() (bool, string) {
		got := image("follows")
		return got == newTag, got
	})
	if got := image("pinned"); got != old {
		t.Errorf("the Manual claim moved to %s; it must stay on %s", got, old)
	}
	revs := list(t, "apiextensions.crossplane.io/v1", "CompositionRevision", "")
	if n := len(revs); n < 2 {
		t.Errorf("want a new CompositionRevision, got %v", names(revs))
	}
	if !slices.ContainsFunc(revs, func(r unstructured.Unstructured) bool { return strings.HasPrefix(r.GetName(), "aichatworkspaces-") }) {
		t.Errorf("no revision of our Composition among %v", names(revs))
	}
}
