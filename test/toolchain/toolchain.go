// Package toolchain builds the binaries that render, the tests and the local
// platform need (Crossplane, Kubernetes control plane, Ollama, ...) from the
// tools modules under test/tools, and caches them in the user cache
// directory keyed by version.
//
// The cache lives outside the clone on purpose: CI runs in a fresh clone on
// the same machine, and a cold build of these binaries takes minutes on two
// cores. A cached binary is used as is; nothing is rebuilt unless its version
// key changes.
package toolchain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// A Tool is one binary built from a tools module.
type Tool struct {
	// Name of the binary, e.g. "kube-apiserver".
	Name string
	// Module is the directory of the tools module under test/tools.
	Module string
	// Package is the Go package to build.
	Package string
	// Key names the cache directory; it carries every version the binary
	// depends on, so a version bump builds into a new directory.
	Key string
	// LDFlags for go build.
	LDFlags string
	// Env is added to the build environment (e.g. CPATH for cgo headers).
	// "${MODULE}" in a value stands for the tools module's directory, so
	// headers committed next to the module can be found from any clone.
	Env []string
	// EnvOverride names an environment variable holding a directory that
	// already contains the binary (e.g. KUBEBUILDER_ASSETS).
	EnvOverride string
	// Patch, when set, adds files to one dependency before building.
	Patch *Patch
}

// A Patch adds files to a dependency's source: the exact released version
// is copied from the module cache into the tool's cache directory, the files
// are added, and the build replaces the module with that copy (through a
// temporary go.mod, -modfile, so the tools module itself stays unpatched).
// For a release that no longer compiles with our Go and has no newer
// version we may use; each added file says why it exists.
type Patch struct {
	Module, Version string
	// Files maps a path inside the module to a file of the tools module.
	Files map[string]string
}

// The tools we build. Versions are pinned here and in the tools modules'
// go.mod files; a test checks the two agree.
var (
	CrossplaneCLI = Tool{
		Name: "crossplane", Module: "crossplane", Key: "crossplane-cli-v2.5.0",
		Package: "github.com/crossplane/cli/v2/cmd/crossplane",
		LDFlags: "-s -w",
	}
	CrossplaneCore = Tool{
		Name: "crossplane", Module: "crossplane", Key: "crossplane-core-v2.4.0",
		Package: "github.com/crossplane/crossplane/v2/cmd/crossplane",
		LDFlags: "-s -w -X=github.com/crossplane/crossplane-runtime/v2/pkg/version.version=v2.4.0",
	}
	Etcd = Tool{
		Name: "etcd", Module: "kubernetes", Key: controlPlaneKey,
		Package: "go.etcd.io/etcd/server/v3", LDFlags: "-s -w", EnvOverride: "KUBEBUILDER_ASSETS",
	}
	KubeAPIServer = Tool{
		Name: "kube-apiserver", Module: "kubernetes", Key: controlPlaneKey,
		Package: "k8s.io/kubernetes/cmd/kube-apiserver", LDFlags: "-s -w", EnvOverride: "KUBEBUILDER_ASSETS",
	}
	KubeControllerManager = Tool{
		Name: "kube-controller-manager", Module: "kubernetes", Key: controlPlaneKey,
		Package: "k8s.io/kubernetes/cmd/kube-controller-manager", LDFlags: "-s -w", EnvOverride: "KUBEBUILDER_ASSETS",
	}
	// Ollama is built CPU only. The module zip lacks llama.cpp's vendored
	// headers: nlohmann and stb come from Debian (test/tools/ollama/deps.sh),
	// miniaudio from our stub in test/tools/ollama/include. CPATH is not part
	// of Go's build cache key, so bump the key's suffix when the headers
	// change.
	Ollama = Tool{
		Name: "ollama", Module: "ollama", Key: "ollama-v0.17.4-cpu-1",
		Package: "github.com/ollama/ollama",
		LDFlags: "-s -w -X=github.com/ollama/ollama/version.Version=0.17.4",
		Env:     []string{"CPATH=${MODULE}/include", "CGO_ENABLED=1"},
	}
	KubeScheduler = Tool{
		Name: "kube-scheduler", Module: "kubernetes", Key: controlPlaneKey,
		Package: "k8s.io/kubernetes/cmd/kube-scheduler", LDFlags: "-s -w", EnvOverride: "KUBEBUILDER_ASSETS",
	}
	// KWOK plays the kubelet for fake nodes, so pods get scheduled, run and
	// (for Jobs) complete without containers.
	KWOK = Tool{
		Name: "kwok", Module: "kwok", Key: "kwok-v0.7.0",
		Package: "sigs.k8s.io/kwok/cmd/kwok", LDFlags: "-s -w",
	}
	// Chainsaw runs the declarative acceptance suite (test/acceptance)
	// against any cluster.
	Chainsaw = Tool{
		Name: "chainsaw", Module: "chainsaw", Key: "chainsaw-v0.2.12",
		Package: "github.com/kyverno/chainsaw",
		LDFlags: "-s -w -X=github.com/kyverno/chainsaw/pkg/version.BuildVersion=v0.2.12",
		// v0.2.12 does not compile with Go 1.26: testing's internal
		// testDeps interface gained ModulePath, which chainsaw's stand-in
		// lacks. One added method, nothing else changed.
		Patch: &Patch{
			Module: "github.com/kyverno/chainsaw", Version: "v0.2.12",
			Files: map[string]string{"pkg/runner/internal/test_deps_modulepath.go": "patch/test_deps_modulepath.go.in"},
		},
	}
)

// Helm lints and renders the portal's chart (portal/chart) in its tests;
// the version string is what `helm version` and the chart's
// kubeVersion checks see.
var Helm = Tool{
	Name: "helm", Module: "helm", Key: "helm-v4.3.1",
	Package: "helm.sh/helm/v4/cmd/helm",
	LDFlags: "-s -w -X=helm.sh/helm/v4/internal/version.version=v4.3.1",
}

// etcd and kube-apiserver share one directory because envtest wants both in
// its BinaryAssetsDirectory.
const controlPlaneKey = "kubernetes-v1.35.4-etcd-v3.6.5"

// All tools by a short name, for the command line.
var All = map[string]Tool{
	"chainsaw":                Chainsaw,
	"crossplane-cli":          CrossplaneCLI,
	"crossplane-core":         CrossplaneCore,
	"etcd":                    Etcd,
	"helm":                    Helm,
	"kube-apiserver":          KubeAPIServer,
	"kube-controller-manager": KubeControllerManager,
	"kube-scheduler":          KubeScheduler,
	"kwok":                    KWOK,
	"ollama":                  Ollama,
}

// Names returns the short names of All, sorted.
func Names() []string {
	n := make([]string, 0, len(All))
	for k := range All {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// CacheDir is where built tools live: $XDG_CACHE_HOME/aichat-workspaces (or
// the platform's user cache directory), overridable with AICHAT_TOOLS_CACHE.
func CacheDir() (string, error) {
	if d := os.Getenv("AICHAT_TOOLS_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the user cache directory (set AICHAT_TOOLS_CACHE): %w", err)
	}
	return filepath.Join(d, "aichat-workspaces"), nil
}

// Dir is the directory the tool's binary is cached in.
func (t Tool) Dir() (string, error) {
	if t.EnvOverride != "" {
		if d := os.Getenv(t.EnvOverride); d != "" {
			if _, err := os.Stat(filepath.Join(d, t.Name)); err == nil {
				return d, nil
			}
		}
	}
	c, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, t.Key), nil
}

// Path returns the path of the tool's binary, building it first when it is
// not cached yet. Build output goes to log (progress for a build that can
// take minutes); concurrent callers wait for one build.
func (t Tool) Path(ctx context.Context, log io.Writer) (string, error) {
	dir, err := t.Dir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, t.Name)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(bin) { // Built by whoever held the lock before us.
		return bin, nil
	}
	src, err := ModuleDir(t.Module)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(log, "toolchain: building %s (%s) into %s; a cold build takes minutes, later runs reuse it\n", t.Name, t.Key, dir)
	start := time.Now()
	tmp := bin + ".tmp"
	args := []string{"build", "-trimpath", "-ldflags", t.LDFlags, "-o", tmp}
	if t.Patch != nil {
		modfile, err := t.Patch.prepare(ctx, src, dir)
		if err != nil {
			return "", fmt.Errorf("cannot patch %s@%s for %s: %w", t.Patch.Module, t.Patch.Version, t.Name, err)
		}
		args = append(args, "-modfile="+modfile)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, t.Package)...)
	cmd.Dir = src
	cmd.Env = os.Environ()
	for _, e := range t.Env {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(e, "${MODULE}", src))
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("cannot build %s from %s: %w", t.Package, src, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "toolchain: built %s in %s\n", t.Name, time.Since(start).Round(time.Second))
	return bin, nil
}

// prepare copies the module into dir/patched-src, adds the files, and
// writes dir/patched-mod/go.mod (the tools module's, plus a replace of the
// module by the copy) and its go.sum; it returns that go.mod's path.
func (p *Patch) prepare(ctx context.Context, toolsModule, dir string) (string, error) {
	orig, err := GoModDir(ctx, p.Module, p.Version)
	if err != nil {
		return "", err
	}
	srcDir := filepath.Join(dir, "patched-src")
	if err := os.RemoveAll(srcDir); err != nil {
		return "", err
	}
	// The module cache is read-only; the copy must be writable to be
	// removed on the next build.
	if err := os.CopyFS(srcDir, os.DirFS(orig)); err != nil {
		return "", err
	}
	if err := filepath.WalkDir(srcDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	}); err != nil {
		return "", err
	}
	for dst, from := range p.Files {
		b, err := os.ReadFile(filepath.Join(toolsModule, from))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(srcDir, dst), b, 0o644); err != nil {
			return "", err
		}
	}
	modDir := filepath.Join(dir, "patched-mod")
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(toolsModule, "go.mod"))
	if err != nil {
		return "", err
	}
	gomod = fmt.Appendf(gomod, "\nreplace %s => %s\n", p.Module, srcDir)
	gosum, err := os.ReadFile(filepath.Join(toolsModule, "go.sum"))
	if err != nil {
		return "", err
	}
	modfile := filepath.Join(modDir, "go.mod")
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return "", err
	}
	return modfile, os.WriteFile(filepath.Join(modDir, "go.sum"), gosum, 0o644)
}

// RepoRoot is the root of this repository, found from this source file so
// that tests in any package and `go run` from any directory agree.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the toolchain package source")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("repository root not found at %s: %w", root, err)
	}
	return root, nil
}

// ModuleDir is the directory of a tools module under test/tools.
func ModuleDir(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "test", "tools", name), nil
}

// GoModDir returns the module cache directory of module@version, downloading
// it when needed. CRDs of other projects are read from there, never copied.
func GoModDir(ctx context.Context, module, version string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go mod download %s@%s: %w: %s", module, version, err, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	// The JSON has a "Dir" field; avoid a struct for one string.
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, `"Dir": "`); ok {
			return strings.TrimSuffix(v, `",`), nil
		}
	}
	return "", fmt.Errorf("go mod download %s@%s printed no Dir", module, version)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
