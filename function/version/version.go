// Package version holds the version the function, model-job and sre binaries
// were built as. The package build (package/build) and the Dockerfile set
// it with -ldflags "-X github.com/aichatworkspaces/workspaces/function/version.Version=vX.Y.Z",
// so `function --version` and `model-job --version` name the image they
// came from.
package version

// Version is "dev" in a plain `go build` or `go run`; a release build
// overrides it. -X only applies to a string variable initialised with a
// constant (or not at all), so keep it that way.
var Version = "dev"
