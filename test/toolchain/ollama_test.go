package toolchain

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOllamaVersionsAgree checks the Ollama version is the same in the cache
// key, the version stamped into the binary and the tools module, so a bump
// in one place cannot reuse a stale cached binary.
func TestOllamaVersionsAgree(t *testing.T) {
	dir, err := ModuleDir(Ollama.Module)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/ollama/ollama (v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s/go.mod requires no github.com/ollama/ollama", dir)
	}
	mod := string(m[1])
	got := map[string]string{
		"tools module": mod,
		"cache key":    regexp.MustCompile(`v\d+\.\d+\.\d+`).FindString(Ollama.Key),
		"ldflags":      "v" + strings.TrimPrefix(regexp.MustCompile(`version\.Version=(\S+)`).FindStringSubmatch(Ollama.LDFlags)[1], "v"),
	}
	want := map[string]string{"tools module": mod, "cache key": mod, "ldflags": mod}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Ollama versions disagree: -want, +got:\n%s", diff)
	}
}
