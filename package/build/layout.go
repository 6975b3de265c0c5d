// Package build builds the project's release artefacts offline, without a
// Docker engine or a registry: the runtime images of the function and of
// the portal as image tarballs (go-containerregistry, on an empty base), the
// function package with the function's image embedded, and the
// Configuration package. The xpkgs are built by the real Crossplane CLI
// (`crossplane xpkg build`), the one platform teams use, from the cached
// toolchain.
//
// The layouts of the runtime images live here; each image's Dockerfile must
// agree with its layout, and a test checks that it does, so a `docker build`
// and the offline build ship the same images.
package build

import (
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// What both images share.
const (
	// CABundlePath is where Go's crypto/x509 looks for roots on Linux; both
	// programs make HTTPS calls from an empty base.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// HostCABundle is the bundle copied into the images by default: Debian's
	// ca-certificates, as in the golang builder image of the Dockerfiles.
	HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

	// User is distroless's "nonroot", numeric so that the kubelet can
	// check runAsNonRoot without an /etc/passwd; the portal's chart runs as
	// the same user.
	User = "65532:65532"
	// WorkingDir is the root: the images have nothing else.
	WorkingDir = "/"

	// Source and License become OCI labels; they match the packages'
	// meta.crossplane.io annotations.
	Source  = "https://github.com/aichatworkspaces/workspaces"
	License = "Apache-2.0"

	// DefaultVersion is the release the repository describes: the function
	// input's default model Job image, the Composition and the portal
	// chart's appVersion use this tag.
	DefaultVersion = "v0.1.0"
)

// The function's runtime image: what Crossplane runs for the function and
// what the function's model Jobs run (function.DefaultModelJobImage).
const (
	// FunctionImageRepository is where the image and the function package
	// are published; the Configuration's dependsOn names it.
	FunctionImageRepository = "ghcr.io/aichatworkspaces/function-aichat-workspace"
	// FunctionPath is the entrypoint: the gRPC function server.
	FunctionPath = "/function"
	// ModelJobPath is the program of the model Jobs, which run the same
	// image with this command (function/modeljobs.go).
	ModelJobPath = "/model-job"
	// SREPath is the SRE assistant (sre/), run from the same image as its
	// own Deployment (sre/deploy).
	SREPath = "/sre"
	// GRPCPort is the function's default --address.
	GRPCPort = "9443/tcp"
	// VersionVariable is set with -ldflags -X in both of the function's
	// binaries.
	VersionVariable = "github.com/aichatworkspaces/workspaces/function/version.Version"
)

// The portal's runtime image, which portal/chart deploys.
const (
	// PortalImageRepository is the chart's default image.repository (its
	// tag defaults to the chart's appVersion, DefaultVersion).
	PortalImageRepository = "ghcr.io/aichatworkspaces/portal"
	// PortalPath is the entrypoint; the chart passes only args.
	PortalPath = "/portal"
	// PortalPort is the port of PortalAddr, the chart's containerPort.
	PortalPort = "8080/tcp"
	// PortalAddr listens on every interface: the portal's own default,
	// 127.0.0.1:8080, is right on a laptop and unreachable in a container.
	PortalAddr = ":8080"
	// PortalSQLitePath is under /tmp, the one writable place of the chart's
	// read-only pod (an emptyDir); the empty base has no writable
	// directory. The chart always sets a MySQL DSN: only `docker run`
	// without one uses SQLite, with `--tmpfs /tmp` or a volume there.
	PortalSQLitePath = "/tmp/portal.db"
)

// Platform is the one platform we ship. An image index with arm64 would
// need `crossplane xpkg build` once per platform and a push to join them,
// which an offline build cannot do; amd64 is what the clusters run.
var Platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// A Binary is one static program in an image.
type Binary struct {
	// Path in the image.
	Path string
	// Package is the Go main package, relative to the repository root. Its
	// last element is the binary's name, as `go build -o DIR/` names it.
	Package string
}

// Name is the file name `go build -o DIR/` gives the binary.
func (b Binary) Name() string { return path.Base(b.Package) }

// An ImageSpec is the layout of one runtime image: an empty base, the CA
// bundle, static Go binaries, a non-root user. The offline build assembles
// it (RuntimeImage) and its Dockerfile describes the same image.
type ImageSpec struct {
	// Repository names the image; its last element names the tarball.
	Repository string
	// Description is the OCI description label.
	Description string
	// Dockerfile builds the same image with Docker, relative to the
	// repository root (which is its build context).
	Dockerfile string
	// Binaries are the programs, in layer order; one `go build` builds them.
	Binaries []Binary
	// GoTags are the build tags of the binaries.
	GoTags []string
	// VersionVariable is a string variable stamped with the version, if the
	// programs have one.
	VersionVariable string
	// CAUse says which calls need the CA bundle (the layer's history).
	CAUse       string
	Entrypoint  []string
	Cmd         []string
	Env         []string
	ExposedPort string
}

// FunctionImage is the function's runtime image.
var FunctionImage = ImageSpec{
	Repository:  FunctionImageRepository,
	Description: "AIChat Workspaces composition function and model Job program",
	Dockerfile:  "Dockerfile",
	Binaries: []Binary{
		{Path: FunctionPath, Package: "./function/cmd/function"},
		{Path: ModelJobPath, Package: "./function/cmd/model-job"},
		{Path: SREPath, Package: "./sre/cmd/sre"},
	},
	VersionVariable: VersionVariable,
	CAUse:           "model-job's HTTPS pattern source",
	Entrypoint:      []string{FunctionPath},
	ExposedPort:     GRPCPort,
}

// PortalImage is the portal's runtime image.
var PortalImage = ImageSpec{
	Repository:  PortalImageRepository,
	Description: "AIChat Workspaces self-service portal and LLM gateway",
	Dockerfile:  "portal/Dockerfile",
	Binaries:    []Binary{{Path: PortalPath, Package: "./portal/cmd/portal"}},
	// gin's msgpack codec is dead weight for a JSON API; the Makefile
	// builds everything with this tag, the image must not depend on it.
	GoTags:     []string{"nomsgpack"},
	CAUse:      "the portal's HTTPS pattern source and the kube-apiserver",
	Entrypoint: []string{PortalPath},
	// The chart's args, so `docker run IMAGE` starts what the chart does.
	Cmd:         []string{"serve"},
	Env:         []string{"PORTAL_ADDR=" + PortalAddr, "PORTAL_SQLITE_PATH=" + PortalSQLitePath},
	ExposedPort: PortalPort,
}

// Images are the runtime images `make package` builds, in build order.
var Images = []ImageSpec{FunctionImage, PortalImage}

// Name is the repository's last element: the image's title label and the
// first part of its tarball's name.
func (s ImageSpec) Name() string { return path.Base(s.Repository) }

// BinaryNames are the file names of the binaries, space separated.
func (s ImageSpec) BinaryNames() string {
	n := make([]string, 0, len(s.Binaries))
	for _, b := range s.Binaries {
		n = append(n, b.Name())
	}
	return strings.Join(n, " ")
}

// GoBuildEnv is the environment of the binaries' build beyond GOOS/GOARCH:
// static binaries, as the empty base has no libc.
var GoBuildEnv = []string{"CGO_ENABLED=0"}

// GoBuildFlags are the go build flags of the image's binaries: no local
// paths (reproducible), the build tags, no symbol tables (smaller), the
// version stamped.
func (s ImageSpec) GoBuildFlags(version string) []string {
	f := []string{"-trimpath"}
	if len(s.GoTags) > 0 {
		f = append(f, "-tags="+strings.Join(s.GoTags, ","))
	}
	return append(f, "-ldflags", s.LDFlags(version))
}

// LDFlags strips the binaries and stamps version into VersionVariable.
func (s ImageSpec) LDFlags(version string) string {
	f := []string{"-s", "-w"}
	if s.VersionVariable != "" {
		f = append(f, "-X", s.VersionVariable+"="+version)
	}
	return strings.Join(f, " ")
}

// Labels are the image's OCI annotations (as config labels, which is what
// an image tarball carries).
func (s ImageSpec) Labels(version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       s.Name(),
		"org.opencontainers.image.description": s.Description,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    License,
	}
}

// Config is the image's runtime configuration.
func (s ImageSpec) Config(version string) v1.Config {
	return v1.Config{
		User:         User,
		Entrypoint:   s.Entrypoint,
		Cmd:          s.Cmd,
		Env:          s.Env,
		WorkingDir:   WorkingDir,
		ExposedPorts: map[string]struct{}{s.ExposedPort: {}},
		Labels:       s.Labels(version),
	}
}
