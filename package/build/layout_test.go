package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/function"
	"github.com/aichatworkspaces/workspaces/package/build"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// TestImageReferencesAgree checks that everything naming the image or the
// function package names the same one: the model Jobs run the function's
// image (function.DefaultModelJobImage and the Composition's
// images.modelJob), and the Composition's functionRef is the name
// Crossplane gives the Configuration's dependency on the function.
func TestImageReferencesAgree(t *testing.T) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "package", "configuration", "composition.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var comp struct {
		Spec struct {
			Pipeline []struct {
				FunctionRef struct {
					Name string `json:"name"`
				} `json:"functionRef"`
				Input struct {
					Images struct {
						ModelJob string `json:"modelJob"`
					} `json:"images"`
				} `json:"input"`
			} `json:"pipeline"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &comp); err != nil {
		t.Fatal(err)
	}
	if len(comp.Spec.Pipeline) != 1 {
		t.Fatalf("the Composition has %d steps, want 1", len(comp.Spec.Pipeline))
	}
	step := comp.Spec.Pipeline[0]
	// Crossplane names a dependency after the repository path without the
	// registry host, with dashes for slashes.
	_, repo, _ := strings.Cut(build.FunctionImageRepository, "/")
	image := build.FunctionImageRepository + ":" + build.DefaultVersion
	want := []string{image, image, strings.ReplaceAll(repo, "/", "-")}
	got := []string{function.DefaultModelJobImage, step.Input.Images.ModelJob, step.FunctionRef.Name}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("[DefaultModelJobImage, the Composition's modelJob image, its functionRef]: -want, +got:\n%s", diff)
	}
}

// TestModelJobsRunThePackagedProgram checks the render golden files (kept
// current by test/render from the real function) against the image layout:
// every model Job runs ModelJobPath from our image.
func TestModelJobsRunThePackagedProgram(t *testing.T) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "test", "render", "testdata", "examples-converging", "want.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type container struct {
		Image   string   `json:"image"`
		Command []string `json:"command"`
	}
	var got []container
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var job struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []container `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &job); err != nil {
			t.Fatal(err)
		}
		if job.Kind == "Job" {
			got = append(got, job.Spec.Template.Spec.Containers...)
		}
	}
	if len(got) == 0 {
		t.Fatal("the golden file has no model Job")
	}
	for _, c := range got {
		want := container{Image: build.FunctionImageRepository + ":" + build.DefaultVersion, Command: []string{build.ModelJobPath}}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("a model Job's container: -want, +got:\n%s", diff)
		}
	}
}

// TestPortalChartImage checks that the portal's chart deploys, by default,
// the image the packager builds and tags: values.yaml's image.repository,
// with the tag defaulting to Chart.yaml's appVersion.
func TestPortalChartImage(t *testing.T) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Image struct {
			Repository string `json:"repository"`
			Tag        string `json:"tag"`
		} `json:"image"`
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	for f, v := range map[string]any{"values.yaml": &values, "Chart.yaml": &chart} {
		b, err := os.ReadFile(filepath.Join(root, "portal", "chart", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// The deployment template's `.Values.image.tag | default .Chart.AppVersion`.
	tag := values.Image.Tag
	if tag == "" {
		tag = chart.AppVersion
	}
	want := build.PortalImageRepository + ":" + build.DefaultVersion
	if diff := cmp.Diff(want, values.Image.Repository+":"+tag); diff != "" {
		t.Errorf("the chart's default image (values.yaml image.repository, image.tag or Chart.yaml appVersion): -want, +got:\n%s", diff)
	}
}
