// Package e2e drives AIChat workspaces through their whole life on a real
// control plane (test/controlplane): kube-apiserver, kube-controller-manager,
// kube-scheduler, KWOK, Crossplane core under the RBAC we ship, and our
// function over mTLS. It installs exactly what we ship: the XRD and
// Composition from package/configuration and the ClusterRole from
// package/rbac.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/function-sdk-go/logging"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
)

// functionName is the functionRef of our Composition: the name Crossplane
// gives the function package when it installs it as a dependency.
const functionName = "aichatworkspaces-function-aichat-workspace"

// Bounds of the waits. A claim is Ready in seconds here; the bounds leave
// room for a loaded machine.
const (
	readyTimeout = 3 * time.Minute
	goneTimeout  = 2 * time.Minute
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	root := repoRoot()
	controlplane.Main(m, controlplane.Options{
		Function:     function.New(logging.NewNopLogger()),
		FunctionName: functionName,
		// The quota is real here, to prove it never blocks the
		// workspace's own rollout (every model Job at once included).
		EnforceQuotas:  true,
		CrossplaneRBAC: []string{filepath.Join(root, "package", "rbac", "crossplane-aggregate.yaml")},
		Manifests: []string{
			filepath.Join(root, "package", "configuration", "xrd.yaml"),
			filepath.Join(root, "package", "configuration", "composition.yaml"),
		},
	}, &cp)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	claimGVK = schema.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: v1alpha1.ClaimKind}
	xrGVK    = schema.GroupVersionKind{Group: v1alpha1.Group, Version: v1alpha1.Version, Kind: v1alpha1.CompositeKind}
)

// tenantNamespace creates a namespace for claims, removed after the test.
func tenantNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cp.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("cannot create namespace %s: %v", name, err)
	}
}

// claimFrom parses a claim manifest.
func claimFrom(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("bad claim manifest: %v", err)
	}
	return u
}

// applyClaim creates the claim and deletes it (waiting until its workspace
// namespace is gone) when the test ends.
func applyClaim(t *testing.T, claim *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	if err := cp.Client.Create(ctx, claim); err != nil {
		t.Fatalf("cannot create claim %s/%s: %v", claim.GetNamespace(), claim.GetName(), err)
	}
	t.Cleanup(func() { deleteClaim(t, claim) })
}

func deleteClaim(t *testing.T, claim *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	c := getClaim(t, claim.GetNamespace(), claim.GetName())
	if c == nil {
		return
	}
	ns, _, _ := unstructured.NestedString(c.Object, "status", "namespace")
	if err := cp.Client.Delete(ctx, c); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("cannot delete claim: %v", err)
		return
	}
	if err := controlplane.WaitGone(ctx, cp.Client, controlplane.RefTo(c), goneTimeout); err != nil {
		t.Errorf("claim not gone: %v", err)
	}
	if ns != "" {
		if err := controlplane.WaitGone(ctx, cp.Client, controlplane.Ref{APIVersion: "v1", Kind: "Namespace", Name: ns}, goneTimeout); err != nil {
			t.Errorf("workspace namespace not gone: %v", err)
		}
	}
}

func getClaim(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(claimGVK)
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		t.Fatalf("cannot get claim %s/%s: %v", ns, name, err)
	}
	return u
}

// waitReady waits until the claim is Ready and Synced and returns it.
func waitReady(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	ref := controlplane.Ref{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.ClaimKind, Namespace: ns, Name: name}
	if err := controlplane.WaitForConditions(context.Background(), cp.Client, ref, readyTimeout, "Ready", "Synced"); err != nil {
		t.Fatalf("%v\n%s", err, controlplane.Describe(context.Background(), cp.Client, ref))
	}
	return getClaim(t, ns, name)
}

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	err := controlplane.WaitFor(context.Background(), timeout, what, func(context.Context) (bool, string, error) {
		ok, seen := cond()
		return ok, seen, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// list returns the objects of a kind in a namespace.
func list(t *testing.T, apiVersion, kind, ns string) []unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion(apiVersion)
	l.SetKind(kind + "List")
	if err := cp.Client.List(context.Background(), l, client.InNamespace(ns)); err != nil {
		t.Fatalf("cannot list %s in %s: %v", kind, ns, err)
	}
	return l.Items
}

func names(items []unstructured.Unstructured) []string {
	out := make([]string, 0, len(items))
	for _, i := range items {
		out = append(out, i.GetName())
	}
	return out
}

func str(u *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	return s
}

func modelStates(u *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	models, _, _ := unstructured.NestedSlice(u.Object, "status", "models")
	for _, m := range models {
		mm, _ := m.(map[string]any)
		out[fmt.Sprint(mm["name"])] = fmt.Sprint(mm["state"])
	}
	return out
}

// jobsByModel maps each model Job's model annotation to the Job names.
func jobsByModel(t *testing.T, ns string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, j := range list(t, "batch/v1", "Job", ns) {
		m := j.GetAnnotations()["aichatworkspaces.io/model"]
		out[m] = append(out[m], j.GetName())
	}
	return out
}

func mustEnv(t *testing.T) {
	t.Helper()
	controlplane.SkipIfShort(t)
	cp.DumpOnFailure(t)
}

// readExample reads a file of examples/.
func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
