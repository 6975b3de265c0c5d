package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
)

// serve starts the portal as the binary would and returns its base URL.
func serve(t *testing.T, cfg config.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("graceful shutdown: %v", err)
		}
		a.Close()
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signup(t *testing.T, base string) string {
	t.Helper()
	body := `{"email":"a@example.com","password":"passw0rd-long","name":"A"}`
	if r, err := http.Post(base+"/api/v1/auth/register", "application/json", strings.NewReader(body)); err != nil || r.StatusCode != 201 {
		t.Fatalf("register: %v %v", r, err)
	}
	r, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"a@example.com","password":"passw0rd-long"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var p struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.AccessToken == "" {
		t.Fatalf("login: %d %v", r.StatusCode, err)
	}
	return p.AccessToken
}

func baseConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.SQLitePath = filepath.Join(t.TempDir(), "portal.db")
	cfg.BcryptCost = 4
	return cfg
}

// TestWithoutCluster is `make portal`: SQLite, no cluster, workspace
// endpoints answer 503 and the rest works.
func TestWithoutCluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod
	base := serve(t, baseConfig(t))
	tok := signup(t, base)
	ws, _ := get(t, base+"/api/v1/workspaces", tok)
	me, _ := get(t, base+"/api/v1/me", tok)
	ready, _ := get(t, base+"/readyz", "")
	if diff := cmp.Diff([]int{503, 200, 200}, []int{ws, me, ready}); diff != "" {
		t.Errorf("workspaces, me, readyz (-want +got):\n%s", diff)
	}
}

// TestWithKubeconfig starts the portal from a kubeconfig file, as the
// binary does with --kubeconfig.
func TestWithKubeconfig(t *testing.T) {
	cl := testenv.StartClusterT(t)
	if err := cl.Admin.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aichat-workspaces"}}); err != nil {
		t.Fatal(err)
	}
	kc, err := cl.Kubeconfig(t.TempDir(), "portal-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(t)
	cfg.Kubeconfig = kc
	base := serve(t, cfg)
	tok := signup(t, base)
	var status int
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if status, body = get(t, base+"/readyz", ""); status == 200 {
			break
		}
	}
	ws, list := get(t, base+"/api/v1/workspaces", tok)
	if diff := cmp.Diff([]any{200, 200, `{"items":[]}`}, []any{status, ws, list}); diff != "" {
		t.Errorf("readyz, list status, list body (-want +got):\n%s\n%s", diff, body)
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
