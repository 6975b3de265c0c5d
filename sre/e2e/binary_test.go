package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/aichatworkspaces/workspaces/sre/controller"
	"github.com/aichatworkspaces/workspaces/sre/incident"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
)

// TestBinaryWithoutLLM runs the shipped program (sre/cmd/sre, built here)
// with no LLM configured, as the ServiceAccount of sre/deploy/rbac.yaml: a
// workspace whose image cannot be pulled (written as the kubelet would) gets
// the facts and the rule-based hint on its claim, and the program's
// /incidents and /metrics show it.
func TestBinaryWithoutLLM(t *testing.T) {
	controlplane.SkipIfShort(t)
	cp.DumpOnFailure(t)
	ctx := t.Context()
	installSRE(t)
	bin := filepath.Join(t.TempDir(), "sre")
	build := exec.CommandContext(ctx, "go", "build", "-tags=nomsgpack", "-o", bin, "./sre/cmd/sre")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	createClaim(t, "team-rules", "plain")
	ws, wsNS := waitWorkspace(t, "team-rules", "plain")

	// The program's kubeconfig impersonates its ServiceAccount, so the
	// RBAC we ship is what it runs with.
	cfg, err := clientcmd.LoadFromFile(cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = "system:serviceaccount:aichat-system:aichat-sre"
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	metricsAddr, healthAddr := freeAddr(t), freeAddr(t)
	runCtx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(runCtx, bin, "--kubeconfig="+kubeconfig, "--metrics-address="+metricsAddr, "--health-address="+healthAddr)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "SRE_LLM_URL=", "SRE_LLM_MODEL=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sre's log:\n%s", logs.String())
		}
	})

	webui := podOf(t, wsNS, "open-webui")
	pullFailed(t, webui, "Back-off pulling image \""+webui.Status.ContainerStatuses[0].Image+"\": not found")

	waitFor(t, "the rule-based diagnosis on the claim", func() (bool, string) {
		c := controlplane.Conditions(getClaim(t, "team-rules", "plain"))[controller.ConditionType]
		ok := c.Status == "True" && c.Reason == incident.ImagePullFailed &&
			strings.Contains(c.Message, "Hint: "+incident.Hint(incident.ImagePullFailed)) && !strings.Contains(c.Message, "Diagnosis by")
		return ok, fmt.Sprintf("%+v", c)
	})
	var body struct{ Incidents []controller.Record }
	if err := json.Unmarshal([]byte(get(t, "http://"+metricsAddr+"/incidents?workspace="+ws.ID)), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Incidents) != 1 || body.Incidents[0].Source != "rules" || body.Incidents[0].Incident.Reason != incident.ImagePullFailed {
		t.Errorf("/incidents: want one rule-based ImagePullFailed, got %+v", body.Incidents)
	}
	m := get(t, "http://"+metricsAddr+"/metrics")
	for _, want := range []string{`aichat_sre_incidents_total{reason="ImagePullFailed"}`, `aichat_sre_diagnoses_total{source="rules"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, "aichat_sre_llm_requests_total{") {
		t.Error("without an LLM no LLM request may be counted")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}
