package function

import (
	"encoding/json"
	"testing"

	fnresource "github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// TestEncodeMatchesUnstructured checks the direct encoder against the
// apimachinery converter (plus dropping nulls) for every object a workspace
// composes, in every mode: the two must give the same JSON.
func TestEncodeMatchesUnstructured(t *testing.T) {
	modes := map[string]struct {
		input v1beta1.Input
		spec  string
	}{
		"ScaleToZeroIngress": {spec: exampleSpec},
		"AlwaysOnPipelines":  {spec: `{"models": ["llama3.2:1b"], "scaleToZero": {"enabled": false}, "pipelines": {"enabled": true}, "storage": {"storageClassName": "fast"}}`},
		"GatewayAPI": {
			input: v1beta1.Input{Routing: v1beta1.Routing{Mode: v1beta1.RoutingGatewayAPI, Gateway: v1beta1.GatewayRouting{Name: "gw", Namespace: "gw-system"}}},
			spec:  exampleSpec,
		},
		"PatternVolume": {
			input: v1beta1.Input{Patterns: v1beta1.Patterns{Source: "/patterns", Volume: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			spec:  exampleSpec,
		},
	}
	for name, m := range modes {
		t.Run(name, func(t *testing.T) {
			p, err := newPlatform(&m.input)
			if err != nil {
				t.Fatal(err)
			}
			xr := map[string]any{}
			if err := jsonUnmarshal(xrJSON(m.spec, ""), &xr); err != nil {
				t.Fatal(err)
			}
			w, err := newWorkspace(xr, "research-x7k2p", map[string]string{labelClaimName: "research", labelClaimNamespace: "team-a"}, p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := testFunction().compose(w, observedAllPulled(t, w), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.objects) < 20 {
				t.Fatalf("want a whole workspace, got %d objects", len(c.objects))
			}
			for _, o := range c.objects {
				want, err := toUnstructured(o.obj)
				if err != nil {
					t.Fatal(err)
				}
				got, err := encodeStruct(o.obj)
				if err != nil {
					t.Fatalf("%s: %v", o.name, err)
				}
				// The old road: the converter's map, then a Struct.
				old, err := structpb.NewStruct(want)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(old.AsMap(), got.AsMap()); diff != "" {
					t.Errorf("%s: encodeStruct differs from the unstructured converter (-want +got):\n%s", o.name, diff)
				}
			}
		})
	}
}

func TestEncodeValues(t *testing.T) {
	type inner struct {
		A string `json:"a,omitempty"`
	}
	type sample struct {
		metav1.TypeMeta `json:",inline"`
		Name            string            `json:"name"`
		Empty           string            `json:"empty,omitempty"`
		Zero            int32             `json:"zero,omitempty"`
		KeptZero        int32             `json:"keptZero"`
		Nil             *inner            `json:"nil,omitempty"`
		NilNoOmit       *inner            `json:"nilNoOmit"`
		EmptyStruct     inner             `json:"emptyStruct"`
		Bytes           []byte            `json:"bytes"`
		Map             map[string]string `json:"map,omitempty"`
		Quantity        resource.Quantity `json:"quantity"`
		Port            intstr.IntOrString
		Time            metav1.Time `json:"time,omitempty"`
		Skipped         string      `json:"-"`
		unexported      string
	}
	got, err := encodeStruct(&sample{
		TypeMeta: metav1.TypeMeta{Kind: "K"}, Name: "n", Bytes: []byte("hi"),
		Quantity: resource.MustParse("1536Mi"), Port: intstr.FromString("http"), Skipped: "x", unexported: "y",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kind": "K", "name": "n", "keptZero": float64(0), "emptyStruct": map[string]any{},
		"bytes": "aGk=", "quantity": "1536Mi", "Port": "http",
	}
	if diff := cmp.Diff(want, got.AsMap()); diff != "" {
		t.Errorf("encodeStruct (-want +got):\n%s", diff)
	}
	if _, err := encodeStruct("not an object"); err == nil {
		t.Error("encodeStruct of a string: want an error, got none")
	}
}

func jsonUnmarshal(s string, into any) error { return json.Unmarshal([]byte(s), into) }

// observedAllPulled observes an Active namespace and a complete pull Job
// for every base model, so that every assistant's Job is composed too.
func observedAllPulled(t *testing.T, w *workspace) map[fnresource.Name]fnresource.ObservedComposed {
	t.Helper()
	obs := map[fnresource.Name]fnresource.ObservedComposed{}
	add := func(name string, obj map[string]any) {
		obs[fnresource.Name(name)] = fnresource.ObservedComposed{Resource: &composed.Unstructured{Unstructured: unstructured.Unstructured{Object: obj}}}
	}
	add("namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "status": map[string]any{"phase": "Active"}})
	for _, j := range w.jobs() {
		if j.kind == v1alpha1.ModelKindBase {
			add(j.name, map[string]any{"apiVersion": "batch/v1", "kind": "Job", "status": map[string]any{
				"conditions": []any{map[string]any{"type": "Complete", "status": "True"}},
			}})
		}
	}
	return obs
}

// toUnstructured is the road the function took before encode.go: the
// apimachinery converter, then dropping nulls. The tests keep it as the
// reference the direct encoder must agree with.
func toUnstructured(obj any) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	pruneNulls(m)
	return m, nil
}

// pruneNulls removes null values (e.g. a zero creationTimestamp) at any
// depth. Empty objects stay: `emptyDir: {}` and `podSelector: {}` mean
// something.
func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(t)
		case []any:
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					pruneNulls(em)
				}
			}
		}
	}
}
