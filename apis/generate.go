package apis

// The Go types in this directory are the one source of the XRD and of the
// function input CRD. `go generate ./apis/...` (or `make generate`) rewrites
// every generated file; TestGeneratedFilesAreCurrent fails when one is stale.

//go:generate go run ./generate -root ..
