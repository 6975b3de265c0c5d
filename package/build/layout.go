// Package build builds the project's release artefacts offline, without a
// Docker engine or a registry: the function's runtime image as an image
// tarball (go-containerregistry, on an empty base), the function package
// with that image embedded, and the Configuration package. The xpkgs are
// built by the real Crossplane CLI (`crossplane xpkg build`), the one
// platform teams use, from the cached toolchain.
//
// The layout of the runtime image lives here as constants; the Dockerfile at
// the repository root must agree with them, and a test checks that it does,
// so a `docker build` and the offline build ship the same image.
package build

import (
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The runtime image: what Crossplane runs for the function and what the
// function's model Jobs run (function.DefaultModelJobImage).
const (
	// ImageRepository is where the image and the function package are
	// published; the Configuration's dependsOn names it.
	ImageRepository = "ghcr.io/aichatworkspaces/function-aichat-workspace"

	// FunctionPath is the entrypoint: the gRPC function server.
	FunctionPath = "/function"
	// ModelJobPath is the program of the model Jobs, which run the same
	// image with this command (function/modeljobs.go).
	ModelJobPath = "/model-job"
	// SREPath is the SRE assistant (sre/), run as its own Deployment from
	// the same image (sre/deploy).
	SREPath = "/sre"
	// CABundlePath is where Go's crypto/x509 looks for roots on Linux;
	// model-job fetches fabric patterns over HTTPS from an empty base.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// HostCABundle is the bundle copied into the image by default: Debian's
	// ca-certificates, as in the golang builder image of the Dockerfile.
	HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

	// User is distroless's "nonroot", numeric so that the kubelet can
	// check runAsNonRoot without an /etc/passwd.
	User = "65532:65532"
	// WorkingDir is the root: the image has nothing else.
	WorkingDir = "/"
	// GRPCPort is the function's default --address.
	GRPCPort = "9443/tcp"

	// Source and License become OCI labels; they match the packages'
	// meta.crossplane.io annotations.
	Source  = "https://github.com/aichatworkspaces/workspaces"
	License = "Apache-2.0"

	// DefaultVersion is the release the repository describes: the function
	// input's default model Job image and the Composition use this tag.
	DefaultVersion = "v0.1.0"
	// VersionVariable is set with -ldflags -X in both binaries.
	VersionVariable = "github.com/aichatworkspaces/workspaces/function/version.Version"
)

// Platform is the one platform we ship. An image index with arm64 would
// need `crossplane xpkg build` once per platform and a push to join them,
// which an offline build cannot do; amd64 is what the clusters run.
var Platform = v1.Platform{OS: "linux", Architecture: "amd64"}

// A Binary is one static program in the image.
type Binary struct {
	// Path in the image.
	Path string
	// Package is the Go main package, relative to the repository root. Its
	// last element is the binary's name, as `go build -o DIR/` names it.
	Package string
}

// Binaries are the programs in the image, in layer order.
var Binaries = []Binary{
	{Path: FunctionPath, Package: "./function/cmd/function"},
	{Path: ModelJobPath, Package: "./function/cmd/model-job"},
	{Path: SREPath, Package: "./sre/cmd/sre"},
}

// Name is the file name `go build -o DIR/` gives the binary.
func (b Binary) Name() string { return path.Base(b.Package) }

// GoBuildEnv is the environment of the binaries' build beyond GOOS/GOARCH:
// static binaries, as the empty base has no libc.
var GoBuildEnv = []string{"CGO_ENABLED=0"}

// GoBuildFlags are the go build flags of the shipped binaries: no local
// paths (reproducible), no symbol tables (smaller), the version stamped.
func GoBuildFlags(version string) []string {
	return []string{"-trimpath", "-ldflags", LDFlags(version)}
}

// LDFlags strips the binaries and stamps version into VersionVariable.
func LDFlags(version string) string {
	return strings.Join([]string{"-s", "-w", "-X", VersionVariable + "=" + version}, " ")
}

// Labels are the image's OCI annotations (as config labels, which is what
// an image tarball carries).
func Labels(version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "function-aichat-workspace",
		"org.opencontainers.image.description": "AIChat Workspaces composition function and model Job program",
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    License,
	}
}
