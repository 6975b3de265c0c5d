package function

import (
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The builders return typed objects; the response carries protobuf Structs.
// toStruct encodes them directly (encode.go) and drops the empty status
// typed objects carry: a composed resource's desired state must only hold
// fields the function means to own.

func toStruct(obj any) (*structpb.Struct, error) {
	s, err := encodeStruct(obj)
	if err != nil {
		return nil, err
	}
	delete(s.Fields, "status")
	// A Namespace's empty spec is noise in the desired state.
	if spec := s.Fields["spec"].GetStructValue(); spec != nil && len(spec.Fields) == 0 {
		delete(s.Fields, "spec")
	}
	return s, nil
}

// fromUnstructured ignores unknown fields: Crossplane adds its own to an
// XR's spec (compositionRef, resourceRefs, crossplane, ...).
func fromUnstructured(m map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
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
