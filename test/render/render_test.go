package render_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossplane/function-sdk-go/logging"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/test/render"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/*/want.yaml")

// renderCase is testdata/<name>/case.yaml. Paths are relative to its folder.
type renderCase struct {
	XR          string `json:"xr"`
	Observed    string `json:"observed"`
	Required    string `json:"required"`
	Composition string `json:"composition"`
	// WantError is a part of the fatal message render must exit with.
	WantError string `json:"wantError"`
}

// zeros stands in for crypto/rand, so that a Secret the function generates
// is the same on every run and the golden files stay stable.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestRenderGolden renders every case in testdata through the real
// Crossplane composition engine (`crossplane composition render` with core
// v2.4.0) with our function, compares the output with the case's golden
// want.yaml, and validates it against our XRD (schema and CEL rules) and the
// KEDA and Gateway API CRDs with `crossplane resource validate`.
func TestRenderGolden(t *testing.T) {
	ctx := context.Background()
	root := repoRoot(t)
	schemas := []string{filepath.Join(root, "package", "configuration", "xrd.yaml")}
	for _, m := range []render.ModuleFiles{render.KEDAHTTPCRDs, render.KEDACRDs, render.GatewayCRDs} {
		p, err := m.Resolve(ctx)
		if err != nil {
			t.Fatalf("cannot read %s@%s from the module cache: %v", m.Module, m.Version, err)
		}
		schemas = append(schemas, p...)
	}
	dirs, err := filepath.Glob("testdata/*/case.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases in testdata: %v", err)
	}
	for _, c := range dirs {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rc := renderCase{}
			b, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(b, &rc); err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			rel := func(p string) string {
				if p == "" {
					return ""
				}
				return filepath.Join(dir, p)
			}
			o := render.Options{
				XR:          rel(rc.XR),
				Composition: filepath.Join(root, "compositions", "aichatworkspace.yaml"),
				Functions:   filepath.Join(root, "examples", "functions.yaml"),
				Observed:    rel(rc.Observed),
				Required:    rel(rc.Required),
				// The results show which events the function emits.
				IncludeResults: true,
			}
			if rc.Composition != "" {
				o.Composition = rel(rc.Composition)
			}
			got, err := render.Run(ctx, function.NewWithRandom(logging.NewNopLogger(), zeros{}), o)
			if rc.WantError != "" {
				if err == nil {
					t.Fatalf("render succeeded, want a fatal result containing %q", rc.WantError)
				}
				if !strings.Contains(err.Error(), rc.WantError) {
					t.Fatalf("render failed with\n%v\nwant a message containing %q", err, rc.WantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			got = dropEngineReadiness(got)
			golden := filepath.Join(dir, "want.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("render output differs from %s (-want +got; -update rewrites it):\n%s", golden, diff)
			}

			// Validate the XR with its spec too (render prints it only
			// with --include-full-xr).
			o.IncludeFullXR, o.IncludeResults = true, false
			full, err := render.Run(ctx, function.NewWithRandom(logging.NewNopLogger(), zeros{}), o)
			if err != nil {
				t.Fatalf("render --include-full-xr: %v", err)
			}
			if out, err := render.Validate(ctx, full, schemas); err != nil {
				t.Fatalf("rendered output is invalid: %v", err)
			} else if !bytes.Contains([]byte(out), []byte("0 failure cases")) {
				t.Fatalf("validate did not report a clean run:\n%s", out)
			}
		})
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// dropEngineReadiness removes the engine's own "Composed resource X is not
// yet ready" results: the engine emits them in map order, and they repeat
// what status.resources already shows. The function's results stay.
func dropEngineReadiness(out []byte) []byte {
	docs := strings.Split(string(out), "---\n")
	kept := docs[:0]
	for _, d := range docs {
		if strings.Contains(d, "kind: Result\n") && strings.Contains(d, "reason: ComposeResources\n") {
			continue
		}
		kept = append(kept, d)
	}
	return []byte(strings.Join(kept, "---\n"))
}
