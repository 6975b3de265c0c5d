package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// Schemas of other projects that the rendered output must satisfy, read from
// the Go module cache (never copied into the repository).
var (
	// KEDA's HTTP add-on: HTTPScaledObject.
	KEDAHTTPCRDs = ModuleFiles{"github.com/kedacore/http-add-on", "v0.15.0", []string{"config/crd/bases/http.keda.sh_httpscaledobjects.yaml"}}
	// KEDA: ScaledObject.
	KEDACRDs = ModuleFiles{"github.com/kedacore/keda/v2", "v2.20.2", []string{"config/crd/bases/keda.sh_scaledobjects.yaml"}}
	// Gateway API: HTTPRoute and ReferenceGrant.
	GatewayCRDs = ModuleFiles{"sigs.k8s.io/gateway-api", "v1.4.1", []string{
		"config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
		"config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml",
	}}
	// Crossplane's own CRDs, which validate needs for its built-in schemas.
	CrossplaneCRDs = ModuleFiles{"github.com/crossplane/crossplane/v2", "v2.4.0", nil}
)

// ModuleFiles are files inside one module version.
type ModuleFiles struct {
	Module, Version string
	// Paths inside the module; nil means Crossplane's cluster/crds dir.
	Paths []string
}

// Resolve returns the absolute paths of the files.
func (m ModuleFiles) Resolve(ctx context.Context) ([]string, error) {
	dir, err := toolchain.GoModDir(ctx, m.Module, m.Version)
	if err != nil {
		return nil, err
	}
	if m.Paths == nil {
		return filepath.Glob(filepath.Join(dir, "cluster", "crds", "*.yaml"))
	}
	out := make([]string, 0, len(m.Paths))
	for _, p := range m.Paths {
		out = append(out, filepath.Join(dir, p))
	}
	return out, nil
}

// crossplaneImage names the built-in schemas validate looks up in its cache;
// Validate fills that cache entry from the module cache, so nothing is
// downloaded.
const crossplaneImage = "xpkg.crossplane.io/crossplane/crossplane:v2.4.0"

// Validate runs `crossplane resource validate` on rendered output against
// the given schema files (XRDs and CRDs) and returns its report. Resources
// of kinds without a schema here (the Kubernetes built-ins) are left to the
// API server's dry-run in the end-to-end tests. An error means a resource
// failed validation or validate could not run.
func Validate(ctx context.Context, rendered []byte, schemas []string) (string, error) {
	cli, err := toolchain.CrossplaneCLI.Path(ctx, os.Stderr)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "aichat-validate-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)

	xp, err := CrossplaneCRDs.Resolve(ctx)
	if err != nil {
		return "", err
	}
	cache := filepath.Join(dir, "cache")
	entry := filepath.Join(cache, strings.ReplaceAll(crossplaneImage, ":", "@"))
	if err := concat(filepath.Join(entry, "package.yaml"), xp); err != nil {
		return "", err
	}
	ext := filepath.Join(dir, "extensions")
	if err := os.MkdirAll(ext, 0o755); err != nil {
		return "", err
	}
	for i, s := range schemas {
		b, err := os.ReadFile(s)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(ext, fmt.Sprintf("%02d-%s", i, filepath.Base(s))), b, 0o644); err != nil {
			return "", err
		}
	}
	res := filepath.Join(dir, "rendered.yaml")
	rendered, err = dropV2Refs(rendered)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(res, rendered, 0o644); err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, cli, "resource", "validate", ext, res,
		"--cache-dir="+cache, "--crossplane-image="+crossplaneImage, "--skip-success-results")
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if strings.Contains(out.String(), "downloading") {
		return out.String(), fmt.Errorf("validate tried to download schemas:\n%s", out.String())
	}
	if err != nil {
		return out.String(), fmt.Errorf("validation failed: %w\n%s", err, out.String())
	}
	return out.String(), nil
}

func concat(dst string, files []string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	for _, f := range files {
		c, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		b.WriteString("---\n")
		b.Write(c)
		b.WriteString("\n")
	}
	return os.WriteFile(dst, b.Bytes(), 0o644)
}

// dropV2Refs removes spec.crossplane from rendered XRs. Render writes the
// Crossplane v2 layout (spec.crossplane.resourceRefs) even for a
// LegacyCluster XR, whose schema Crossplane extends with the legacy layout
// (spec.resourceRefs) instead; validate would report a field that neither
// we nor a real cluster would ever set.
func dropV2Refs(rendered []byte) ([]byte, error) {
	var out []string
	for _, doc := range strings.Split(string(rendered), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, err
		}
		if spec, ok := obj["spec"].(map[string]any); ok {
			delete(spec, "crossplane")
		}
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, string(y))
	}
	return []byte(strings.Join(out, "---\n")), nil
}
