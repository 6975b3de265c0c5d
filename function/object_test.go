package function

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

func TestToStruct(t *testing.T) {
	w := testWorkspace(t, nil, `{}`)
	cases := map[string]struct {
		reason string
		obj    any
		want   map[string]any
	}{
		"Namespace": {
			reason: "A Namespace loses its empty spec and status and the null creationTimestamp.",
			obj: &corev1.Namespace{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: "ns"},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
			},
			want: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "ns"}},
		},
		"EmptyDir": {
			reason: "emptyDir: {} means an empty dir and stays; status goes.",
			obj: &appsv1.Deployment{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				ObjectMeta: metav1.ObjectMeta{Name: "d"},
				Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				}}},
				Status: appsv1.DeploymentStatus{Replicas: 3},
			},
			want: map[string]any{
				"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d"},
				"spec": map[string]any{
					"selector": nil, "strategy": map[string]any{},
					"template": map[string]any{"metadata": map[string]any{}, "spec": map[string]any{
						"containers": nil,
						"volumes":    []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}},
					}},
				},
			},
		},
		"PodSelector": {
			reason: "podSelector: {} selects every pod and stays.",
			obj:    w.networkPolicies()[0],
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := toStruct(tc.obj)
			if err != nil {
				t.Fatalf("%s\ntoStruct(...): %v", tc.reason, err)
			}
			got := s.AsMap()
			if _, ok := got["status"]; ok {
				t.Errorf("%s\ntoStruct(...): status kept", tc.reason)
			}
			if md, _ := got["metadata"].(map[string]any); md != nil {
				if _, ok := md["creationTimestamp"]; ok {
					t.Errorf("%s\ntoStruct(...): creationTimestamp kept", tc.reason)
				}
			}
			if tc.want == nil {
				spec := got["spec"].(map[string]any)
				if diff := cmp.Diff(map[string]any{}, spec["podSelector"]); diff != "" {
					t.Errorf("%s\ntoStruct(...): podSelector: -want, +got:\n%s", tc.reason, diff)
				}
				return
			}
			// nil in want marks a field that must be absent.
			pruneNulls(tc.want)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\ntoStruct(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestToUnstructuredKeepsStatus(t *testing.T) {
	s := v1alpha1.WorkspaceStatus{ModelsReady: "0/0", Models: []v1alpha1.ModelStatus{{Name: "m", Kind: "base", State: "Pending"}}}
	got, err := toUnstructured(&s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"modelsReady": "0/0", "models": []any{map[string]any{"name": "m", "kind": "base", "state": "Pending"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("toUnstructured(status): -want, +got:\n%s", diff)
	}
}

func TestPruneNulls(t *testing.T) {
	m := map[string]any{
		"a": nil,
		"b": map[string]any{"c": nil, "d": 1},
		"e": []any{map[string]any{"f": nil, "g": "x"}, nil, "s"},
		"h": map[string]any{},
	}
	pruneNulls(m)
	want := map[string]any{
		"b": map[string]any{"d": 1},
		"e": []any{map[string]any{"g": "x"}, nil, "s"},
		"h": map[string]any{},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("pruneNulls: -want, +got:\n%s", diff)
	}
}

func TestFromUnstructuredIgnoresUnknownFields(t *testing.T) {
	spec := v1alpha1.WorkspaceSpec{}
	err := fromUnstructured(map[string]any{
		"size": "large", "compositionRef": map[string]any{"name": "x"}, "crossplane": map[string]any{},
	}, &spec)
	if err != nil {
		t.Fatalf("fromUnstructured: %v", err)
	}
	if spec.Size != v1alpha1.SizeLarge {
		t.Errorf("fromUnstructured: size %q", spec.Size)
	}
}

func TestKindAndName(t *testing.T) {
	w := testWorkspace(t, nil, `{}`)
	cases := map[string]struct {
		obj        any
		kind, name string
	}{
		"Namespaced": {w.limitRange(), "LimitRange", testNamespace + "/workspace"},
		"Cluster":    {w.namespaceObject(), "Namespace", testNamespace},
		"Custom":     {w.httpScaledObject(), "HTTPScaledObject", testNamespace + "/open-webui"},
		"NoObject":   {"x", "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			kind, n := kindAndName(tc.obj)
			if kind != tc.kind || n != tc.name {
				t.Errorf("kindAndName(...): want %q %q, got %q %q", tc.kind, tc.name, kind, n)
			}
		})
	}
}
