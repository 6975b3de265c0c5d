package toolchain

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
)

// TestVersionsAgree checks that each tool's cache key names the versions its
// tools module builds: a go.mod bump without a key bump would keep serving
// the old cached binary.
func TestVersionsAgree(t *testing.T) {
	cases := map[string]struct {
		tool    Tool
		modules []string // modules whose versions the key must carry
	}{
		"chainsaw":                {Chainsaw, []string{"github.com/kyverno/chainsaw"}},
		"crossplane-cli":          {CrossplaneCLI, []string{"github.com/crossplane/cli/v2"}},
		"crossplane-core":         {CrossplaneCore, []string{"github.com/crossplane/crossplane/v2"}},
		"etcd":                    {Etcd, []string{"k8s.io/kubernetes", "go.etcd.io/etcd/server/v3"}},
		"kube-apiserver":          {KubeAPIServer, []string{"k8s.io/kubernetes", "go.etcd.io/etcd/server/v3"}},
		"kube-controller-manager": {KubeControllerManager, []string{"k8s.io/kubernetes", "go.etcd.io/etcd/server/v3"}},
		"kube-scheduler":          {KubeScheduler, []string{"k8s.io/kubernetes", "go.etcd.io/etcd/server/v3"}},
		"kwok":                    {KWOK, []string{"sigs.k8s.io/kwok"}},
		"helm":                    {Helm, []string{"helm.sh/helm/v4"}},
		"ollama":                  {Ollama, []string{"github.com/ollama/ollama"}},
	}
	if diff := cmp.Diff(Names(), sortedKeys(cases)); diff != "" {
		t.Errorf("every tool in All needs a case here: -All +cases:\n%s", diff)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir, err := ModuleDir(tc.tool.Module)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			mf, err := modfile.Parse("go.mod", b, nil)
			if err != nil {
				t.Fatal(err)
			}
			versions := map[string]string{}
			for _, r := range mf.Require {
				versions[r.Mod.Path] = r.Mod.Version
			}
			for _, m := range tc.modules {
				v, ok := versions[m]
				if !ok {
					t.Errorf("tools module %s does not require %s", tc.tool.Module, m)
					continue
				}
				if !strings.Contains(tc.tool.Key, v) {
					t.Errorf("key %q does not carry %s %s from test/tools/%s/go.mod", tc.tool.Key, m, v, tc.tool.Module)
				}
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
