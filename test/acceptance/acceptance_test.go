// Package acceptance runs the Kyverno Chainsaw acceptance suite (the
// chainsaw-test.yaml files below this directory: the example claim becomes
// a Ready workspace and leaves nothing behind when deleted; a change to a
// Ready claim converges) against the local control plane.
//
// The suite itself needs nothing but a cluster with the product installed:
// `make acceptance KUBECONFIG=...` runs it against any cluster, e.g. right
// after a platform team installed the Configuration. This test is how CI
// runs it: on the harness of test/controlplane with exactly what we ship.
package acceptance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/crossplane/function-sdk-go/logging"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// functionName is the functionRef of our Composition.
const functionName = "aichatworkspaces-function-aichat-workspace"

// suiteTimeout bounds the whole chainsaw run; each operation has its own,
// smaller bound in .chainsaw.yaml.
const suiteTimeout = 15 * time.Minute

func TestChainsawSuite(t *testing.T) {
	controlplane.SkipIfShort(t)
	dir := suiteDir()
	chainsaw, err := toolchain.Chainsaw.Path(t.Context(), tLog{t})
	if err != nil {
		t.Fatalf("cannot build chainsaw: %v", err)
	}
	root := filepath.Join(dir, "..", "..")
	cp := controlplane.StartT(t, controlplane.Options{
		Function:       function.New(logging.NewNopLogger()),
		FunctionName:   functionName,
		CrossplaneRBAC: []string{filepath.Join(root, "package", "rbac", "crossplane-aggregate.yaml")},
		Manifests: []string{
			filepath.Join(root, "package", "configuration", "xrd.yaml"),
			filepath.Join(root, "package", "configuration", "composition.yaml"),
		},
	})
	out, err := RunChainsaw(t, chainsaw, cp.Kubeconfig, dir)
	if err != nil {
		t.Fatalf("chainsaw failed (%v):\n%s", err, out)
	}
	t.Logf("chainsaw passed:\n%s", out)
}

// RunChainsaw runs the suite in dir against the cluster of kubeconfig and
// returns its combined output. kubectl (for the script steps) is looked up
// on PATH.
func RunChainsaw(t *testing.T, chainsaw, kubeconfig, dir string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), suiteTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, chainsaw, "test",
		"--config", filepath.Join(dir, ".chainsaw.yaml"),
		"--test-dir", dir,
		// Colours make the CI log unreadable.
		"--no-color",
	)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func suiteDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

type tLog struct{ t *testing.T }

func (l tLog) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }
