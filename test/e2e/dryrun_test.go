package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossplane/function-sdk-go/logging"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/render"
)

// compositionResourceName marks the composed resources in render output
// (the XR and the function's results carry no such annotation).
const compositionResourceName = "crossplane.io/composition-resource-name"

// dryRunXR turns on every optional part of a workspace: two base models,
// two assistants (variables, parameters), scale to zero (every KEDA
// object), Pipelines (its Deployment, Service, volume, ScaledObject and
// NetworkPolicy), an owner (annotations and labels) and a storage class.
const dryRunXR = `apiVersion: aichatworkspaces.io/v1alpha1
kind: XAIChatWorkspace
metadata:
  name: %[1]s-d8r4n
  labels:
    crossplane.io/claim-name: %[1]s
    crossplane.io/claim-namespace: team-dry
spec:
  owner: ada@example.com
  size: large
  models: [llama3.2:1b, qwen2.5-coder:1.5b]
  assistants:
    - name: summarizer
      from: llama3.2:1b
      patterns: [extract_wisdom, summarize]
      variables: {audience: engineers}
      parameters: {temperature: "0.2", num_ctx: "8192"}
    - name: reviewer
      from: qwen2.5-coder:1.5b
      patterns: [review_code]
  scaleToZero: {enabled: true, idleAfter: 45m}
  storage: {models: 40Gi, data: 4Gi, storageClassName: fast}
  pipelines: {enabled: true}
`

// TestServerSideDryRun is scenario 2: every object the function composes
// (Ingress and Gateway API routing, Pipelines, assistants mounting an
// air-gapped pattern volume) and every manifest we ship passes the real API
// server's validation — OpenAPI schemas, CEL, defaulting, admission —
// through a server-side apply with dryRun=All. The offline schema check of
// test/render cannot see the built-in kinds' validation (a bad port name, an
// invalid label value, a Pod template the restricted Pod Security Standard
// refuses); the API server can.
func TestServerSideDryRun(t *testing.T) {
	mustEnv(t)
	installGatewayCRDs(t)
	dc := dryRunClient(t)

	t.Run("Composed", func(t *testing.T) {
		cases := map[string]struct {
			claim   string // the claim's name: each case its own namespace
			routing string // the Composition input's routing block
			volume  string // the Composition input's patterns.volume
		}{
			// A CSI inline volume: what a shared read-only patterns share
			// looks like, allowed by the restricted Pod Security Standard.
			"IngressCSIPatterns": {
				claim:   "ingress",
				routing: "          mode: Ingress\n          scheme: https\n          ingress:\n            className: nginx\n",
				volume:  "            csi:\n              driver: patterns.csi.example.com\n              readOnly: true\n              volumeAttributes: {share: fabric-patterns}\n",
			},
			// An image volume: the patterns shipped as an OCI artifact.
			"GatewayAPIImagePatterns": {
				claim:   "gateway",
				routing: "          mode: GatewayAPI\n          scheme: https\n          gateway:\n            name: public\n            namespace: gateway-system\n            sectionName: https\n",
				volume:  "            image:\n              reference: ghcr.io/aichatworkspaces/fabric-patterns:v1\n              pullPolicy: IfNotPresent\n",
			},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				objs := renderEverything(t, tc.claim, tc.routing, tc.volume)
				wantKinds := []string{"HTTPScaledObject", "Job", "ScaledObject", "Deployment", "StatefulSet", "NetworkPolicy", "ResourceQuota", "Secret"}
				if strings.Contains(tc.routing, "GatewayAPI") {
					wantKinds = append(wantKinds, "HTTPRoute", "ReferenceGrant")
				} else {
					wantKinds = append(wantKinds, "Ingress")
				}
				assertRenderedKinds(t, objs, wantKinds)
				assertPatternVolume(t, objs)

				// Namespaced objects need their namespace to exist, even
				// in a dry run: create the workspace's for real, and any
				// other (the ReferenceGrant goes into KEDA's).
				for _, o := range objs {
					if o.GetKind() == "Namespace" {
						createNamespaceFor(t, o)
					}
				}
				for _, o := range objs {
					if ns := o.GetNamespace(); ns != "" {
						ensureNamespace(t, ns)
					}
				}
				for _, o := range objs {
					if o.GetKind() == "Namespace" {
						continue
					}
					dryRunApply(t, dc, o)
				}
			})
		}
	})

	t.Run("Shipped", func(t *testing.T) {
		root := repoRoot()
		files := []string{
			filepath.Join(root, "compositions", "aichatworkspace.yaml"),
			filepath.Join(root, "examples", "claim.yaml"),
			filepath.Join(root, "examples", "functions.yaml"),
			filepath.Join(root, "examples", "xr.yaml"),
		}
		for _, glob := range []string{"package/rbac/*.yaml", "package/configuration/*.yaml", "package/function/input/*.yaml", "portal/deploy/*.yaml"} {
			m, err := filepath.Glob(filepath.Join(root, glob))
			if err != nil || len(m) == 0 {
				t.Fatalf("no manifests match %s: %v", glob, err)
			}
			files = append(files, m...)
		}
		applied := 0
		for _, f := range files {
			objs, err := controlplane.ReadManifests(f)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, o := range objs {
				// Package metadata (crossplane.yaml) is read by the
				// package manager from the xpkg; it is no API kind.
				if strings.HasPrefix(o.GetAPIVersion(), "meta.pkg.crossplane.io/") {
					continue
				}
				if ns := o.GetNamespace(); ns != "" {
					ensureNamespace(t, ns)
				}
				rel, _ := filepath.Rel(root, f)
				t.Run(rel+"/"+o.GetKind()+"/"+o.GetName(), func(t *testing.T) { dryRunApply(t, dc, o) })
				applied++
			}
		}
		if applied < 10 {
			t.Errorf("dry-ran only %d shipped objects; the manifest globs missed files", applied)
		}
	})
}

// renderEverything renders dryRunXR through the real Crossplane engine
// three times, each time observing what the previous render desired (as
// Crossplane would after creating it): first the Namespace alone, then
// the Namespace Active (the whole workspace and the pull Jobs), then the
// pull Jobs succeeded (the assistants' Jobs, which start only once their
// base model is pulled). It returns the composed objects of the last
// render.
func renderEverything(t *testing.T, claim, routing, volume string) []*unstructured.Unstructured {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	xr := filepath.Join(dir, "xr.yaml")
	write(t, xr, fmt.Sprintf(dryRunXR, claim))
	comp := string(readFile(t, filepath.Join(repoRoot(), "compositions", "aichatworkspace.yaml")))
	comp = replaceBlock(t, comp, "        routing:\n", "        api:\n", "        routing:\n"+routing)
	comp = replaceBlock(t, comp, "        patterns:\n", "        modelJobs:\n", "        patterns:\n          source: /patterns\n          volume:\n"+volume)
	compPath := filepath.Join(dir, "composition.yaml")
	write(t, compPath, comp)

	var observed []*unstructured.Unstructured
	var objs []*unstructured.Unstructured
	for pass := 1; pass <= 3; pass++ {
		o := render.Options{
			XR:          xr,
			Composition: compPath,
			Functions:   filepath.Join(repoRoot(), "examples", "functions.yaml"),
			Log:         tLog{t},
		}
		if len(observed) > 0 {
			o.Observed = filepath.Join(dir, fmt.Sprintf("observed-%d.yaml", pass))
			write(t, o.Observed, manifestsYAML(t, observed))
		}
		out, err := render.Run(ctx, function.NewWithRandom(logging.NewNopLogger(), zeros{}), o)
		if err != nil {
			t.Fatalf("render pass %d: %v", pass, err)
		}
		all, err := controlplane.DecodeManifests(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("render pass %d output: %v", pass, err)
		}
		objs = objs[:0]
		for _, u := range all {
			if _, ok := u.GetAnnotations()[compositionResourceName]; ok {
				objs = append(objs, u)
			}
		}
		observed = observed[:0]
		for _, u := range objs {
			switch u.GetKind() {
			case "Namespace":
				ns := u.DeepCopy()
				_ = unstructured.SetNestedField(ns.Object, "Active", "status", "phase")
				observed = append(observed, ns)
			case "Job":
				j := u.DeepCopy()
				_ = unstructured.SetNestedField(j.Object, int64(1), "status", "succeeded")
				_ = unstructured.SetNestedSlice(j.Object, []any{map[string]any{"type": "Complete", "status": "True"}}, "status", "conditions")
				observed = append(observed, j)
			}
		}
	}
	return objs
}

// assertRenderedKinds fails when the render lacks a kind the dry run is
// meant to cover: a render that silently composed less would pass.
func assertRenderedKinds(t *testing.T, objs []*unstructured.Unstructured, want []string) {
	t.Helper()
	have := map[string]int{}
	for _, o := range objs {
		have[o.GetKind()]++
	}
	var missing []string
	for _, k := range want {
		if have[k] == 0 {
			missing = append(missing, k)
		}
	}
	if diff := cmp.Diff([]string(nil), missing); diff != "" {
		t.Fatalf("render composed no objects of these kinds (have %v):\n%s", have, diff)
	}
	// Two pulls and two assistants: the last pass must hold all four Jobs.
	if have["Job"] != 4 {
		t.Fatalf("want 4 model Jobs (2 pulls, 2 assistants), got %d", have["Job"])
	}
}

// assertPatternVolume checks that the assistants' Jobs mount the pattern
// volume, so the dry run covers that part of the Pod template.
func assertPatternVolume(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var got []string
	for _, o := range objs {
		if o.GetKind() != "Job" || !strings.HasPrefix(o.GetName(), "create-") {
			continue
		}
		vols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
		for _, v := range vols {
			m, _ := v.(map[string]any)
			if _, csi := m["csi"]; csi {
				got = append(got, o.GetName())
			} else if _, img := m["image"]; img {
				got = append(got, o.GetName())
			}
		}
	}
	if len(got) != 2 {
		t.Fatalf("want both assistant Jobs to mount the pattern volume, got %v", got)
	}
}

// replaceBlock replaces the text from the line start to (not including)
// the line end with repl.
func replaceBlock(t *testing.T, s, start, end, repl string) string {
	t.Helper()
	i := strings.Index(s, start)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("the Composition has no %q block before %q", strings.TrimSpace(start), strings.TrimSpace(end))
	}
	return s[:i] + repl + s[j:]
}

func manifestsYAML(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

// dryRunApply server-side applies o with dryRun=All and fails the test with
// the object's kind and name and the API server's message. Warnings fail it
// too: the API server warns, instead of refusing, when a workload's Pod
// template would violate the namespace's Pod Security Standard — the Pods
// would then be refused later, on a real cluster, with nobody watching.
func dryRunApply(t *testing.T, dc *warningClient, o *unstructured.Unstructured) {
	t.Helper()
	o = o.DeepCopy()
	// Apply must not carry fields only the server sets.
	unstructured.RemoveNestedField(o.Object, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(o.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(o.Object, "status")
	id := fmt.Sprintf("%s %s", o.GetKind(), objectName(o))
	warnings, err := dc.apply(context.Background(), o)
	if err != nil {
		t.Errorf("%s: the API server refused it: %v", id, err)
		return
	}
	warnings = slices.DeleteFunc(warnings, func(w string) bool { _, ok := acceptedWarnings[w]; return ok })
	if len(warnings) > 0 {
		t.Errorf("%s: the API server warned:\n  %s", id, strings.Join(warnings, "\n  "))
	}
}

// acceptedWarnings are warnings we know and accept, with the reason.
var acceptedWarnings = map[string]string{
	"CompositeResourceDefinition v1 is deprecated and will be removed in a future release; consider migrating to v2": "claims (claimNames) need a v1 XRD of scope LegacyCluster; v2 XRDs have no claims",
}

func objectName(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return ns + "/" + o.GetName()
	}
	return o.GetName()
}

// A warningClient applies objects with dryRun=All and returns the warnings
// of each request.
type warningClient struct {
	c client.Client

	mu       sync.Mutex
	warnings []string
}

func (w *warningClient) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

func (w *warningClient) apply(ctx context.Context, o *unstructured.Unstructured) ([]string, error) {
	w.mu.Lock()
	w.warnings = nil
	w.mu.Unlock()
	err := w.c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("aichat-dry-run"), client.ForceOwnership, client.DryRunAll)
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]string(nil), w.warnings...)
	sort.Strings(out)
	return out, err
}

func dryRunClient(t *testing.T) *warningClient {
	t.Helper()
	w := &warningClient{}
	cfg := rest.CopyConfig(cp.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: cp.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w.c = c
	return w
}

// installGatewayCRDs installs the Gateway API CRDs (HTTPRoute,
// ReferenceGrant) from the module cache: only the Gateway API routing
// composes kinds the harness does not install. Extra CRDs disturb no other
// test.
func installGatewayCRDs(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	paths, err := render.GatewayCRDs.Resolve(ctx)
	if err != nil {
		t.Fatalf("cannot read %s@%s from the module cache: %v", render.GatewayCRDs.Module, render.GatewayCRDs.Version, err)
	}
	objs, err := controlplane.ReadManifests(paths...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if err := controlplane.ApplyObjects(ctx, cp.Client, objs...); err != nil {
		t.Fatalf("cannot install the Gateway API CRDs: %v", err)
	}
	if err := controlplane.WaitCRDsEstablished(ctx, cp.Client, time.Minute, names...); err != nil {
		t.Fatal(err)
	}
}

// createNamespaceFor creates the rendered workspace Namespace for real (its
// labels carry the Pod Security level the dry run of the workloads is
// checked against) and deletes it after the test.
func createNamespaceFor(t *testing.T, rendered *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	ns := rendered.DeepCopy()
	unstructured.RemoveNestedField(ns.Object, "metadata", "ownerReferences")
	unstructured.RemoveNestedField(ns.Object, "status")
	if err := cp.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("cannot create namespace %s: %v", ns.GetName(), err)
	}
	t.Cleanup(func() {
		if err := cp.Client.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cannot delete namespace %s: %v", ns.GetName(), err)
		}
	})
}

// ensureNamespace creates a namespace a shipped manifest or a composed
// object names (aichat-system, keda, ...) when it is missing. It stays:
// other tests may use it, and an empty namespace costs nothing.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := cp.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("cannot create namespace %s: %v", name, err)
	}
}

// zeros stands in for crypto/rand: the rendered Secret's key needs no
// randomness to be validated.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type tLog struct{ t *testing.T }

func (l tLog) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
