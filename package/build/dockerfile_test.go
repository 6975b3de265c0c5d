package build_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"

	"github.com/aichatworkspaces/workspaces/package/build"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	Cmd   string   // upper case, e.g. COPY
	Flags []string // leading --flag=value words
	Args  string   // the rest
}

// stage is a FROM (its image, flags and name) and the instructions after
// it.
type stage struct {
	From, Name string
	Flags      []string
	Body       []instruction
}

// parseDockerfile reads the subset of the Dockerfile syntax that our
// Dockerfiles use: comments, line continuations, FROM ... AS name, flags.
func parseDockerfile(src string) ([]stage, error) {
	var (
		stages  []stage
		pending string
	)
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // Comments may also sit between continuation lines.
		}
		if l, ok := strings.CutSuffix(line, `\`); ok {
			pending += strings.TrimSpace(l) + " "
			continue
		}
		line, pending = pending+line, ""
		cmd, rest, _ := strings.Cut(line, " ")
		in := instruction{Cmd: strings.ToUpper(cmd)}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			var f string
			f, rest, _ = strings.Cut(rest, " ")
			in.Flags = append(in.Flags, f)
			rest = strings.TrimSpace(rest)
		}
		in.Args = rest
		if in.Cmd == "FROM" {
			from, name, _ := strings.Cut(in.Args, " AS ")
			stages = append(stages, stage{From: strings.TrimSpace(from), Name: strings.TrimSpace(name), Flags: in.Flags})
			continue
		}
		if len(stages) == 0 {
			return nil, fmt.Errorf("line %d: %s before FROM", n, in.Cmd)
		}
		stages[len(stages)-1].Body = append(stages[len(stages)-1].Body, in)
	}
	if pending != "" {
		return nil, fmt.Errorf("the file ends in a line continuation")
	}
	return stages, sc.Err()
}

// words splits a shell command line on blanks, keeping double-quoted
// strings together (without the quotes).
func words(s string) []string {
	var (
		out    []string
		cur    strings.Builder
		quoted bool
		any    bool
	)
	for _, r := range s {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if any {
				out = append(out, cur.String())
				cur.Reset()
				any = false
			}
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	return out
}

// imageLayout is what the Dockerfile and the offline build must agree on.
type imageLayout struct {
	GoImage      string            // the builder's base image
	GoImageFlags []string          // FROM flags of the builder
	Platform     string            // the builder's TARGETOS/TARGETARCH defaults (without buildx)
	GoBuildEnv   []string          // ENV of the builder
	GoBuild      []string          // go build's flags and packages, without -o
	Base         string            // the final stage's base
	Files        map[string]string // path in the image -> path in the builder
	User         string
	WorkingDir   string
	Env          []string
	ExposedPorts []string
	Entrypoint   []string
	Cmd          []string
	Labels       map[string]string // ${VERSION} expanded to the ARG's default
}

// dockerfileLayout reads an imageLayout from one of our two-stage
// Dockerfiles.
func dockerfileLayout(t *testing.T, stages []stage) imageLayout {
	t.Helper()
	if len(stages) != 2 {
		t.Fatalf("the Dockerfile has %d stages, want a builder and the image", len(stages))
	}
	builder, final := stages[0], stages[1]
	l := imageLayout{GoImage: builder.From, GoImageFlags: builder.Flags, Base: final.From, Files: map[string]string{}, Labels: map[string]string{}}

	var outDir, version, goos, goarch string
	for _, in := range builder.Body {
		switch in.Cmd {
		case "ARG":
			if v, ok := strings.CutPrefix(in.Args, "TARGETOS="); ok {
				goos = v
			}
			if v, ok := strings.CutPrefix(in.Args, "TARGETARCH="); ok {
				goarch = v
			}
		case "ENV":
			l.GoBuildEnv = append(l.GoBuildEnv, words(in.Args)...)
		case "RUN":
			w := words(in.Args)
			i := 0
			for i < len(w) && strings.Contains(w[i], "=") { // GOOS=... GOARCH=... before go
				i++
			}
			if len(w) < i+2 || w[i] != "go" || w[i+1] != "build" {
				continue
			}
			for j := i + 2; j < len(w); j++ {
				if w[j] == "-o" && j+1 < len(w) {
					outDir = w[j+1]
					j++
					continue
				}
				l.GoBuild = append(l.GoBuild, w[j])
			}
		}
	}
	var args = map[string]string{}
	for _, in := range final.Body {
		switch in.Cmd {
		case "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			args[k] = v
		case "LABEL":
			for _, kv := range words(in.Args) {
				k, v, _ := strings.Cut(kv, "=")
				l.Labels[k] = v
			}
		case "COPY":
			if len(in.Flags) != 1 || in.Flags[0] != "--from="+builder.Name {
				t.Errorf("COPY %s: the image gets files only from the builder stage %q", in.Args, builder.Name)
			}
			w := words(in.Args)
			dst := w[len(w)-1]
			for _, src := range w[:len(w)-1] {
				if strings.HasSuffix(dst, "/") {
					l.Files[dst+path.Base(src)] = src
				} else {
					l.Files[dst] = src
				}
			}
		case "USER":
			l.User = in.Args
		case "WORKDIR":
			l.WorkingDir = in.Args
		case "EXPOSE":
			l.ExposedPorts = words(in.Args)
		case "ENV":
			l.Env = append(l.Env, words(in.Args)...)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &l.Entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s is not in exec (JSON) form: %v", in.Args, err)
			}
		case "CMD":
			// The exec form: the shell form would need a /bin/sh the image
			// does not have.
			if err := json.Unmarshal([]byte(in.Args), &l.Cmd); err != nil {
				t.Errorf("CMD %s is not in exec (JSON) form: %v", in.Args, err)
			}
		default:
			t.Errorf("the image stage has a %s the offline build does not know about", in.Cmd)
		}
	}
	l.Platform = goos + "/" + goarch
	version = args["VERSION"]
	for k, v := range l.Labels {
		l.Labels[k] = strings.ReplaceAll(v, "${VERSION}", version)
	}
	// The builder's copy of the binaries is found by where go build put them.
	for dst, src := range l.Files {
		if d, ok := strings.CutPrefix(src, outDir); ok && outDir != "" {
			l.Files[dst] = "<go build -o>/" + d
		}
	}
	// The builder's VERSION is the one stamped; it must default like the
	// image's label.
	for _, in := range builder.Body {
		if in.Cmd == "ARG" && strings.HasPrefix(in.Args, "VERSION=") && in.Args != "VERSION="+version {
			t.Errorf("the stages default VERSION differently: builder %s, image %s", in.Args, version)
		}
	}
	for i, w := range l.GoBuild {
		l.GoBuild[i] = strings.ReplaceAll(w, "${VERSION}", version)
	}
	return l
}

// TestDockerfile checks that each image's Dockerfile, which cannot be
// built here, builds the image the offline build does: the same binaries
// from the same packages with the same flags, the same paths, user,
// environment, entrypoint, command and labels.
func TestDockerfile(t *testing.T) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", goMod, nil)
	if err != nil {
		t.Fatal(err)
	}
	goMinor := strings.Join(strings.SplitN(mf.Go.Version, ".", 3)[:2], ".")

	cases := map[string]struct {
		reason     string
		dockerfile string
		spec       build.ImageSpec
	}{
		"Function": {
			reason:     "The Dockerfile at the root builds the function's image.",
			dockerfile: "Dockerfile",
			spec:       build.FunctionImage,
		},
		"Portal": {
			reason:     "portal/Dockerfile builds the portal's image.",
			dockerfile: "portal/Dockerfile",
			spec:       build.PortalImage,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.spec.Dockerfile != tc.dockerfile {
				t.Errorf("%s\nthe spec names %s as its Dockerfile", tc.reason, tc.spec.Dockerfile)
			}
			want := imageLayout{
				// A floating golang:1.N tag: the newest patch release, never
				// older than go.mod's go line within that minor version.
				GoImage: "golang:" + goMinor,
				// The builder cross-compiles on the build machine's platform.
				GoImageFlags: []string{"--platform=$BUILDPLATFORM"},
				Platform:     build.Platform.String(),
				GoBuildEnv:   build.GoBuildEnv,
				GoBuild:      append(tc.spec.GoBuildFlags(build.DefaultVersion), packages(tc.spec)...),
				Base:         "scratch",
				Files: map[string]string{
					build.CABundlePath: build.HostCABundle,
				},
				User:         build.User,
				WorkingDir:   build.WorkingDir,
				Env:          tc.spec.Env,
				ExposedPorts: []string{tc.spec.ExposedPort},
				Entrypoint:   tc.spec.Entrypoint,
				Cmd:          tc.spec.Cmd,
				Labels:       tc.spec.Labels(build.DefaultVersion),
			}
			for _, b := range tc.spec.Binaries {
				want.Files[b.Path] = "<go build -o>/" + b.Name()
			}
			got := dockerfileLayout(t, dockerfileStages(t, root, tc.dockerfile))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\n%s differs from the offline build's layout (package/build/layout.go): -want, +got:\n%s", tc.reason, tc.dockerfile, diff)
			}
		})
	}
}

func dockerfileStages(t *testing.T, root, dockerfile string) []stage {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(src))
	if err != nil {
		t.Fatalf("%s: %v", dockerfile, err)
	}
	return stages
}

// packages are the Go packages of an image's binaries, in order.
func packages(spec build.ImageSpec) []string {
	var p []string
	for _, b := range spec.Binaries {
		p = append(p, b.Package)
	}
	return p
}

// TestDockerfileCopiesEnoughSource checks that the directories each
// Dockerfile copies into its builder hold every package of this module the
// image's binaries import (with the image's build tags), so `docker build`
// does not fail on a missing package.
func TestDockerfileCopiesEnoughSource(t *testing.T) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range build.Images {
		t.Run(spec.Name(), func(t *testing.T) {
			var copied []string
			for _, in := range dockerfileStages(t, root, spec.Dockerfile)[0].Body {
				if in.Cmd == "COPY" {
					w := words(in.Args)
					copied = append(copied, w[:len(w)-1]...)
				}
			}
			args := []string{"list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}"}
			if len(spec.GoTags) > 0 {
				args = append(args, "-tags="+strings.Join(spec.GoTags, ","))
			}
			cmd := exec.Command("go", append(args, packages(spec)...)...)
			cmd.Dir = root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			dirs := strings.Fields(string(out))
			if len(dirs) < len(spec.Binaries) {
				t.Fatalf("go list found %d packages of this module, fewer than the %d binaries", len(dirs), len(spec.Binaries))
			}
			for _, dir := range dirs {
				rel, err := filepath.Rel(root, dir)
				if err != nil {
					t.Fatal(err)
				}
				rel = filepath.ToSlash(rel) + "/"
				var ok bool
				for _, c := range copied {
					ok = ok || (strings.HasSuffix(c, "/") && strings.HasPrefix(rel, c))
				}
				if !ok {
					t.Errorf("the binaries import %s, which no COPY in the builder stage of %s (%v) brings in", rel, spec.Dockerfile, copied)
				}
			}
			for _, f := range []string{"go.mod", "go.sum"} {
				var ok bool
				for _, c := range copied {
					ok = ok || c == f
				}
				if !ok {
					t.Errorf("the builder stage of %s does not copy %s", spec.Dockerfile, f)
				}
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	cases := map[string]struct {
		reason  string
		src     string
		want    []stage
		wantErr bool
	}{
		"Continuations": {
			reason: "Continued lines join, comments between them are dropped, flags are split off.",
			src:    "FROM a AS b\nRUN x \\\n# note\n  y\nFROM scratch\nCOPY --from=b /x /\n",
			want: []stage{
				{From: "a", Name: "b", Body: []instruction{{Cmd: "RUN", Args: "x y"}}},
				{From: "scratch", Body: []instruction{{Cmd: "COPY", Flags: []string{"--from=b"}, Args: "/x /"}}},
			},
		},
		"NoFrom": {
			reason:  "An instruction before FROM is an error.",
			src:     "USER 1\n",
			wantErr: true,
		},
		"DanglingContinuation": {
			reason:  "A file may not end in a continuation.",
			src:     "FROM a\nRUN x \\\n",
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseDockerfile(tc.src)
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s\nerror %v, want error %t", tc.reason, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
