// Package chart tests the portal's Helm chart: `helm lint --strict`, what it
// renders for each values file, that its RBAC is exactly the portal's
// (portal/deploy), and that a real kube-apiserver (test/controlplane)
// accepts every object it renders, by a server-side dry-run.
//
// Helm is the real CLI, built once from the module proxy into the tool cache
// (test/tools/helm): the Helm SDK would bring its large dependency tree into
// the main module for a test.
package chart

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/package/build"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

const (
	release   = "aichat-portal"
	namespace = "aichat-system"
)

// valuesFiles are the values sets every test covers; "" is the chart's
// defaults.
var valuesFiles = map[string]string{
	"Defaults":    "",
	"AllEnabled":  "testdata/all-enabled.yaml",
	"PerUserMode": "testdata/per-user.yaml",
}

func chartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// helm runs the cached Helm CLI in the chart's directory.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	bin, err := toolchain.Helm.Path(t.Context(), os.Stderr)
	if err != nil {
		t.Fatalf("cannot build helm: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = chartDir()
	// A user's Helm configuration and repositories must not change the
	// result.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

func render(t *testing.T, values string, set ...string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	args := []string{"template", release, ".", "--namespace", namespace}
	if values != "" {
		args = append(args, "--values", values)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		return nil, err
	}
	return controlplane.DecodeManifests(bytes.NewReader(out))
}

func mustRender(t *testing.T, values string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := render(t, values, set...)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestLint(t *testing.T) {
	for name, values := range valuesFiles {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", "."}
			if values != "" {
				args = append(args, "--values", values)
			}
			if out, err := helm(t, args...); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
}

func TestRenderedObjects(t *testing.T) {
	cases := map[string]struct {
		reason string
		values string
		want   []string
	}{
		"Defaults": {
			reason: "the defaults: the portal, its Service and its claims-only RBAC in the shared claim namespace",
			want: []string{
				"ClusterRole/aichat-portal-claims",
				"Deployment/aichat-system/aichat-portal",
				"RoleBinding/aichat-workspaces/aichat-portal-claims",
				"Service/aichat-system/aichat-portal",
				"ServiceAccount/aichat-system/aichat-portal",
			},
		},
		"AllEnabled": {
			reason: "every optional object, the SRE assistant's too",
			values: valuesFiles["AllEnabled"],
			want: []string{
				"ClusterRole/aichat-portal-claims",
				"ClusterRole/aichat-portal-sre",
				"ClusterRoleBinding/aichat-portal-sre",
				"Deployment/aichat-system/aichat-portal",
				"Deployment/aichat-system/aichat-portal-sre",
				"Ingress/aichat-system/aichat-portal",
				"NetworkPolicy/aichat-system/aichat-portal",
				"PodDisruptionBudget/aichat-system/aichat-portal",
				"RoleBinding/aichat-workspaces/aichat-portal-claims",
				"Service/aichat-system/aichat-portal",
				"ServiceAccount/aichat-system/aichat-portal",
				"ServiceAccount/aichat-system/aichat-portal-sre",
				"ServiceMonitor/aichat-system/aichat-portal",
			},
		},
		"PerUserMode": {
			reason: "per-user namespaces: claims everywhere, and creating namespaces",
			values: valuesFiles["PerUserMode"],
			want: []string{
				"ClusterRole/aichat-portal-claims",
				"ClusterRole/aichat-portal-namespaces",
				"ClusterRoleBinding/aichat-portal-claims",
				"ClusterRoleBinding/aichat-portal-namespaces",
				"Deployment/aichat-system/aichat-portal",
				"Service/aichat-system/aichat-portal",
				"ServiceAccount/aichat-system/aichat-portal",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, o := range mustRender(t, tc.values) {
				got = append(got, key(o))
				if o.GetKind() == "Secret" {
					t.Errorf("the chart rendered Secret %s: secrets are only referenced", o.GetName())
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func key(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

// TestPodHardening checks what the brief of the chart promises for the pod
// with every values set: non-root, read-only root, no privilege escalation,
// probes on /healthz and /readyz, resources, secrets only by reference.
func TestPodHardening(t *testing.T) {
	type pod struct {
		RunAsNonRoot     bool
		ReadOnlyRoot     bool
		NoEscalation     bool
		DroppedCaps      []string
		Liveness         string
		Readiness        string
		HasRequests      bool
		HasMemoryLimit   bool
		PlainSecretEnv   []string // PORTAL_* secrets given as plain values: must be none
		DSNFrom          string
		JWTFile          string
		GatewayNameLabel string
	}
	want := map[string]pod{
		"Defaults":    {DSNFrom: "secret aichat-portal-db/dsn"},
		"AllEnabled":  {DSNFrom: "file /vault/secrets/dsn"},
		"PerUserMode": {DSNFrom: "secret aichat-portal-db/dsn"},
	}
	for name, values := range valuesFiles {
		t.Run(name, func(t *testing.T) {
			d := find(t, mustRender(t, values), "Deployment", release)
			spec, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
			c, _, _ := unstructured.NestedSlice(spec, "containers")
			ctr := c[0].(map[string]any)
			got := pod{
				RunAsNonRoot:     nb(spec, "securityContext", "runAsNonRoot"),
				ReadOnlyRoot:     nb(ctr, "securityContext", "readOnlyRootFilesystem"),
				NoEscalation:     !nb(ctr, "securityContext", "allowPrivilegeEscalation"),
				Liveness:         ns(ctr, "livenessProbe", "httpGet", "path"),
				Readiness:        ns(ctr, "readinessProbe", "httpGet", "path"),
				HasRequests:      ns(ctr, "resources", "requests", "cpu") != "" && ns(ctr, "resources", "requests", "memory") != "",
				HasMemoryLimit:   ns(ctr, "resources", "limits", "memory") != "",
				GatewayNameLabel: ns(d.Object, "spec", "template", "metadata", "labels", "app.kubernetes.io/name"),
			}
			got.DroppedCaps, _, _ = unstructured.NestedStringSlice(ctr, "securityContext", "capabilities", "drop")
			env, _, _ := unstructured.NestedSlice(ctr, "env")
			for _, e := range env {
				e := e.(map[string]any)
				n, v := e["name"].(string), e["value"]
				switch {
				case n == "PORTAL_DSN" || n == "PORTAL_JWT_SECRET":
					if v != nil {
						got.PlainSecretEnv = append(got.PlainSecretEnv, n)
					} else {
						got.DSNFrom = fmt.Sprintf("secret %s/%s", ns(e, "valueFrom", "secretKeyRef", "name"), ns(e, "valueFrom", "secretKeyRef", "key"))
					}
				case n == "PORTAL_DSN_FILE":
					got.DSNFrom = fmt.Sprintf("file %s", v)
				case n == "PORTAL_JWT_SECRET_FILE":
					got.JWTFile = v.(string)
				}
			}
			w := want[name]
			w.RunAsNonRoot, w.ReadOnlyRoot, w.NoEscalation, w.DroppedCaps = true, true, true, []string{"ALL"}
			w.Liveness, w.Readiness, w.HasRequests, w.HasMemoryLimit = "/healthz", "/readyz", true, true
			w.JWTFile = "/etc/aichat-portal/jwt/jwt-secret"
			// The composition function's NetworkPolicy admits the gateway to
			// Ollama by this label (input.network.llmGateway).
			w.GatewayNameLabel = "aichat-portal"
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("the portal's pod (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImageMatchesPackage checks the chart's container against the image
// `make package` builds (package/build's PortalImage), so the two have one
// source of truth: the default image is the one the packager tags, the
// args are the image's default command, the pod runs as the image's user,
// and the container port is the one the image exposes and PORTAL_ADDR
// listens on.
func TestImageMatchesPackage(t *testing.T) {
	type container struct {
		Image      string
		Args       []string
		User       string
		Port       string
		Addr       string
		TmpMounted bool // the image's SQLite path and Go's os.TempDir are writable
	}
	d := find(t, mustRender(t, ""), "Deployment", release)
	spec, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	c, _, _ := unstructured.NestedSlice(spec, "containers")
	ctr := c[0].(map[string]any)
	user, _, _ := unstructured.NestedInt64(spec, "securityContext", "runAsUser")
	group, _, _ := unstructured.NestedInt64(spec, "securityContext", "runAsGroup")
	ports, _, _ := unstructured.NestedSlice(ctr, "ports")
	got := container{Image: ns(ctr, "image"), User: fmt.Sprintf("%d:%d", user, group)}
	got.Args, _, _ = unstructured.NestedStringSlice(ctr, "args")
	for _, p := range ports {
		p := p.(map[string]any)
		n, _, _ := unstructured.NestedInt64(p, "containerPort")
		got.Port += fmt.Sprintf("%d/%s", n, strings.ToLower(ns(p, "protocol")))
	}
	env, _, _ := unstructured.NestedSlice(ctr, "env")
	for _, e := range env {
		if e := e.(map[string]any); e["name"] == "PORTAL_ADDR" {
			got.Addr, _ = e["value"].(string)
		}
	}
	mounts, _, _ := unstructured.NestedSlice(ctr, "volumeMounts")
	for _, m := range mounts {
		got.TmpMounted = got.TmpMounted || ns(m.(map[string]any), "mountPath") == path.Dir(build.PortalSQLitePath)
	}
	want := container{
		Image:      build.PortalImageRepository + ":" + build.DefaultVersion,
		Args:       build.PortalImage.Cmd,
		User:       build.User,
		Port:       build.PortalPort,
		Addr:       build.PortalAddr,
		TmpMounted: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the chart's portal container against package/build's PortalImage (-want +got):\n%s", diff)
	}
}

func nb(m map[string]any, path ...string) bool {
	b, _, _ := unstructured.NestedBool(m, path...)
	return b
}

func ns(m map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(m, path...)
	return s
}

// TestRBACMatchesDeploy keeps one source for the portal's rights: the
// chart's ClusterRoles have exactly the rules of portal/deploy.
func TestRBACMatchesDeploy(t *testing.T) {
	deploy := map[string]string{
		"aichat-portal-claims":     "rbac.yaml",
		"aichat-portal-namespaces": "rbac-per-user.yaml",
	}
	rendered := mustRender(t, valuesFiles["PerUserMode"])
	for role, file := range deploy {
		t.Run(role, func(t *testing.T) {
			objs, err := controlplane.ReadManifests(filepath.Join(chartDir(), "..", "deploy", file))
			if err != nil {
				t.Fatal(err)
			}
			want := find(t, objs, "ClusterRole", role).Object["rules"]
			got := find(t, rendered, "ClusterRole", role).Object["rules"]
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rules of ClusterRole %s: portal/deploy/%s (-) and the chart (+) differ:\n%s", role, file, diff)
			}
		})
	}
	// The SRE assistant's rules are those of sre/deploy/rbac.yaml.
	t.Run("aichat-portal-sre", func(t *testing.T) {
		objs, err := controlplane.ReadManifests(filepath.Join(chartDir(), "..", "..", "sre", "deploy", "rbac.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		want := find(t, objs, "ClusterRole", "aichat-sre").Object["rules"]
		got := find(t, mustRender(t, valuesFiles["AllEnabled"]), "ClusterRole", "aichat-portal-sre").Object["rules"]
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rules of the SRE assistant's ClusterRole: sre/deploy/rbac.yaml (-) and the chart (+) differ:\n%s", diff)
		}
	})
	// Each mode binds the roles as portal/deploy does.
	shared := mustRender(t, "")
	rb := find(t, shared, "RoleBinding", "aichat-portal-claims")
	if diff := cmp.Diff("aichat-workspaces", rb.GetNamespace()); diff != "" {
		t.Errorf("RoleBinding namespace (-want +got):\n%s", diff)
	}
}

// TestRefusals checks that values that cannot work fail at render time with
// a message naming the value.
func TestRefusals(t *testing.T) {
	cases := map[string]struct {
		set  []string
		want string
	}{
		"NoDSN": {set: []string{"secrets.database.existingSecret="},
			want: "secrets.database.existingSecret names the Secret holding the MySQL DSN"},
		"NoJWT": {set: []string{"secrets.jwt.existingSecret="},
			want: "secrets.jwt.existingSecret names the Secret holding the JWT signing key"},
		"NetworkPolicyWithoutAPIServer": {set: []string{"networkPolicy.enabled=true"},
			want: "networkPolicy.kubeAPIServer.cidrs"},
		"VaultWithoutRole": {set: []string{"vault.enabled=true", "vault.role="},
			want: "vault.role is required"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, "", tc.set...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template --set %v: got %v, want an error containing %q", tc.set, err, tc.want)
			}
		})
	}
}

// TestServerDryRun applies every rendered object to a real kube-apiserver
// with dryRun=All: schema, defaults and validation of the real server.
func TestServerDryRun(t *testing.T) {
	controlplane.SkipIfShort(t)
	cp := controlplane.StartT(t, controlplane.Options{})
	ctx := t.Context()
	for _, n := range []string{namespace, "aichat-workspaces"} {
		if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// The check has teeth: a field the API does not know is refused.
	bad := find(t, mustRender(t, ""), "Deployment", release)
	if err := unstructured.SetNestedField(bad.Object, "x", "spec", "template", "spec", "notAField"); err != nil {
		t.Fatal(err)
	}
	if err := dryRun(ctx, cp.Client, bad); err == nil || !strings.Contains(err.Error(), "notAField") {
		t.Errorf("dry-run of a Deployment with an unknown field: got %v, want an error naming it", err)
	}
	for name, values := range valuesFiles {
		t.Run(name, func(t *testing.T) {
			for _, o := range mustRender(t, values) {
				if o.GetKind() == "ServiceMonitor" {
					// No Go module ships prometheus-operator's CRDs (only its
					// Go types), so the API server cannot check this one;
					// TestServiceMonitor checks it instead.
					t.Logf("not dry-run: %s (no ServiceMonitor CRD available from the module proxy)", key(o))
					continue
				}
				if err := dryRun(ctx, cp.Client, o); err != nil {
					t.Errorf("%s: %v", key(o), err)
				}
			}
		})
	}
}

func dryRun(ctx context.Context, c client.Client, o *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("helm"), client.ForceOwnership, client.DryRunAll)
}

// TestServiceMonitor checks by hand what the API server cannot: the
// ServiceMonitor selects the chart's Service and scrapes its named port.
func TestServiceMonitor(t *testing.T) {
	objs := mustRender(t, valuesFiles["AllEnabled"])
	sm := find(t, objs, "ServiceMonitor", release)
	svc := find(t, objs, "Service", release)
	type got struct {
		APIVersion string
		Selector   map[string]string
		Port, Path string
		Release    string
	}
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ep := eps[0].(map[string]any)
	svcLabels := svc.GetLabels()
	matching := map[string]string{}
	for k := range sel {
		matching[k] = svcLabels[k]
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	want := got{APIVersion: "monitoring.coreos.com/v1", Selector: matching, Port: ports[0].(map[string]any)["name"].(string), Path: "/metrics", Release: "kube-prometheus-stack"}
	if diff := cmp.Diff(want, got{APIVersion: sm.GetAPIVersion(), Selector: sel, Port: ep["port"].(string), Path: ep["path"].(string), Release: sm.GetLabels()["release"]}); diff != "" {
		t.Errorf("ServiceMonitor (-want +got):\n%s", diff)
	}
}

// TestSREMatchesPackage checks the SRE assistant's Deployment against the
// image that ships it (package/build's FunctionImage, /sre), its hardening,
// and that the portal's selectors never match its pods.
func TestSREMatchesPackage(t *testing.T) {
	type container struct {
		Image, User                   string
		Command                       []string
		ReadOnlyRoot, NoEscalation    bool
		LLMURL, TokenFile, TokenMount bool
	}
	objs := mustRender(t, valuesFiles["AllEnabled"])
	d := find(t, objs, "Deployment", release+"-sre")
	spec, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	c, _, _ := unstructured.NestedSlice(spec, "containers")
	ctr := c[0].(map[string]any)
	user, _, _ := unstructured.NestedInt64(spec, "securityContext", "runAsUser")
	group, _, _ := unstructured.NestedInt64(spec, "securityContext", "runAsGroup")
	got := container{Image: ns(ctr, "image"), User: fmt.Sprintf("%d:%d", user, group),
		ReadOnlyRoot: nb(ctr, "securityContext", "readOnlyRootFilesystem"), NoEscalation: !nb(ctr, "securityContext", "allowPrivilegeEscalation")}
	got.Command, _, _ = unstructured.NestedStringSlice(ctr, "command")
	args, _, _ := unstructured.NestedStringSlice(ctr, "args")
	for _, a := range args {
		got.LLMURL = got.LLMURL || a == "--llm-url=http://ollama.aichat-system.svc:11434"
		got.TokenFile = got.TokenFile || a == "--llm-token-file=/var/run/aichat-sre/llm-token"
	}
	mounts, _, _ := unstructured.NestedSlice(ctr, "volumeMounts")
	got.TokenMount = len(mounts) == 1 && ns(mounts[0].(map[string]any), "mountPath") == "/var/run/aichat-sre"
	want := container{Image: build.FunctionImageRepository + ":" + build.DefaultVersion, User: build.User, Command: []string{build.SREPath},
		ReadOnlyRoot: true, NoEscalation: true, LLMURL: true, TokenFile: true, TokenMount: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the SRE assistant's container (-want +got):\n%s", diff)
	}

	podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	portalSel, _, _ := unstructured.NestedStringMap(find(t, objs, "Deployment", release).Object, "spec", "selector", "matchLabels")
	svcSel, _, _ := unstructured.NestedStringMap(find(t, objs, "Service", release).Object, "spec", "selector")
	for name, sel := range map[string]map[string]string{"the portal's Deployment": portalSel, "the portal's Service": svcSel} {
		matches := true
		for k, v := range sel {
			matches = matches && podLabels[k] == v
		}
		if matches {
			t.Errorf("%s selects the SRE assistant's pods (%v)", name, podLabels)
		}
	}
	if _, err := render(t, "", "sre.enabled=true", "sre.llm.url=http://ollama:11434"); err == nil || !strings.Contains(err.Error(), "sre.llm.model is required") {
		t.Errorf("an LLM URL without a model: got %v, want the refusal naming sre.llm.model", err)
	}
}
