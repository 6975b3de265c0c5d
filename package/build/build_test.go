package build_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/function/modeljob"
	"github.com/aichatworkspaces/workspaces/package/build"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// TestPackages builds the real artefacts once (three static binaries with
// the shipped flags, the function's and the portal's runtime images, both
// xpkgs with the real Crossplane CLI) and checks them the way Crossplane, a
// container runtime and the portal's chart see them: loaded back from the
// files with go-containerregistry.
func TestPackages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := toolchain.CrossplaneCLI.Path(ctx, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	// A version and a date other than the defaults show both reach the
	// artefacts.
	const version = "v0.1.0-test.1"
	created := time.Unix(1700000000, 0).UTC()
	// What the Makefile exports: the build must not let it reach binaries
	// that do not ask for it (see BuildSettings).
	t.Setenv("GOFLAGS", "-tags=nomsgpack")
	var log bytes.Buffer
	start := time.Now()
	r, err := build.Build(ctx, build.Options{
		Root: root, OutDir: t.TempDir(), Version: version, Created: created,
		Crossplane: cli, Log: &log,
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log.Bytes())
	}
	t.Logf("built the packages in %s:\n%s", time.Since(start).Round(100*time.Millisecond), log.Bytes())

	runtimeImg, err := tarball.ImageFromPath(r.FunctionImage, nil)
	if err != nil {
		t.Fatalf("the function's runtime image tarball does not load: %v", err)
	}
	portalImg, err := tarball.ImageFromPath(r.PortalImage, nil)
	if err != nil {
		t.Fatalf("the portal's image tarball does not load: %v", err)
	}
	fnPkg, err := tarball.ImageFromPath(r.Function, nil)
	if err != nil {
		t.Fatalf("the function package does not load: %v", err)
	}
	cfgPkg, err := tarball.ImageFromPath(r.Configuration, nil)
	if err != nil {
		t.Fatalf("the Configuration package does not load: %v", err)
	}

	t.Run("FunctionPackageMeta", func(t *testing.T) {
		objs := packageObjects(t, fnPkg)
		want := []string{
			"meta.pkg.crossplane.io/v1beta1 Function function-aichat-workspace",
			"apiextensions.k8s.io/v1 CustomResourceDefinition inputs.workspace.fn.aichatworkspaces.io",
		}
		if diff := cmp.Diff(want, summarize(objs)); diff != "" {
			t.Errorf("package.yaml holds the Function meta and the input CRD: -want, +got:\n%s", diff)
		}
		wantSpec := metaSpec{Crossplane: &crossplaneConstraint{Version: ">=v2.0.0"}, Capabilities: []string{"composition"}}
		if diff := cmp.Diff(wantSpec, objs[0].Spec); diff != "" {
			t.Errorf("Function meta spec: -want, +got:\n%s", diff)
		}
		if l := layersAnnotated(t, fnPkg, "upbound"); len(l) != 0 {
			t.Errorf("the function package has %d examples layers; render's test data must not ship", len(l))
		}
	})

	t.Run("ConfigurationPackageMeta", func(t *testing.T) {
		objs := packageObjects(t, cfgPkg)
		want := []string{
			"meta.pkg.crossplane.io/v1 Configuration configuration-aichat-workspaces",
			"apiextensions.crossplane.io/v1 CompositeResourceDefinition xaichatworkspaces.aichatworkspaces.io",
			"apiextensions.crossplane.io/v1 Composition aichatworkspaces",
		}
		// The CLI orders objects as it walks the package root.
		if diff := cmp.Diff(want, summarize(objs), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("package.yaml holds the Configuration meta, the XRD and the Composition: -want, +got:\n%s", diff)
		}
		wantSpec := metaSpec{
			Crossplane: &crossplaneConstraint{Version: ">=v2.0.0"},
			DependsOn: []dependency{{
				APIVersion: "pkg.crossplane.io/v1", Kind: "Function",
				Package: build.FunctionImageRepository, Version: ">=" + build.DefaultVersion,
			}},
		}
		if diff := cmp.Diff(wantSpec, objs[0].Spec); diff != "" {
			t.Errorf("Configuration meta spec (it depends on our function): -want, +got:\n%s", diff)
		}
		ex := layersAnnotated(t, cfgPkg, "upbound")
		if len(ex) != 1 {
			t.Fatalf("the Configuration has %d examples layers, want 1 with the claim", len(ex))
		}
		var kinds []string
		for _, o := range yamlObjects(t, readFile(t, ex[0], ".up/examples.yaml")) {
			kinds = append(kinds, o.APIVersion+" "+o.Kind)
		}
		if diff := cmp.Diff([]string{"aichatworkspaces.io/v1alpha1 AIChatWorkspace"}, kinds); diff != "" {
			t.Errorf("the Configuration's examples are examples/claim.yaml: -want, +got:\n%s", diff)
		}
	})

	t.Run("ImageTarballs", func(t *testing.T) {
		// `docker load` tags each image from its tarball's manifest; the
		// file names follow <image name>-runtime-<os>-<arch>-<version>.tar.
		type tarballSummary struct {
			File string
			Tags []string
		}
		var got []tarballSummary
		for _, p := range []string{r.FunctionImage, r.PortalImage} {
			m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var tags []string
			for _, d := range m {
				tags = append(tags, d.RepoTags...)
			}
			got = append(got, tarballSummary{File: filepath.Base(p), Tags: tags})
		}
		want := []tarballSummary{
			{File: "function-aichat-workspace-runtime-linux-amd64-" + version + ".tar", Tags: []string{"ghcr.io/aichatworkspaces/function-aichat-workspace:" + version}},
			{File: "portal-runtime-linux-amd64-" + version + ".tar", Tags: []string{"ghcr.io/aichatworkspaces/portal:" + version}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the image tarballs' names and tags: -want, +got:\n%s", diff)
		}
	})

	t.Run("RuntimeImageConfig", func(t *testing.T) {
		cases := map[string]struct {
			reason string
			img    v1.Image
			want   v1.Config
		}{
			"Function": {
				reason: "Crossplane runs /function as the nonroot user, on the gRPC port.",
				img:    runtimeImg,
				want:   wantFunctionConfig(version),
			},
			"Portal": {
				reason: "The chart runs /portal with args [serve] as 65532 and probes port 8080; SQLite, when used, goes to the chart's /tmp emptyDir.",
				img:    portalImg,
				want:   wantPortalConfig(version),
			},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				cf, err := tc.img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, cf.Config); diff != "" {
					t.Errorf("%s\nruntime image config: -want, +got:\n%s", tc.reason, diff)
				}
				if diff := cmp.Diff([]string{"linux", "amd64", created.String()}, []string{cf.OS, cf.Architecture, cf.Created.UTC().String()}); diff != "" {
					t.Errorf("%s\nos, architecture, created: -want, +got:\n%s", tc.reason, diff)
				}
			})
		}
	})

	t.Run("FunctionPackageEmbedsRuntimeImage", func(t *testing.T) {
		// Crossplane runs the xpkg itself as the function's image: it must
		// be the runtime image plus the package layer, config intact.
		rl, pl := layerDigests(t, runtimeImg), layerDigests(t, fnPkg)
		if len(pl) != len(rl)+1 {
			t.Fatalf("the function package has %d layers, want the runtime image's %d plus the package layer", len(pl), len(rl))
		}
		if diff := cmp.Diff(rl, pl[:len(rl)]); diff != "" {
			t.Errorf("the package's first layers are the runtime image's: -want, +got:\n%s", diff)
		}
		if got := layersAnnotated(t, fnPkg, "base"); len(got) != 1 || digestOf(t, got[0]) != pl[len(pl)-1] {
			t.Errorf("the last layer is the package layer (io.crossplane.xpkg: base)")
		}
		rc, pc := configOf(t, runtimeImg), configOf(t, fnPkg)
		for k := range pc.Labels {
			if strings.HasPrefix(k, "io.crossplane.xpkg:") {
				delete(pc.Labels, k)
			}
		}
		if diff := cmp.Diff(rc, pc); diff != "" {
			t.Errorf("the package keeps the runtime image's config (besides Crossplane's layer labels): -want, +got:\n%s", diff)
		}
	})

	// The files as a container runtime would lay them out: the function's
	// from the package Crossplane pulls, the portal's from its image.
	files := extract(t, fnPkg, t.TempDir())
	portalFiles := extract(t, portalImg, t.TempDir())

	t.Run("Files", func(t *testing.T) {
		// Flattening drops the directories' trailing slashes.
		ca := []entry{
			{Name: "etc", Mode: 0o755, Type: tar.TypeDir},
			{Name: "etc/ssl", Mode: 0o755, Type: tar.TypeDir},
			{Name: "etc/ssl/certs", Mode: 0o755, Type: tar.TypeDir},
			{Name: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Type: tar.TypeReg},
		}
		cases := map[string]struct {
			reason    string
			files     extracted
			want      []entry
			undatedOK string // a file Crossplane adds, dated by the CLI
		}{
			"FunctionPackage": {
				reason: "The function package: the CA bundle, both programs and Crossplane's package.yaml.",
				files:  files,
				want: append(append([]entry{}, ca...),
					entry{Name: "function", Mode: 0o755, Type: tar.TypeReg},
					entry{Name: "model-job", Mode: 0o755, Type: tar.TypeReg},
					entry{Name: "package.yaml", Mode: 0o644, Type: tar.TypeReg},
					entry{Name: "sre", Mode: 0o755, Type: tar.TypeReg}),
				undatedOK: "package.yaml",
			},
			"PortalImage": {
				reason: "The portal's image: the CA bundle and the portal, nothing else.",
				files:  portalFiles,
				want:   append(append([]entry{}, ca...), entry{Name: "portal", Mode: 0o755, Type: tar.TypeReg}),
			},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, tc.files.entries, cmpopts.IgnoreFields(entry{}, "Size", "ModTime"), cmpopts.SortSlices(func(a, b entry) bool { return a.Name < b.Name })); diff != "" {
					t.Errorf("%s\nthe file system: -want, +got:\n%s", tc.reason, diff)
				}
				for _, e := range tc.files.entries {
					if e.Name != tc.undatedOK && !e.ModTime.Equal(created) {
						t.Errorf("%s is dated %s, want SOURCE_DATE_EPOCH %s", e.Name, e.ModTime, created)
					}
				}
			})
		}
	})

	t.Run("CABundle", func(t *testing.T) {
		host, err := os.ReadFile(build.HostCABundle)
		if err != nil {
			t.Fatal(err)
		}
		for name, dir := range map[string]string{"Function": files.dir, "Portal": portalFiles.dir} {
			t.Run(name, func(t *testing.T) {
				got, err := os.ReadFile(filepath.Join(dir, "etc/ssl/certs/ca-certificates.crt"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, host) {
					t.Errorf("the image's CA bundle (%d bytes) differs from %s (%d bytes)", len(got), build.HostCABundle, len(host))
				}
				if !x509.NewCertPool().AppendCertsFromPEM(got) {
					t.Errorf("the image's CA bundle holds no PEM certificate")
				}
			})
		}
	})

	t.Run("StaticBinaries", func(t *testing.T) {
		for _, p := range []string{filepath.Join(files.dir, "function"), filepath.Join(files.dir, "model-job"), filepath.Join(files.dir, "sre"), filepath.Join(portalFiles.dir, "portal")} {
			f, err := elf.Open(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var interp bool
			for _, p := range f.Progs {
				interp = interp || p.Type == elf.PT_INTERP
			}
			got := fmt.Sprintf("%s %s interpreter=%t", f.Class, f.Machine, interp)
			_ = f.Close()
			if diff := cmp.Diff("ELFCLASS64 EM_X86_64 interpreter=false", got); diff != "" {
				t.Errorf("%s is a static linux/amd64 binary (the base has no libc): -want, +got:\n%s", filepath.Base(p), diff)
			}
		}
	})

	t.Run("BuildSettings", func(t *testing.T) {
		// The build settings Go records in each binary: the shipped flags
		// and nothing from the caller's GOFLAGS, so `make package`, this
		// test and the Dockerfiles build the same bytes.
		get := func(p string) map[string]string {
			bi, err := buildinfo.ReadFile(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			m := map[string]string{}
			for _, s := range bi.Settings {
				// Go does not record -ldflags with -trimpath (they may
				// hold paths); BinariesRun checks the stamped version.
				switch s.Key {
				case "-tags", "-trimpath", "CGO_ENABLED", "GOOS", "GOARCH":
					m[s.Key] = s.Value
				}
			}
			return m
		}
		static := map[string]string{"-trimpath": "true", "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"}
		portal := maps.Clone(static)
		// nomsgpack is the portal's own tag.
		portal["-tags"] = "nomsgpack"
		want := map[string]map[string]string{"function": static, "model-job": static, "sre": static, "portal": portal}
		got := map[string]map[string]string{
			"function":  get(filepath.Join(files.dir, "function")),
			"model-job": get(filepath.Join(files.dir, "model-job")),
			"sre":       get(filepath.Join(files.dir, "sre")),
			"portal":    get(filepath.Join(portalFiles.dir, "portal")),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the binaries' build settings (GOFLAGS=%s in this test): -want, +got:\n%s", os.Getenv("GOFLAGS"), diff)
		}
	})

	// The rest runs the binaries from the package on this machine.
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run on linux/amd64 to run the packaged binaries, not %s/%s", runtime.GOOS, runtime.GOARCH)
		}
		t.Skipf("the packaged binaries are linux/amd64; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}

	t.Run("BinariesRun", func(t *testing.T) {
		cases := map[string]struct {
			reason string
			binary string
			args   []string
			want   string
		}{
			"FunctionHelp": {
				reason: "The entrypoint starts and prints its flags.",
				binary: filepath.Join(files.dir, "function"), args: []string{"--help"}, want: "--tls-certs-dir",
			},
			"FunctionVersion": {
				reason: "The version is stamped into the function.",
				binary: filepath.Join(files.dir, "function"), args: []string{"--version"}, want: version,
			},
			"ModelJobHelp": {
				reason: "The model Job program starts and prints its commands.",
				binary: filepath.Join(files.dir, "model-job"), args: []string{"--help"}, want: "pull <model>",
			},
			"ModelJobVersion": {
				reason: "The version is stamped into model-job.",
				binary: filepath.Join(files.dir, "model-job"), args: []string{"--version"}, want: version,
			},
			"SREHelp": {
				reason: "The SRE assistant starts and prints its flags.",
				binary: filepath.Join(files.dir, "sre"), args: []string{"--help"}, want: "-llm-url",
			},
			"SREVersion": {
				reason: "The version is stamped into the SRE assistant.",
				binary: filepath.Join(files.dir, "sre"), args: []string{"--version"}, want: version,
			},
			"PortalHelp": {
				reason: "The portal's entrypoint starts and lists its commands, the chart's serve among them.",
				binary: filepath.Join(portalFiles.dir, "portal"), args: []string{"--help"}, want: "serve",
			},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				cmd := exec.CommandContext(ctx, tc.binary, tc.args...)
				cmd.Env = []string{} // Nothing from the host's environment, as in a container.
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s\n%s %v: %v\n%s", tc.reason, filepath.Base(tc.binary), tc.args, err, out)
				}
				if !strings.Contains(string(out), tc.want) {
					t.Errorf("%s\n%s %v printed no %q:\n%s", tc.reason, filepath.Base(tc.binary), tc.args, tc.want, out)
				}
			})
		}
	})

	t.Run("FunctionServes", func(t *testing.T) {
		// The packaged function answers a RunFunction call over gRPC: an
		// empty request gets our fn.go's fatal result for an XR without a
		// name (the input defaults cover a request without input).
		addr := freeAddr(t)
		cmd := exec.CommandContext(ctx, filepath.Join(files.dir, "function"), "--insecure", "--address="+addr, "--metrics-address=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		rsp, err := fnv1.NewFunctionRunnerServiceClient(conn).RunFunction(callCtx, &fnv1.RunFunctionRequest{}, grpc.WaitForReady(true))
		if err != nil {
			t.Fatalf("RunFunction: %v\nfunction output:\n%s", err, out.Bytes())
		}
		var got []string
		for _, r := range rsp.GetResults() {
			got = append(got, r.GetSeverity().String()+": "+r.GetMessage())
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], "SEVERITY_FATAL: invalid ") || !strings.Contains(got[0], "metadata.name is empty") {
			t.Errorf("RunFunction with an empty request: results %q, want one fatal about the XR's empty name", got)
		}
	})

	t.Run("PortalServes", func(t *testing.T) {
		// The packaged portal, started as the image says (entrypoint, cmd,
		// env) with only the address and the SQLite file moved to this
		// test, answers its probes: /healthz (the chart's liveness and
		// startup probe) and /readyz (the database answers; no cluster
		// outside a pod), then drains and exits 0 on SIGTERM, as a pod
		// stops.
		cfg := configOf(t, portalImg)
		addr := freeAddr(t)
		args := append(append([]string{}, cfg.Entrypoint[1:]...), cfg.Cmd...)
		cmd := exec.CommandContext(ctx, filepath.Join(portalFiles.dir, strings.TrimPrefix(cfg.Entrypoint[0], "/")), args...)
		// Nothing from the host's environment, as in a container; a later
		// entry overrides the image's.
		cmd.Env = append(append([]string{}, cfg.Env...),
			"PORTAL_MODE=dev", "PORTAL_ADDR="+addr,
			"PORTAL_SQLITE_PATH="+filepath.Join(t.TempDir(), "portal.db"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})

		got := map[string]int{}
		for _, path := range []string{"/healthz", "/readyz"} {
			got[path] = waitForStatus(t, ctx, exited, "http://"+addr+path, &out)
		}
		if diff := cmp.Diff(map[string]int{"/healthz": 200, "/readyz": 200}, got); diff != "" {
			t.Errorf("the portal's probes: -want, +got:\n%s\nportal output:\n%s", diff, out.Bytes())
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			if err != nil {
				t.Errorf("the portal stopped on SIGTERM with %v, want exit 0\n%s", err, out.Bytes())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("the portal did not stop within 30s of SIGTERM\n%s", out.Bytes())
		}
	})

	t.Run("ModelJobRuns", func(t *testing.T) {
		// With no Ollama to reach, model-job waits, gives up with its
		// "unreachable" code and still writes the summary the function reads.
		term := filepath.Join(t.TempDir(), "termination-log")
		cmd := exec.CommandContext(ctx, filepath.Join(files.dir, "model-job"), "pull", "llama3.2:1b",
			"--ollama-host=http://"+freeAddr(t), "--wait-timeout=1s", "--termination-log="+term)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != modeljob.ExitUnreachable {
			t.Fatalf("model-job pull without Ollama: %v, want exit code %d\n%s", err, modeljob.ExitUnreachable, out)
		}
		summary, err := os.ReadFile(term)
		if err != nil {
			t.Fatalf("no summary in the termination log: %v\n%s", err, out)
		}
		if !strings.Contains(string(summary), `"llama3.2:1b"`) {
			t.Errorf("the summary does not name the model: %s", summary)
		}
	})
}

func TestBuildRejectsVersions(t *testing.T) {
	cases := map[string]struct {
		reason  string
		version string
	}{
		"NoLeadingV":    {reason: "Crossplane and our tags use a leading v.", version: "0.1.0"},
		"NotSemver":     {reason: "A package version is a semantic version.", version: "latest"},
		"BuildMetadata": {reason: "An image tag cannot carry a +.", version: "v0.1.0+abc"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			_, err := build.Build(context.Background(), build.Options{Root: "/nonexistent", OutDir: out, Version: tc.version})
			if err == nil || !strings.Contains(err.Error(), "is not a semantic version") {
				t.Errorf("%s\nBuild(%q): error %v, want a semantic version error", tc.reason, tc.version, err)
			}
			if left, _ := os.ReadDir(out); len(left) != 0 {
				t.Errorf("%s\nBuild(%q) wrote %d files before rejecting the version", tc.reason, tc.version, len(left))
			}
		})
	}
}

func TestCreatedFromEnv(t *testing.T) {
	cases := map[string]struct {
		reason  string
		env     string
		want    time.Time
		wantErr bool
	}{
		"Unset":    {reason: "Without SOURCE_DATE_EPOCH the image is dated at the Unix epoch.", env: "", want: time.Unix(0, 0).UTC()},
		"Seconds":  {reason: "SOURCE_DATE_EPOCH is seconds since the epoch.", env: "1700000000", want: time.Unix(1700000000, 0).UTC()},
		"Negative": {reason: "A date before the epoch is a mistake.", env: "-1", wantErr: true},
		"NotANum":  {reason: "A date is a number.", env: "yesterday", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tc.env)
			got, err := build.CreatedFromEnv()
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s\nerror %v, want error %t", tc.reason, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// object is the part of a package object the tests read.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec metaSpec `json:"spec"`
}

// metaSpec is the spec of a package meta object (and ignored on others).
type metaSpec struct {
	Crossplane   *crossplaneConstraint `json:"crossplane,omitempty"`
	Capabilities []string              `json:"capabilities,omitempty"`
	DependsOn    []dependency          `json:"dependsOn,omitempty"`
}

type crossplaneConstraint struct {
	Version string `json:"version"`
}

type dependency struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Package    string `json:"package"`
	Version    string `json:"version"`
}

// packageObjects reads package.yaml from the layer Crossplane's package
// manager reads: the one its config labels "base".
func packageObjects(t *testing.T, pkg v1.Image) []object {
	t.Helper()
	l := layersAnnotated(t, pkg, "base")
	if len(l) != 1 {
		t.Fatalf("the package has %d package layers, want 1", len(l))
	}
	objs := yamlObjects(t, readFile(t, l[0], "package.yaml"))
	if len(objs) == 0 {
		t.Fatal("package.yaml is empty")
	}
	return objs
}

func yamlObjects(t *testing.T, b []byte) []object {
	t.Helper()
	var objs []object
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
			continue
		}
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		objs = append(objs, o)
	}
}

func summarize(objs []object) []string {
	s := make([]string, 0, len(objs))
	for _, o := range objs {
		s = append(s, o.APIVersion+" "+o.Kind+" "+o.Metadata.Name)
	}
	return s
}

// layersAnnotated returns the layers whose io.crossplane.xpkg label (the
// xpkg format keeps layer annotations as config labels) is annotation.
func layersAnnotated(t *testing.T, img v1.Image, annotation string) []v1.Layer {
	t.Helper()
	labels := configOf(t, img).Labels
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Layer
	for _, l := range layers {
		if labels["io.crossplane.xpkg:"+digestOf(t, l).String()] == annotation {
			out = append(out, l)
		}
	}
	return out
}

func readFile(t *testing.T, l v1.Layer, name string) []byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s in the layer: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

type extracted struct {
	dir     string
	entries []entry
}

// extract writes the image's flattened file system into dir.
func extract(t *testing.T, img v1.Image, dir string) extracted {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	x := extracted{dir: dir}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return x
		}
		if err != nil {
			t.Fatal(err)
		}
		x.entries = append(x.entries, entry{Name: h.Name, Mode: h.Mode, Type: h.Typeflag, Size: h.Size, ModTime: h.ModTime.UTC(), UID: h.Uid, GID: h.Gid})
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected entry %s of type %c", h.Name, h.Typeflag)
		}
	}
}

func configOf(t *testing.T, img v1.Image) v1.Config {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d := make([]v1.Hash, 0, len(layers))
	for _, l := range layers {
		d = append(d, digestOf(t, l))
	}
	return d
}

func digestOf(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// freeAddr is a local address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// waitForStatus polls url until it answers, the process exits or a minute
// passes, and returns the status code of the first answer.
func waitForStatus(t *testing.T, ctx context.Context, exited chan error, url string, out *bytes.Buffer) int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		rsp, err := client.Do(req)
		if err == nil {
			_ = rsp.Body.Close()
			return rsp.StatusCode
		}
		select {
		case err := <-exited:
			exited <- err // for the caller's cleanup
			t.Fatalf("the portal exited (%v) before answering %s:\n%s", err, url, out.Bytes())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from %s within a minute: %v\n%s", url, err, out.Bytes())
		}
	}
}
