// Package testenv starts the real parts the portal's tests and benchmark run
// against: a MariaDB server and a kube-apiserver (envtest) serving the
// AIChatWorkspace claim type.
//
// The cluster here is a stand-in: it installs a claim CRD derived from the
// Go types in apis/v1alpha1, because Crossplane's XRD machinery is not part
// of it. When the shared control-plane harness (test/controlplane) lands,
// StartCluster can hand out that harness with the real XRD instead; callers
// only use Cluster.Config, Cluster.Admin and Cluster.AddUser.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where a missing dependency is a
// failure and never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable fails the test in CI and skips it elsewhere, saying why.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required test dependency missing (CI=true, not skipping): %s", msg)
	}
	t.Skipf("skipping: %s (set CI=true to make this a failure)", msg)
}
