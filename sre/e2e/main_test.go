// Package e2e proves the SRE assistant on the real control plane of
// test/controlplane (kube-apiserver, kube-controller-manager, KWOK,
// Crossplane core and our function) with a real Ollama (test/ollama): real
// workspaces break, the controller finds the incidents, asks the LLM once
// per incident, and the diagnosis lands on the claim and in the portal.
package e2e

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/test/controlplane"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	root := repoRoot()
	controlplane.Main(m, controlplane.Options{
		Function:     function.New(logging.NewNopLogger()),
		FunctionName: "aichatworkspaces-function-aichat-workspace",
		// The quota-exceeded incident needs quotas enforced.
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
