package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

// portalUser is the ServiceAccount identity in portal/deploy/rbac.yaml.
const portalUser = "system:serviceaccount:aichat-system:aichat-portal"

// apply creates every object of a manifest file with the admin identity.
func apply(t *testing.T, c client.Client, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := c.Create(context.Background(), u); err != nil && !kerrors.IsAlreadyExists(err) {
			t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func createNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !kerrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func startKube(t *testing.T, cfg *rest.Config, opts workspaces.Options) *workspaces.Kube {
	t.Helper()
	k, err := workspaces.NewKube(cfg, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	k.Start(ctx)
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	if !k.WaitForSync(sctx) {
		t.Fatal("the claim cache did not sync")
	}
	return k
}

func claim(t *testing.T, c client.Client, ns, name string) (*unstructured.Unstructured, error) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(v1alpha1.APIVersion)
	u.SetKind(v1alpha1.ClaimKind)
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	return u, err
}

// TestWorkspaces runs the workspace endpoints against a real kube-apiserver,
// with the portal's cluster identity bound only to the shipped RBAC.
func TestWorkspaces(t *testing.T) {
	cl := testenv.StartClusterT(t)
	const ns = "aichat-workspaces"
	createNamespace(t, cl.Admin, "aichat-system")
	createNamespace(t, cl.Admin, ns)
	apply(t, cl.Admin, "../deploy/rbac.yaml")
	portalCfg, err := cl.AddUser(portalUser, "system:serviceaccounts")
	if err != nil {
		t.Fatal(err)
	}
	k := startKube(t, portalCfg, workspaces.Options{Namespace: ns})
	e := newEnv(t, envOptions{workspaces: k, edit: func(c *config.Config) { c.WorkspaceQuota = 2 }})
	alice := e.signup(t, "alice@example.com")
	bob := e.signup(t, "bob@example.com")
	aliceID := strconv.Itoa(int(e.do(t, "GET", "/api/v1/me", alice.AccessToken, nil).JSON(t)["id"].(float64)))

	t.Run("IdentityIsRestricted", func(t *testing.T) {
		c, err := client.New(portalCfg, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.List(context.Background(), &corev1.SecretList{}, client.InNamespace(ns))
		if !kerrors.IsForbidden(err) {
			t.Errorf("the portal identity must not read secrets, got %v", err)
		}
	})

	dev := map[string]any{
		"name": "dev", "size": "small", "models": []string{"llama3.2:1b"},
		"assistants": []map[string]any{{"name": "summarizer", "from": "llama3.2:1b", "patterns": []string{"summarize"}}},
		"storage":    map[string]any{"models": "20Gi", "data": "2Gi"},
	}

	t.Run("Create", func(t *testing.T) {
		type want struct {
			Status int
			Field  string
		}
		with := func(edit func(m map[string]any)) map[string]any {
			m := map[string]any{}
			for k, v := range dev {
				m[k] = v
			}
			edit(m)
			return m
		}
		cases := []struct {
			name   string
			reason string
			token  string
			body   any
			want   want
		}{
			{"OK", "alice creates dev", alice.AccessToken, dev, want{201, ""}},
			{"Taken", "names are unique in the shared namespace", bob.AccessToken, dev, want{409, "name"}},
			{"BadFrom", "assistants' from must be in models", bob.AccessToken, with(func(m map[string]any) {
				m["name"] = "x"
				m["assistants"] = []map[string]any{{"name": "a", "from": "mistral", "patterns": []string{"summarize"}}}
			}), want{400, "assistants[0].from"}},
			{"BadPatternCount", "1..8 patterns", bob.AccessToken, with(func(m map[string]any) {
				m["name"] = "x"
				m["assistants"] = []map[string]any{{"name": "a", "from": "llama3.2:1b", "patterns": []string{}}}
			}), want{400, "assistants[0].patterns"}},
			{"BadSize", "sizes are an enum", bob.AccessToken, with(func(m map[string]any) { m["name"] = "x"; m["size"] = "huge" }), want{400, "size"}},
			{"BadName", "names are DNS labels", bob.AccessToken, with(func(m map[string]any) { m["name"] = "Robert'); DROP TABLE--" }), want{400, "name"}},
			{"Owner", "the portal sets the owner", bob.AccessToken, with(func(m map[string]any) { m["name"] = "x"; m["owner"] = "alice@example.com" }), want{400, "owner"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do(t, "POST", "/api/v1/workspaces", tc.token, tc.body)
				got := want{Status: r.Status}
				if r.Status >= 400 {
					_, got.Field = r.Error(t)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s\n%s", tc.reason, diff, r.Body)
				}
			})
		}
		// The claim really exists, labelled and owned.
		u, err := claim(t, cl.Admin, ns, "dev")
		if err != nil {
			t.Fatal(err)
		}
		owner, _, _ := unstructured.NestedString(u.Object, "spec", "owner")
		got := []string{owner, u.GetLabels()[workspaces.LabelOwnerID], u.GetLabels()[workspaces.LabelManagedBy]}
		if diff := cmp.Diff([]string{"alice@example.com", aliceID, "aichat-portal"}, got); diff != "" {
			t.Errorf("claim owner, owner label, managed-by (-want +got):\n%s", diff)
		}
	})

	t.Run("ListedByOwner", func(t *testing.T) {
		names := func(tok string) []string {
			var out []string
			for _, it := range e.do(t, "GET", "/api/v1/workspaces", tok, nil).JSON(t)["items"].([]any) {
				out = append(out, it.(map[string]any)["name"].(string))
			}
			return out
		}
		got := [][]string{names(alice.AccessToken), names(bob.AccessToken)}
		if diff := cmp.Diff([][]string{{"dev"}, nil}, got); diff != "" {
			t.Errorf("alice's and bob's lists (-want +got):\n%s", diff)
		}
	})

	t.Run("OtherUsersWorkspace", func(t *testing.T) {
		got := []int{
			e.do(t, "GET", "/api/v1/workspaces/dev", bob.AccessToken, nil).Status,
			e.do(t, "PATCH", "/api/v1/workspaces/dev", bob.AccessToken, map[string]any{"size": "large"}).Status,
			e.do(t, "DELETE", "/api/v1/workspaces/dev", bob.AccessToken, nil).Status,
		}
		if diff := cmp.Diff([]int{404, 404, 404}, got); diff != "" {
			t.Errorf("bob's get, patch, delete of alice's workspace (-want +got):\n%s", diff)
		}
		u, err := claim(t, cl.Admin, ns, "dev")
		if err != nil {
			t.Fatalf("alice's claim is gone: %v", err)
		}
		if size, _, _ := unstructured.NestedString(u.Object, "spec", "size"); size != "small" {
			t.Errorf("bob changed alice's workspace: size %q", size)
		}
	})

	t.Run("Status", func(t *testing.T) {
		u, err := claim(t, cl.Admin, ns, "dev")
		if err != nil {
			t.Fatal(err)
		}
		u.Object["status"] = map[string]any{
			"namespace": "aichat-dev-x1", "url": "https://dev.example.com", "modelsReady": "1/2",
			"models": []any{
				map[string]any{"name": "llama3.2:1b", "kind": "base", "state": "Ready"},
				map[string]any{"name": "summarizer", "kind": "assistant", "state": "Failed", "message": "pattern missing"},
			},
			"conditions": []any{
				map[string]any{"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": "2026-01-01T00:00:00Z"},
				map[string]any{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "lastTransitionTime": "2026-01-01T00:00:00Z"},
			},
		}
		if err := cl.Admin.Status().Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			st = e.do(t, "GET", "/api/v1/workspaces/dev", alice.AccessToken, nil).JSON(t)["status"].(map[string]any)
			if st["ready"] == true {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		got := []any{st["ready"], st["synced"], st["url"], st["modelsReady"], len(st["models"].([]any)), st["models"].([]any)[1].(map[string]any)["state"], len(st["conditions"].([]any))}
		want := []any{true, true, "https://dev.example.com", "1/2", 2, "Failed", 2}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("status shown (-want +got):\n%s", diff)
		}
	})

	t.Run("Patch", func(t *testing.T) {
		ok := e.do(t, "PATCH", "/api/v1/workspaces/dev", alice.AccessToken, map[string]any{"size": "medium", "storage": map[string]any{"data": "4Gi"}})
		immutable := e.do(t, "PATCH", "/api/v1/workspaces/dev", alice.AccessToken, map[string]any{"storage": map[string]any{"models": "40Gi"}})
		owner := e.do(t, "PATCH", "/api/v1/workspaces/dev", alice.AccessToken, map[string]any{"owner": "bob@example.com"})
		badModel := e.do(t, "PATCH", "/api/v1/workspaces/dev", alice.AccessToken, map[string]any{"models": []string{"no spaces allowed"}})
		fromGone := e.do(t, "PATCH", "/api/v1/workspaces/dev", alice.AccessToken, map[string]any{"models": []string{"qwen2.5:0.5b"}})
		wrongType := e.do(t, "PATCH", "/api/v1/workspaces/dev", alice.AccessToken, map[string]any{"size": 5})
		fields := func(r response) string {
			if r.Status < 400 {
				return ""
			}
			_, f := r.Error(t)
			return f
		}
		got := []string{
			strconv.Itoa(ok.Status), strconv.Itoa(immutable.Status) + " " + fields(immutable), strconv.Itoa(owner.Status) + " " + fields(owner),
			strconv.Itoa(badModel.Status) + " " + fields(badModel), strconv.Itoa(fromGone.Status) + " " + fields(fromGone), strconv.Itoa(wrongType.Status) + " " + fields(wrongType),
		}
		want := []string{"200", "400 storage.models", "400 owner", "400 models[0]", "400 assistants[0].from", "400 size"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("patches (-want +got):\n%s", diff)
		}
		u, err := claim(t, cl.Admin, ns, "dev")
		if err != nil {
			t.Fatal(err)
		}
		size, _, _ := unstructured.NestedString(u.Object, "spec", "size")
		data, _, _ := unstructured.NestedString(u.Object, "spec", "storage", "data")
		models, _, _ := unstructured.NestedString(u.Object, "spec", "storage", "models")
		owner2, _, _ := unstructured.NestedString(u.Object, "spec", "owner")
		if diff := cmp.Diff([]string{"medium", "4Gi", "20Gi", "alice@example.com"}, []string{size, data, models, owner2}); diff != "" {
			t.Errorf("claim after patch: size, data, models, owner (-want +got):\n%s", diff)
		}
		// A read right after the write sees it.
		if s := e.do(t, "GET", "/api/v1/workspaces/dev", alice.AccessToken, nil).JSON(t)["spec"].(map[string]any)["size"]; s != "medium" {
			t.Errorf("read after patch shows size %v", s)
		}
	})

	t.Run("APIServerRejection", func(t *testing.T) {
		// Bypass the portal's own validation to see the API server's 422
		// mapped to a field.
		_, err := k.Create(context.Background(), workspaces.Owner{ID: 999, Email: "x@example.com"}, "rejected", v1alpha1.WorkspaceSpec{Size: "gigantic"})
		e, ok := apierr.As(err)
		if !ok {
			t.Fatalf("want an apierr, got %v", err)
		}
		if diff := cmp.Diff([]any{422, "size"}, []any{e.Status, e.Field}); diff != "" {
			t.Errorf("API server rejection: status, field (-want +got):\n%s\n%v", diff, err)
		}
	})

	t.Run("Quota", func(t *testing.T) {
		second := e.do(t, "POST", "/api/v1/workspaces", alice.AccessToken, map[string]any{"name": "second"})
		third := e.do(t, "POST", "/api/v1/workspaces", alice.AccessToken, map[string]any{"name": "third"})
		code := ""
		if third.Status >= 400 {
			code, _ = third.Error(t)
		}
		if diff := cmp.Diff([]any{201, 403, "quota_exceeded"}, []any{second.Status, third.Status, code}); diff != "" {
			t.Errorf("second and third workspace with quota 2 (-want +got):\n%s", diff)
		}
	})

	t.Run("AdminSeesAll", func(t *testing.T) {
		e.signup(t, "root@example.com")
		e.makeAdmin(t, "root@example.com")
		root := e.login(t, "root@example.com", "passw0rd-long")
		r := e.do(t, "GET", "/api/v1/admin/workspaces", root.AccessToken, nil)
		if n := len(r.JSON(t)["items"].([]any)); n != 2 {
			t.Errorf("admin sees %d workspaces, want 2: %s", n, r.Body)
		}
		if r := e.do(t, "GET", "/readyz", "", nil); r.Status != http.StatusOK {
			t.Errorf("readyz with the cluster up: %d %s", r.Status, r.Body)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		del := e.do(t, "DELETE", "/api/v1/workspaces/dev", alice.AccessToken, nil)
		again := e.do(t, "GET", "/api/v1/workspaces/dev", alice.AccessToken, nil)
		_, err := claim(t, cl.Admin, ns, "dev")
		if diff := cmp.Diff([]any{204, 404, true}, []any{del.Status, again.Status, kerrors.IsNotFound(err)}); diff != "" {
			t.Errorf("delete, get after delete, claim gone (-want +got):\n%s", diff)
		}
	})

	t.Run("NamespacePerUser", func(t *testing.T) {
		apply(t, cl.Admin, "../deploy/rbac-per-user.yaml")
		kp := startKube(t, portalCfg, workspaces.Options{PerUser: true, NamespacePrefix: "aichat-user-"})
		ep := newEnv(t, envOptions{workspaces: kp})
		carol := ep.signup(t, "carol@example.com")
		create := ep.do(t, "POST", "/api/v1/workspaces", carol.AccessToken, map[string]any{"name": "dev"})
		list := ep.do(t, "GET", "/api/v1/workspaces", carol.AccessToken, nil)
		items := list.JSON(t)["items"].([]any)
		got := []any{create.Status, len(items), items[0].(map[string]any)["namespace"]}
		if diff := cmp.Diff([]any{201, 1, "aichat-user-1"}, got); diff != "" {
			t.Errorf("per-user namespace: create, count, namespace (-want +got):\n%s\n%s", diff, create.Body)
		}
	})
}

// TestClusterUnreachable: with the API server down, workspace endpoints and
// readyz answer 503 with a clear message, never 500.
func TestClusterUnreachable(t *testing.T) {
	k, err := workspaces.NewKube(&rest.Config{Host: "https://127.0.0.1:1", Timeout: time.Second}, workspaces.Options{Namespace: "x"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k.Start(ctx)
	e := newEnv(t, envOptions{workspaces: k})
	p := e.signup(t, "u@example.com")
	for _, r := range []response{
		e.do(t, "GET", "/api/v1/workspaces", p.AccessToken, nil),
		e.do(t, "POST", "/api/v1/workspaces", p.AccessToken, map[string]any{"name": "dev"}),
		e.do(t, "GET", "/readyz", "", nil),
	} {
		if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "not reachable") {
			t.Errorf("want 503 saying the cluster is not reachable, got %d %s", r.Status, r.Body)
		}
	}
}
