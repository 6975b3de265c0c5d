package platform_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/platform"
)

// TestRestartKeepsEverything runs the platform as `make run` does, on a
// temporary data directory, twice: what the first run created through the
// portal (a user, a claim) and the admin are there in the second, and each
// stop leaves no process behind.
func TestRestartKeepsEverything(t *testing.T) {
	controlplane.SkipIfShort(t)
	dir := t.TempDir()
	opts := platform.Options{DataDir: dir, Addr: "127.0.0.1:0", BcryptCost: bcrypt.MinCost, Log: io.Discard}

	p := start(t, opts)
	if p.AdminPassword == "" {
		t.Fatal("the first run printed no admin password")
	}
	adminPassword := p.AdminPassword
	checkReady(t, p.URL)

	admin := login(t, p.URL, p.AdminEmail, adminPassword)
	call(t, p.URL, "POST", "/api/v1/auth/register", "", map[string]any{"email": "ada@example.com", "password": "correct-horse-battery-9", "name": "Ada"}, http.StatusCreated)
	ada := login(t, p.URL, "ada@example.com", "correct-horse-battery-9")
	call(t, p.URL, "POST", "/api/v1/workspaces", ada, map[string]any{"name": "lab", "size": "xsmall", "models": []string{"llama3.2:1b"}}, http.StatusCreated)

	// The claim is in the cluster, as kubectl with the printed kubeconfig
	// sees it, and Crossplane composes it with our function.
	kube := kubeClient(t, p.Kubeconfig)
	claim := controlplane.Ref{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.ClaimKind, Namespace: "aichat-workspaces", Name: "lab"}
	if err := controlplane.WaitForConditions(t.Context(), kube, claim, 3*time.Minute, "Ready", "Synced"); err != nil {
		t.Fatalf("%v\n%s", err, controlplane.Describe(t.Context(), kube, claim))
	}

	// The portal's own kubeconfig reaches claims only.
	portalKube := kubeClient(t, p.PortalKubeconfig)
	if err := portalKube.List(t.Context(), &corev1.SecretList{}, client.InNamespace("aichat-workspaces")); !apierrors.IsForbidden(err) {
		t.Errorf("the portal's identity listing Secrets: got %v, want Forbidden", err)
	}
	if err := portalKube.List(t.Context(), claimList(), client.InNamespace("aichat-workspaces")); err != nil {
		t.Errorf("the portal's identity cannot list claims: %v", err)
	}

	p.Stop()
	checkNothingLeft(t, dir, p.URL)

	// Second run on the same data.
	p = start(t, opts)
	if p.AdminPassword != "" {
		t.Error("the second run made a new admin password; the admin should exist")
	}
	checkReady(t, p.URL)
	// Same signing key: a session of the first run is still valid.
	call(t, p.URL, "GET", "/api/v1/me", admin, nil, http.StatusOK)
	login(t, p.URL, p.AdminEmail, adminPassword)
	ada = login(t, p.URL, "ada@example.com", "correct-horse-battery-9")
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.Unmarshal(call(t, p.URL, "GET", "/api/v1/workspaces", ada, nil, http.StatusOK), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range list.Items {
		got = append(got, w.Name)
	}
	if diff := cmp.Diff([]string{"lab"}, got); diff != "" {
		t.Errorf("Ada's workspaces after a restart (-want +got):\n%s", diff)
	}
	if err := controlplane.WaitForConditions(t.Context(), kubeClient(t, p.Kubeconfig), claim, time.Minute, "Ready", "Synced"); err != nil {
		t.Errorf("after a restart: %v", err)
	}
	p.Stop()
	checkNothingLeft(t, dir, p.URL)
}

func TestResetAdmin(t *testing.T) {
	controlplane.SkipIfShort(t)
	opts := platform.Options{DataDir: t.TempDir(), Addr: "127.0.0.1:0", BcryptCost: bcrypt.MinCost, Log: io.Discard}
	p := start(t, opts)
	first := p.AdminPassword
	p.Stop()
	opts.ResetAdmin = true
	p = start(t, opts)
	if p.AdminPassword == "" || p.AdminPassword == first {
		t.Fatalf("reset gave password %q after %q; want a new one", p.AdminPassword, first)
	}
	login(t, p.URL, p.AdminEmail, p.AdminPassword)
	call(t, p.URL, "POST", "/api/v1/auth/login", "", map[string]string{"email": p.AdminEmail, "password": first}, http.StatusUnauthorized)
}

func start(t *testing.T, o platform.Options) *platform.Platform {
	t.Helper()
	p, err := platform.Start(t.Context(), o)
	if err != nil {
		t.Fatalf("cannot start the platform: %v", err)
	}
	t.Cleanup(p.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			p.ControlPlane.DumpLogs(os.Stderr, 30)
		}
	})
	return p
}

// checkReady wants /readyz to say the database and the cluster are fine.
func checkReady(t *testing.T, base string) {
	t.Helper()
	var r struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(call(t, base, "GET", "/readyz", "", nil, http.StatusOK), &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"database": "ok", "cluster": "ok"}
	if diff := cmp.Diff(want, r.Checks); !r.Ready || diff != "" {
		t.Errorf("/readyz ready=%t (-want +got):\n%s", r.Ready, diff)
	}
}

// checkNothingLeft wants no process mentioning the data directory (every
// process of the control plane has it on its command line: etcd's data,
// kubeconfigs, certificates) and the portal's port closed.
func checkNothingLeft(t *testing.T, dir, url string) {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z") {
			continue // a zombie holds no resources
		}
		if bytes.Contains(cmdline, []byte(dir)) {
			t.Errorf("process %s still runs after Stop: %s", e.Name(), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
	host := strings.TrimPrefix(url, "http://")
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("the portal's address %s still accepts connections after Stop", host)
	}
}

func login(t *testing.T, base, email, password string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b := call(t, base, "POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, http.StatusOK)
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login %s: no access token in %s", email, b)
	}
	return tok.AccessToken
}

// call sends a JSON request and fails the test unless the status is want.
func call(t *testing.T, base, method, path, token string, body any, want int) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	if rsp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, rsp.StatusCode, b, want)
	}
	return b
}

func kubeClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(rc, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func claimList() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion(v1alpha1.APIVersion)
	l.SetKind(v1alpha1.ClaimKind + "List")
	return l
}
