package controlplane_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/test/controlplane"
)

// One control plane for the whole test binary: it takes seconds to start.
var (
	cp    *controlplane.ControlPlane
	smoke = &smokeFunction{}
)

func TestMain(m *testing.M) {
	controlplane.Main(m, controlplane.Options{
		Function:       smoke,
		FunctionName:   "function-smoke",
		CrossplaneRBAC: []string{"testdata/crossplane-rbac.yaml"},
		Manifests:      []string{"testdata/xrd.yaml", "testdata/composition.yaml"},
	}, &cp)
}

const (
	claimAPIVersion = "smoke.aichatworkspaces.io/v1alpha1"
	// Bounds, not expectations: a claim is Ready in about a second here,
	// but the machine is shared and may be slow.
	readyTimeout = 2 * time.Minute
	goneTimeout  = 2 * time.Minute
	// How long the function stays down once core has a change to compose:
	// long enough for core's call to be in flight and retrying.
	outage = 3 * time.Second
)

// TestCrossplaneRunsWithItsOwnRBAC checks that core is not an admin: it may
// do what Crossplane's chart and the fixture's aggregated ClusterRole grant,
// and nothing else. The smoke test then proves these rights suffice.
func TestCrossplaneRunsWithItsOwnRBAC(t *testing.T) {
	controlplane.SkipIfShort(t)
	cp.DumpOnFailure(t)
	cases := map[string]struct {
		reason string
		attrs  authorizationv1.ResourceAttributes
		want   bool
	}{
		"Jobs": {
			reason: "granted by the fixture's aggregated ClusterRole",
			attrs:  authorizationv1.ResourceAttributes{Verb: "create", Group: "batch", Resource: "jobs", Namespace: "any"},
			want:   true,
		},
		"Namespaces": {
			reason: "granted by the fixture's aggregated ClusterRole",
			attrs:  authorizationv1.ResourceAttributes{Verb: "delete", Resource: "namespaces"},
			want:   true,
		},
		"XRs": {
			reason: "granted by the roles the RBAC manager made for the XRD",
			attrs:  authorizationv1.ResourceAttributes{Verb: "update", Group: "smoke.aichatworkspaces.io", Resource: "xsmokes"},
			want:   true,
		},
		"CompositionRevisions": {
			reason: "granted by Crossplane's own ClusterRole",
			attrs:  authorizationv1.ResourceAttributes{Verb: "create", Group: "apiextensions.crossplane.io", Resource: "compositionrevisions"},
			want:   true,
		},
		"StatefulSets": {
			reason: "granted by no role: core is not an admin",
			attrs:  authorizationv1.ResourceAttributes{Verb: "create", Group: "apps", Resource: "statefulsets", Namespace: "any"},
			want:   false,
		},
		"ClusterRoleBindings": {
			reason: "only the RBAC manager binds roles",
			attrs:  authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"},
			want:   false,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               controlplane.CrossplaneUser,
				Groups:             []string{"system:authenticated"},
				ResourceAttributes: &tc.attrs,
			}}
			if err := cp.Client.Create(t.Context(), sar); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, sar.Status.Allowed); diff != "" {
				t.Errorf("%s\nallowed: -want +got:\n%s (reason %q)", tc.reason, diff, sar.Status.Reason)
			}
		})
	}
}

// TestClaimLifecycle drives one claim through everything the product needs
// from the harness: composition by the in-process function, workloads run by
// KWOK, readiness, a function outage, and deletion by garbage collection.
func TestClaimLifecycle(t *testing.T) {
	controlplane.SkipIfShort(t)
	cp.DumpOnFailure(t)
	ctx := t.Context()
	c := cp.Client

	createNamespace(t, "team-lifecycle")
	claim := controlplane.Ref{APIVersion: claimAPIVersion, Kind: "Smoke", Namespace: "team-lifecycle", Name: "demo"}
	applyClaim(t, claim, "hello")
	start := time.Now()
	if err := controlplane.WaitForConditions(ctx, c, claim, readyTimeout, "Ready", "Synced"); err != nil {
		describe(t, claim)
		t.Fatal(err)
	}
	t.Logf("claim Ready and Synced %s after apply", time.Since(start).Round(time.Millisecond))

	xr := xrOf(t, claim)
	ns := xr.Name // the function names the Namespace after the XR
	composed := []controlplane.Ref{
		{APIVersion: "v1", Kind: "Namespace", Name: ns},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "smoke"},
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "smoke"},
		{APIVersion: "batch/v1", Kind: "Job", Namespace: ns, Name: "smoke"},
	}

	t.Run("ComposedObjectsExist", func(t *testing.T) {
		for _, r := range composed {
			if _, err := get(ctx, r); err != nil {
				t.Errorf("%s: %v", r, err)
			}
		}
		if got := configMapMessage(t, ns); got != "hello" {
			t.Errorf("ConfigMap message: want hello, got %q", got)
		}
	})

	t.Run("WorkloadsRanOnTheFakeNode", func(t *testing.T) {
		if err := controlplane.WaitForConditions(ctx, c, composed[2], readyTimeout, "Available"); err != nil {
			t.Error(err)
		}
		if err := controlplane.WaitForConditions(ctx, c, composed[3], readyTimeout, "Complete"); err != nil {
			t.Error(err)
		}
		want := []podSummary{
			{App: "smoke", Node: controlplane.FakeNodeName, Phase: corev1.PodRunning, Ready: true},
			{App: "smoke", Node: controlplane.FakeNodeName, Phase: corev1.PodRunning, Ready: true},
			{App: "smoke-job", Node: controlplane.FakeNodeName, Phase: corev1.PodSucceeded},
		}
		if diff := cmp.Diff(want, podsIn(t, ns)); diff != "" {
			t.Errorf("pods: -want +got:\n%s", diff)
		}
	})

	t.Run("SurvivesAFunctionRestart", func(t *testing.T) {
		cp.Function.Stop()
		calls := smoke.calls.Load()
		// A change while the function is down reaches the XR but cannot be
		// composed: core's call waits for the function (gRPC wait-for-ready,
		// up to its 2-minute reconcile timeout)...
		applyClaim(t, claim, "after-restart")
		if err := controlplane.WaitFor(ctx, readyTimeout, "the XR to carry the new message", func(ctx context.Context) (bool, string, error) {
			u, err := get(ctx, xr)
			if err != nil {
				return false, "", err
			}
			got, _, _ := unstructured.NestedString(u.Object, "spec", "message")
			return got == "after-restart", got, nil
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(outage)
		if got := configMapMessage(t, ns); got != "hello" {
			t.Errorf("ConfigMap changed while the function was down: %q", got)
		}
		if got := smoke.calls.Load(); got != calls {
			t.Errorf("the stopped function was called %d times", got-calls)
		}
		// ...and is composed once the function is back on the same endpoint.
		if err := cp.Function.Start(); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		if err := controlplane.WaitFor(ctx, readyTimeout, "the ConfigMap to carry the new message", func(context.Context) (bool, string, error) {
			got := configMapMessage(t, ns)
			return got == "after-restart", got, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := controlplane.WaitForConditions(ctx, c, claim, readyTimeout, "Ready", "Synced"); err != nil {
			t.Fatal(err)
		}
		if err := controlplane.WaitForConditions(ctx, c, xr, readyTimeout, "Ready", "Synced"); err != nil {
			t.Fatal(err)
		}
		t.Logf("claim recovered %s after the function restarted", time.Since(restarted).Round(time.Millisecond))
	})

	t.Run("DeletionRemovesEverything", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(claim.APIVersion)
		u.SetKind(claim.Kind)
		u.SetNamespace(claim.Namespace)
		u.SetName(claim.Name)
		if err := c.Delete(ctx, u); err != nil {
			t.Fatal(err)
		}
		deleted := time.Now()
		for _, r := range append([]controlplane.Ref{claim, xr}, composed...) {
			if err := controlplane.WaitGone(ctx, c, r, goneTimeout); err != nil {
				t.Error(err)
			}
			t.Logf("%s gone %s after delete", r, time.Since(deleted).Round(time.Millisecond))
		}
		t.Logf("claim and every composed object gone %s after delete", time.Since(deleted).Round(time.Millisecond))
	})
}

// BenchmarkClaimReady measures the time from applying a claim to the claim
// being Ready (Namespace, ConfigMap, Deployment Available, Job Complete).
// Deleting the claim is not measured. Run with -benchtime=Nx: each round
// takes seconds.
func BenchmarkClaimReady(b *testing.B) {
	controlplane.SkipIfShort(b)
	cp.DumpOnFailure(b)
	createNamespace(b, "team-bench")
	for i := 0; b.Loop(); i++ {
		claim := controlplane.Ref{APIVersion: claimAPIVersion, Kind: "Smoke", Namespace: "team-bench", Name: fmt.Sprintf("bench-%d", i)}
		start := time.Now()
		applyClaim(b, claim, "bench")
		if err := controlplane.WaitForConditions(b.Context(), cp.Client, claim, readyTimeout, "Ready", "Synced"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.Logf("%s Ready after %s", claim.Name, time.Since(start).Round(time.Millisecond))
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(claim.APIVersion)
		u.SetKind(claim.Kind)
		u.SetNamespace(claim.Namespace)
		u.SetName(claim.Name)
		if err := cp.Client.Delete(b.Context(), u); err != nil {
			b.Fatal(err)
		}
		if err := controlplane.WaitGone(b.Context(), cp.Client, claim, goneTimeout); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkStart measures starting and stopping a whole control plane with
// the smoke fixture (binaries already built). Run with -benchtime=1x.
func BenchmarkStart(b *testing.B) {
	controlplane.SkipIfShort(b)
	for b.Loop() {
		c, err := controlplane.Start(b.Context(), controlplane.Options{
			Function:       &smokeFunction{},
			FunctionName:   "function-smoke",
			CrossplaneRBAC: []string{"testdata/crossplane-rbac.yaml"},
			Manifests:      []string{"testdata/xrd.yaml", "testdata/composition.yaml"},
			Log:            discard{},
		})
		if err != nil {
			b.Fatal(err)
		}
		c.Stop()
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func createNamespace(t testing.TB, name string) {
	t.Helper()
	err := cp.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func applyClaim(t testing.TB, claim controlplane.Ref, message string) {
	t.Helper()
	doc := fmt.Sprintf(`
apiVersion: %s
kind: %s
metadata:
  namespace: %s
  name: %s
spec:
  message: %s
`, claim.APIVersion, claim.Kind, claim.Namespace, claim.Name, message)
	if err := cp.ApplyYAML(t.Context(), doc); err != nil {
		t.Fatal(err)
	}
}

func get(ctx context.Context, r controlplane.Ref) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(r.APIVersion)
	u.SetKind(r.Kind)
	return u, cp.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.Name}, u)
}

// xrOf returns the composite resource a claim is bound to.
func xrOf(t *testing.T, claim controlplane.Ref) controlplane.Ref {
	t.Helper()
	u, err := get(t.Context(), claim)
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := unstructured.NestedString(u.Object, "spec", "resourceRef", "name")
	if name == "" {
		t.Fatalf("claim %s has no spec.resourceRef", claim)
	}
	return controlplane.Ref{APIVersion: claimAPIVersion, Kind: "XSmoke", Name: name}
}

func configMapMessage(t *testing.T, ns string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "smoke"}, cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data["message"]
}

// waitCondition waits until a condition of the object has the status.
func waitCondition(ctx context.Context, r controlplane.Ref, typ, status string) error {
	return controlplane.WaitFor(ctx, readyTimeout, fmt.Sprintf("%s %s=%s", r, typ, status), func(ctx context.Context) (bool, string, error) {
		u, err := get(ctx, r)
		if err != nil {
			return false, "", err
		}
		got := controlplane.Conditions(u)[typ]
		return got.Status == status, fmt.Sprintf("%s=%s (%s)", typ, got.Status, got.Message), nil
	})
}

type podSummary struct {
	App   string
	Node  string
	Phase corev1.PodPhase
	Ready bool
}

// podsIn summarises the pods of a namespace in a stable order.
func podsIn(t *testing.T, ns string) []podSummary {
	t.Helper()
	pods := &corev1.PodList{}
	if err := cp.Client.List(t.Context(), pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []podSummary
	for _, p := range pods.Items {
		s := podSummary{App: p.Labels["app.kubernetes.io/name"], Node: p.Spec.NodeName, Phase: p.Status.Phase}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				s.Ready = true
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// describe logs the claim, its XR and what the XR composed, for a test that
// waited in vain.
func describe(t *testing.T, claim controlplane.Ref) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	t.Log(controlplane.Describe(ctx, cp.Client, claim))
	u, err := get(ctx, claim)
	if err != nil {
		return
	}
	name, _, _ := unstructured.NestedString(u.Object, "spec", "resourceRef", "name")
	xr := controlplane.Ref{APIVersion: claimAPIVersion, Kind: "XSmoke", Name: name}
	t.Log(controlplane.Describe(ctx, cp.Client, xr))
	for _, r := range []controlplane.Ref{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: name, Name: "smoke"},
		{APIVersion: "batch/v1", Kind: "Job", Namespace: name, Name: "smoke"},
	} {
		t.Log(controlplane.Describe(ctx, cp.Client, r))
	}
	t.Logf("pods: %+v", podsIn(t, name))
}

// TestFailedStartLeavesNothingBehind starts a control plane whose last step
// fails (a manifest that does not exist) and checks that Start stopped every
// process it had started.
func TestFailedStartLeavesNothingBehind(t *testing.T) {
	controlplane.SkipIfShort(t)
	before := children(t)
	_, err := controlplane.Start(t.Context(), controlplane.Options{
		Manifests: []string{"testdata/does-not-exist.yaml"},
		Log:       discard{},
	})
	if err == nil {
		t.Fatal("Start succeeded with a missing manifest")
	}
	if diff := cmp.Diff(before, children(t)); diff != "" {
		t.Errorf("child processes after a failed Start: -before +after:\n%s", diff)
	}
}

// children lists the live child processes of the test binary by pid and
// command name.
func children(t *testing.T) []string {
	t.Helper()
	me := strconv.Itoa(os.Getpid())
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == me && f[0] != "Z" {
			out = append(out, e.Name()+" "+string(stat[bytes.IndexByte(stat, '(')+1:i]))
		}
	}
	sort.Strings(out)
	return out
}
