package build

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageInput is what a runtime image is made of besides its ImageSpec.
type ImageInput struct {
	// BinDir holds the spec's Binaries, named by Binary.Name.
	BinDir string
	// CABundle is the PEM bundle copied to CABundlePath.
	CABundle string
	// Version labels the image.
	Version string
	// Created is every timestamp in the image (config, history, file
	// modification times), so the same inputs give the same digest.
	Created  time.Time
	Platform v1.Platform
}

// RuntimeImage assembles the image of spec on an empty base: a layer with
// the CA bundle (changes rarely, so pulls of a new version reuse it) and a
// layer with the binaries. The image keeps Docker media types: the tarball
// format that `crossplane xpkg build --embed-runtime-image-tarball` reads
// records no media types and reloads every image as a Docker v2 image, and
// Crossplane appends its package layer as one.
func RuntimeImage(spec ImageSpec, in ImageInput) (v1.Image, error) {
	created := in.Created.UTC()
	ca, err := os.ReadFile(in.CABundle)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA bundle (on Debian: apt-get install ca-certificates): %w", err)
	}
	caLayer, err := layer(created, []file{
		dir("etc/"), dir("etc/ssl/"), dir("etc/ssl/certs/"),
		{name: strings.TrimPrefix(CABundlePath, "/"), mode: 0o644, data: ca},
	})
	if err != nil {
		return nil, err
	}
	var bins []file
	for _, b := range spec.Binaries {
		data, err := os.ReadFile(filepath.Join(in.BinDir, b.Name()))
		if err != nil {
			return nil, err
		}
		bins = append(bins, file{name: strings.TrimPrefix(b.Path, "/"), mode: 0o755, data: data})
	}
	binLayer, err := layer(created, bins)
	if err != nil {
		return nil, err
	}

	when := v1.Time{Time: created}
	img, err := mutate.Append(empty.Image,
		mutate.Addendum{Layer: caLayer, History: v1.History{Created: when, CreatedBy: "COPY " + filepath.Base(in.CABundle) + " " + CABundlePath, Comment: "CA roots for " + spec.CAUse}},
		mutate.Addendum{Layer: binLayer, History: v1.History{Created: when, CreatedBy: "COPY " + spec.BinaryNames() + " /", Comment: "static Go binaries " + in.Version}},
	)
	if err != nil {
		return nil, fmt.Errorf("cannot append the image's layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = when
	cf.OS, cf.Architecture, cf.Variant = in.Platform.OS, in.Platform.Architecture, in.Platform.Variant
	cf.Config = spec.Config(in.Version)
	return mutate.ConfigFile(img, cf)
}

// WriteImage writes img as an image tarball (`docker save` format, which
// `docker load` and `crossplane xpkg build` read), tagged
// repository:version.
func WriteImage(path, repository, version string, img v1.Image) error {
	tag, err := name.NewTag(repository + ":" + version)
	if err != nil {
		return fmt.Errorf("version %q is not a valid image tag: %w", version, err)
	}
	return tarball.WriteToFile(path, tag, img)
}

// file is one entry of a layer; a name ending in "/" is a directory.
type file struct {
	name string
	mode int64
	data []byte
}

func dir(name string) file { return file{name: name, mode: 0o755} }

// layer tars files, owned by root and dated at created, and gzips the tar
// once (cached) for both the digest and the write.
func layer(created time.Time, files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:    f.name,
			Mode:    f.mode,
			ModTime: created,
		}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching)
}
