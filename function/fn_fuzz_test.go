package function

import (
	"context"
	"encoding/json"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// FuzzRunFunction feeds arbitrary specs to RunFunction. Whatever the spec,
// the function neither panics nor returns an error; an invalid spec is one
// Fatal result and leaves the desired state as it came; a valid spec
// composes only well-formed objects in the workspace's namespace, and a
// response that serialises.
func FuzzRunFunction(f *testing.F) {
	for _, s := range []string{
		exampleSpec,
		`{}`,
		oneModelSpec,
		`{"size": "huge"}`,
		`{"models": "llama3.2:1b"}`,
		`{"models": ["-bad"]}`,
		`{"models": ["a", "a"]}`,
		`{"models": ["a"], "assistants": [{"name": "a", "from": "a", "patterns": ["p"]}]}`,
		`{"models": ["llama3.2:1b"], "assistants": [{"name": "x", "from": "llama3.2:1b", "patterns": []}]}`,
		`{"models": ["llama3.2:1b"], "assistants": [{"name": "x", "from": "llama3.2:1b", "patterns": ["p"], "parameters": {"top_k": "x"}}]}`,
		`{"scaleToZero": {"enabled": false, "idleAfter": "0s"}}`,
		`{"scaleToZero": {"idleAfter": "25h"}}`,
		`{"storage": {"models": "1Ti", "data": "99Mi"}}`,
		`{"storage": {"storageClassName": "Fast"}}`,
		`{"pipelines": {"enabled": true}, "scaleToZero": {"enabled": false}, "owner": "zoë@example.com"}`,
		`{"owner": 3}`,
		`null`,
	} {
		f.Add(s)
	}
	nsObserved := mustStructJSON(f, namespaceJSON(testNamespace, "Active"))
	jobObserved := mustStructJSON(f, jobJSON(jobPullLlama, "Complete", ""))
	earlier := mustStructJSON(f, `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "elsewhere"}}`)

	f.Fuzz(func(t *testing.T, spec string) {
		var raw map[string]any
		if err := json.Unmarshal([]byte(spec), &raw); err != nil {
			t.Skip("the API server's schema makes spec an object")
		}
		xr, err := structpb.NewStruct(map[string]any{
			"apiVersion": "aichatworkspaces.io/v1alpha1", "kind": "XAIChatWorkspace",
			"metadata": map[string]any{"name": testXRName, "labels": map[string]any{
				labelClaimName: testClaimName, labelClaimNamespace: testClaimNamespace,
			}},
			"spec": raw,
		})
		if err != nil {
			t.Skip("not representable as a protobuf Struct")
		}
		req := &fnv1.RunFunctionRequest{
			Meta:  &fnv1.RequestMeta{Tag: "fuzz"},
			Input: mustStructJSON(t, `{`+inputHeader+`}`),
			Observed: &fnv1.State{
				Composite: &fnv1.Resource{Resource: xr},
				Resources: map[string]*fnv1.Resource{"namespace": {Resource: nsObserved}, jobPullLlama: {Resource: jobObserved}},
			},
			Desired: &fnv1.State{Resources: map[string]*fnv1.Resource{"from-earlier-step": {Resource: earlier}}},
		}
		before := proto.Clone(req.GetDesired())

		rsp, err := testFunction().RunFunction(context.Background(), req)
		if err != nil {
			t.Fatalf("RunFunction(...): error %v", err)
		}
		if _, err := proto.Marshal(rsp); err != nil {
			t.Fatalf("the response does not serialise: %v", err)
		}

		invalid := false
		if raw != nil {
			var s v1alpha1.WorkspaceSpec
			invalid = runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &s) != nil || validateSpec(withDefaults(s)) != nil
		}
		fatal := fatalResults(rsp)
		if invalid {
			if len(rsp.GetResults()) != 1 || len(fatal) != 1 {
				t.Fatalf("invalid spec %s: want exactly one Fatal result, got %v", spec, rsp.GetResults())
			}
			if diff := cmp.Diff(before, rsp.GetDesired(), protocmp.Transform()); diff != "" {
				t.Fatalf("invalid spec %s: the desired state changed: -want, +got:\n%s", spec, diff)
			}
			return
		}
		if len(fatal) > 0 {
			t.Fatalf("valid spec %s: unexpected Fatal result %v", spec, fatal)
		}
		if _, ok := rsp.GetDesired().GetResources()["from-earlier-step"]; !ok {
			t.Fatal("the resource of an earlier step is gone")
		}
		for name, r := range rsp.GetDesired().GetResources() {
			if name == "from-earlier-step" {
				continue
			}
			m := r.GetResource().AsMap()
			md, _ := m["metadata"].(map[string]any)
			apiVersion, _ := m["apiVersion"].(string)
			kind, _ := m["kind"].(string)
			objName, _ := md["name"].(string)
			ns, _ := md["namespace"].(string)
			if apiVersion == "" || kind == "" || objName == "" {
				t.Fatalf("%s: apiVersion %q, kind %q, name %q", name, apiVersion, kind, objName)
			}
			switch kind {
			case "Namespace":
				if ns != "" || objName != testNamespace {
					t.Fatalf("%s: namespace %q named %q", name, ns, objName)
				}
			case "ReferenceGrant":
				if ns != "keda" {
					t.Fatalf("%s: ReferenceGrant in %q, not the interceptor's namespace", name, ns)
				}
			default:
				if ns != testNamespace {
					t.Fatalf("%s: %s in %q, not %q", name, kind, ns, testNamespace)
				}
			}
			if r.GetReady() == fnv1.Ready_READY_UNSPECIFIED {
				t.Fatalf("%s: readiness unspecified", name)
			}
		}
	})
}

func mustStructJSON(t testing.TB, j string) *structpb.Struct {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(j), &m); err != nil {
		t.Fatal(err)
	}
	return mustStruct(t, m)
}
