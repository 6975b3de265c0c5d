package function

import (
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The builders return typed objects; the response carries protobuf Structs.
// The conversion goes through the apimachinery unstructured converter, which
// honours omitempty the way the API server's JSON does, and then drops the
// nulls and the empty status typed objects carry: a composed resource's
// desired state must only hold fields the function means to own.

func toUnstructured(obj any) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	pruneNulls(m)
	return m, nil
}

func toStruct(obj any) (*structpb.Struct, error) {
	m, err := toUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	// A Namespace's empty spec is noise in the desired state.
	if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
		delete(m, "spec")
	}
	return structpb.NewStruct(m)
}

// fromUnstructured ignores unknown fields: Crossplane adds its own to an
// XR's spec (compositionRef, resourceRefs, crossplane, ...).
func fromUnstructured(m map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
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

func kindAndName(obj any) (string, string) {
	kind, name := "", ""
	if o, ok := obj.(interface{ GetObjectKind() schema.ObjectKind }); ok {
		kind = o.GetObjectKind().GroupVersionKind().Kind
	}
	if o, ok := obj.(metav1.Object); ok {
		name = o.GetName()
		if ns := o.GetNamespace(); ns != "" {
			name = ns + "/" + name
		}
	}
	return kind, name
}
