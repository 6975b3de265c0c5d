package build_test

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/aichatworkspaces/workspaces/package/build"
)

// entry is what a test checks of one file in an image layer.
type entry struct {
	Name    string
	Mode    int64
	Type    byte
	Size    int64
	ModTime time.Time
	UID     int
	GID     int
}

// layerEntries lists the tar entries of each layer of img, in order.
func layerEntries(t *testing.T, img v1.Image) [][]entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var all [][]entry
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var es []entry
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, entry{Name: h.Name, Mode: h.Mode, Type: h.Typeflag, Size: h.Size, ModTime: h.ModTime.UTC(), UID: h.Uid, GID: h.Gid})
		}
		_ = rc.Close()
		all = append(all, es)
	}
	return all
}

// fakeInputs writes small stand-ins for the binaries and the CA bundle, so
// the image assembly is tested without compiling anything.
func fakeInputs(t *testing.T) (binDir, ca string) {
	t.Helper()
	binDir = t.TempDir()
	for _, spec := range build.Images {
		for _, b := range spec.Binaries {
			if err := os.WriteFile(filepath.Join(binDir, b.Name()), []byte("#!binary "+b.Name()), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	ca = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return binDir, ca
}

// imageLabels are the OCI labels an image must carry, spelled out here
// rather than taken from ImageSpec.Labels.
func imageLabels(title, description, version string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       title,
		"org.opencontainers.image.description": description,
		"org.opencontainers.image.source":      "https://github.com/aichatworkspaces/workspaces",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
}

// wantFunctionConfig is the function image's config: Crossplane runs
// /function as the nonroot user, on the gRPC port.
func wantFunctionConfig(version string) v1.Config {
	return v1.Config{
		User:         "65532:65532",
		Entrypoint:   []string{"/function"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"9443/tcp": {}},
		Labels:       imageLabels("function-aichat-workspace", "AIChat Workspaces composition function and model Job program", version),
	}
}

// wantPortalConfig is the portal image's config: `/portal serve` (the
// chart's args) as the chart's user, on all interfaces at the chart's
// port, SQLite (used only without a DSN) under the chart's writable /tmp.
func wantPortalConfig(version string) v1.Config {
	return v1.Config{
		User:         "65532:65532",
		Entrypoint:   []string{"/portal"},
		Cmd:          []string{"serve"},
		Env:          []string{"PORTAL_ADDR=:8080", "PORTAL_SQLITE_PATH=/tmp/portal.db"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       imageLabels("portal", "AIChat Workspaces self-service portal and LLM gateway", version),
	}
}

func TestRuntimeImage(t *testing.T) {
	binDir, ca := fakeInputs(t)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	cases := map[string]struct {
		reason   string
		spec     build.ImageSpec
		version  string
		created  time.Time
		wantBins []string // the binaries layer, in order
	}{
		"FunctionEpochZero": {
			reason:   "Without SOURCE_DATE_EPOCH every timestamp is the Unix epoch.",
			spec:     build.FunctionImage,
			version:  "v0.1.0",
			created:  time.Unix(0, 0),
			wantBins: []string{"function", "model-job", "sre"},
		},
		"FunctionSourceDateEpoch": {
			reason:   "SOURCE_DATE_EPOCH dates the config, the history and every file; the version goes into the label.",
			spec:     build.FunctionImage,
			version:  "v1.2.3-rc.1",
			created:  time.Unix(1700000000, 0),
			wantBins: []string{"function", "model-job", "sre"},
		},
		"PortalSourceDateEpoch": {
			reason:   "The portal's image has its own binary, command, environment and port, dated and labelled the same way.",
			spec:     build.PortalImage,
			version:  "v1.2.3-rc.1",
			created:  time.Unix(1700000000, 0),
			wantBins: []string{"portal"},
		},
	}
	wantConfig := map[string]func(string) v1.Config{
		build.FunctionImageRepository: wantFunctionConfig,
		build.PortalImageRepository:   wantPortalConfig,
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := build.ImageInput{BinDir: binDir, CABundle: ca, Version: tc.version, Created: tc.created, Platform: amd64}
			img, err := build.RuntimeImage(tc.spec, in)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantConfig[tc.spec.Repository](tc.version), cf.Config); diff != "" {
				t.Errorf("%s\nconfig: -want, +got:\n%s", tc.reason, diff)
			}
			created := tc.created.UTC()
			if diff := cmp.Diff([]string{"linux", "amd64", created.String()}, []string{cf.OS, cf.Architecture, cf.Created.UTC().String()}); diff != "" {
				t.Errorf("%s\nos, arch, created: -want, +got:\n%s", tc.reason, diff)
			}
			for i, h := range cf.History {
				if !h.Created.Equal(created) {
					t.Errorf("%s\nhistory[%d] created %s, want %s", tc.reason, i, h.Created, created)
				}
			}

			file := func(name string, mode int64, size int) entry {
				return entry{Name: name, Mode: mode, Type: tar.TypeReg, Size: int64(size), ModTime: created}
			}
			dir := func(name string) entry {
				return entry{Name: name, Mode: 0o755, Type: tar.TypeDir, ModTime: created}
			}
			var bins []entry
			for _, b := range tc.wantBins {
				bins = append(bins, file(b, 0o755, len("#!binary "+b)))
			}
			want := [][]entry{
				{dir("etc/"), dir("etc/ssl/"), dir("etc/ssl/certs/"), file("etc/ssl/certs/ca-certificates.crt", 0o644, len("-----BEGIN CERTIFICATE-----\n"))},
				bins,
			}
			if diff := cmp.Diff(want, layerEntries(t, img)); diff != "" {
				t.Errorf("%s\nlayers: -want, +got:\n%s", tc.reason, diff)
			}

			// Reproducible: the same inputs give the same digest, also
			// after a round trip through the tarball Crossplane reads.
			again, err := build.RuntimeImage(tc.spec, in)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "image.tar")
			if err := build.WriteImage(p, tc.spec.Repository, tc.version, again); err != nil {
				t.Fatal(err)
			}
			loaded, err := tarball.ImageFromPath(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			d1, d2 := digest(t, img), digest(t, loaded)
			if d1 != d2 {
				t.Errorf("%s\nthe same inputs gave two digests: %s and %s", tc.reason, d1, d2)
			}
			in.Created = in.Created.Add(time.Second)
			later, err := build.RuntimeImage(tc.spec, in)
			if err != nil {
				t.Fatal(err)
			}
			if digest(t, later) == d1 {
				t.Errorf("%s\na different creation time gave the same digest %s", tc.reason, d1)
			}
		})
	}
}

func TestRuntimeImageErrors(t *testing.T) {
	binDir, ca := fakeInputs(t)
	cases := map[string]struct {
		reason  string
		spec    build.ImageSpec
		in      build.ImageInput
		wantErr string
	}{
		"NoCABundle": {
			reason:  "A machine without ca-certificates is told which package it needs.",
			spec:    build.FunctionImage,
			in:      build.ImageInput{BinDir: binDir, CABundle: filepath.Join(t.TempDir(), "missing.crt")},
			wantErr: "apt-get install ca-certificates",
		},
		"NoBinaries": {
			reason:  "The image is not assembled without its binaries.",
			spec:    build.FunctionImage,
			in:      build.ImageInput{BinDir: t.TempDir(), CABundle: ca},
			wantErr: "function: no such file",
		},
		"NoPortal": {
			reason:  "The portal's image needs the portal binary.",
			spec:    build.PortalImage,
			in:      build.ImageInput{BinDir: t.TempDir(), CABundle: ca},
			wantErr: "portal: no such file",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := build.RuntimeImage(tc.spec, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s\nerror %v, want one containing %q", tc.reason, err, tc.wantErr)
			}
		})
	}
}

func TestWriteImageRejectsBadTags(t *testing.T) {
	binDir, ca := fakeInputs(t)
	img, err := build.RuntimeImage(build.FunctionImage, build.ImageInput{BinDir: binDir, CABundle: ca, Version: "v0.1.0", Platform: build.Platform})
	if err != nil {
		t.Fatal(err)
	}
	err = build.WriteImage(filepath.Join(t.TempDir(), "x.tar"), build.FunctionImageRepository, "v0.1.0+meta", img)
	if err == nil || !strings.Contains(err.Error(), "not a valid image tag") {
		t.Errorf("a version with build metadata cannot be an image tag: error %v", err)
	}
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
