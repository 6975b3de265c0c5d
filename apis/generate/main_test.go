package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGeneratedFilesAreCurrent regenerates every file into a temporary
// directory and compares it with the committed one: a change to the Go
// types (or the Composition) without `make generate` fails here.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := generate(root, out); err != nil {
		t.Fatalf("generate: %v", err)
	}
	for _, f := range Files() {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatalf("generator did not write %s: %v", f, err)
		}
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatalf("%s is missing: run make generate", f)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s is stale: run make generate (-want +got):\n%s", f, diff)
		}
	}
}
