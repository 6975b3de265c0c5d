package function

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	"github.com/aichatworkspaces/workspaces/apis/input/v1beta1"
	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

// The example workspace of examples/xr.yaml: its XR name, claim and the
// namespace and Job names the function derives from them (examples/
// observed.yaml spells the same names).
const (
	testXRName         = "research-x7k2p"
	testClaimName      = "research"
	testClaimNamespace = "team-a"
	testID             = "team-a-research-8e13b0de"
	testNamespace      = "aichat-" + testID

	jobPullLlama  = "pull-llama3-2-1b-5c9d3c15c3"
	jobPullQwen   = "pull-qwen2-5-coder-1-5b-8479f6c484"
	jobSummarizer = "create-summarizer-77fdb64abf"
	jobReviewer   = "create-reviewer-70cb3cfe55"
)

// exampleSpec is the spec of examples/xr.yaml.
const exampleSpec = `{
	"owner": "ada@example.com",
	"size": "small",
	"models": ["llama3.2:1b", "qwen2.5-coder:1.5b"],
	"assistants": [
		{"name": "summarizer", "from": "llama3.2:1b", "patterns": ["extract_wisdom", "summarize"],
		 "variables": {"audience": "engineers"}, "parameters": {"temperature": "0.2", "num_ctx": "8192"}},
		{"name": "reviewer", "from": "qwen2.5-coder:1.5b", "patterns": ["review_code"]}
	],
	"scaleToZero": {"enabled": true, "idleAfter": "30m"},
	"storage": {"models": "20Gi", "data": "2Gi"}
}`

// oneModelSpec has one base model and nothing else, for tests about a
// single model's transitions.
const oneModelSpec = `{"models": ["llama3.2:1b"]}`

const inputHeader = `"apiVersion": "workspace.fn.aichatworkspaces.io/v1beta1", "kind": "Input"`

// xrJSON is an XR of the example claim with the given spec and status
// (status may be empty).
func xrJSON(spec, status string) string {
	s := ""
	if status != "" {
		s = `, "status": ` + status
	}
	return fmt.Sprintf(`{
		"apiVersion": "aichatworkspaces.io/v1alpha1",
		"kind": "XAIChatWorkspace",
		"metadata": {"name": %q, "labels": {"crossplane.io/claim-name": %q, "crossplane.io/claim-namespace": %q}},
		"spec": %s%s
	}`, testXRName, testClaimName, testClaimNamespace, spec, s)
}

type reqOption func(*fnv1.RunFunctionRequest)

// newRequest is a request for the XR with an empty input (all defaults).
func newRequest(xr string, opts ...reqOption) *fnv1.RunFunctionRequest {
	r := &fnv1.RunFunctionRequest{
		Meta:     &fnv1.RequestMeta{Tag: "test"},
		Input:    resource.MustStructJSON(`{` + inputHeader + `}`),
		Observed: &fnv1.State{Composite: &fnv1.Resource{Resource: resource.MustStructJSON(xr)}},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// withInput sets the input; fields is JSON without braces.
func withInput(fields string) reqOption {
	return func(r *fnv1.RunFunctionRequest) {
		r.Input = resource.MustStructJSON(`{` + inputHeader + `, ` + fields + `}`)
	}
}

func withObserved(name, obj string) reqOption {
	return func(r *fnv1.RunFunctionRequest) {
		if r.Observed.Resources == nil {
			r.Observed.Resources = map[string]*fnv1.Resource{}
		}
		r.Observed.Resources[name] = &fnv1.Resource{Resource: resource.MustStructJSON(obj)}
	}
}

func withDesired(name, obj string) reqOption {
	return func(r *fnv1.RunFunctionRequest) {
		if r.Desired == nil {
			r.Desired = &fnv1.State{}
		}
		if r.Desired.Resources == nil {
			r.Desired.Resources = map[string]*fnv1.Resource{}
		}
		r.Desired.Resources[name] = &fnv1.Resource{Resource: resource.MustStructJSON(obj)}
	}
}

func withPods(pods ...string) reqOption {
	return func(r *fnv1.RunFunctionRequest) {
		items := make([]*fnv1.Resource, 0, len(pods))
		for _, p := range pods {
			items = append(items, &fnv1.Resource{Resource: resource.MustStructJSON(p)})
		}
		if r.RequiredResources == nil {
			r.RequiredResources = map[string]*fnv1.Resources{}
		}
		r.RequiredResources[requiredPods] = &fnv1.Resources{Items: items}
	}
}

// withActiveNamespace observes the workspace namespace as Active.
func withActiveNamespace() reqOption {
	return withObserved("namespace", namespaceJSON(testNamespace, "Active"))
}

func namespaceJSON(name, phase string) string {
	return fmt.Sprintf(`{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": %q}, "status": {"phase": %q}}`, name, phase)
}

// jobJSON is an observed Job: state is Complete, Failed, active or pending.
func jobJSON(name, state, message string) string {
	status := `{}`
	switch state {
	case "Complete", "Failed":
		status = fmt.Sprintf(`{"conditions": [{"type": %q, "status": "True", "message": %q}]}`, state, message)
	case "active":
		status = `{"active": 1}`
	}
	return fmt.Sprintf(`{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": %q, "namespace": %q}, "status": %s}`, name, testNamespace, status)
}

func withJob(name, state string) reqOption {
	return withObserved(name, jobJSON(name, state, ""))
}

// constReader returns the same byte forever: a deterministic "random".
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func testFunction() *Function {
	return NewWithRandom(logging.NewNopLogger(), constReader(7))
}

func run(t testing.TB, req *fnv1.RunFunctionRequest) *fnv1.RunFunctionResponse {
	t.Helper()
	rsp, err := testFunction().RunFunction(context.Background(), req)
	if err != nil {
		t.Fatalf("RunFunction(...): unexpected error: %v", err)
	}
	return rsp
}

func desiredKeys(rsp *fnv1.RunFunctionResponse) []string {
	keys := make([]string, 0, len(rsp.GetDesired().GetResources()))
	for k := range rsp.GetDesired().GetResources() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func desiredMap(t testing.TB, rsp *fnv1.RunFunctionResponse, name string) map[string]any {
	t.Helper()
	r, ok := rsp.GetDesired().GetResources()[name]
	if !ok {
		t.Fatalf("no desired resource %q; have %v", name, desiredKeys(rsp))
	}
	return r.GetResource().AsMap()
}

func xrStatus(t testing.TB, rsp *fnv1.RunFunctionResponse) v1alpha1.WorkspaceStatus {
	t.Helper()
	m, _ := rsp.GetDesired().GetComposite().GetResource().AsMap()["status"].(map[string]any)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := v1alpha1.WorkspaceStatus{}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func fatalResults(rsp *fnv1.RunFunctionResponse) []*fnv1.Result {
	var out []*fnv1.Result
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			out = append(out, r)
		}
	}
	return out
}

// observeReady returns what the cluster would hold once every desired
// resource exists and is ready: namespaces Active, workloads rolled out,
// Jobs complete.
func observeReady(t testing.TB, desired map[string]*fnv1.Resource) map[string]*fnv1.Resource {
	t.Helper()
	out := make(map[string]*fnv1.Resource, len(desired))
	for name, r := range desired {
		m := r.GetResource().AsMap()
		md, _ := m["metadata"].(map[string]any)
		switch m["kind"] {
		case "Namespace":
			m["status"] = map[string]any{"phase": "Active"}
		case "Deployment", "StatefulSet":
			md["generation"] = 1
			m["status"] = map[string]any{"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1}
		case "Job":
			m["status"] = map[string]any{"succeeded": 1, "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
		case "Secret":
			// The API server returns data; the desired Secret carries it
			// base64 encoded already.
		}
		s, err := structpb.NewStruct(m)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &fnv1.Resource{Resource: s}
	}
	return out
}

// converge calls the function, observes everything it asks for as ready and
// calls it again, until the desired set stops growing. It returns the last
// request and response.
func converge(t testing.TB, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionRequest, *fnv1.RunFunctionResponse) {
	t.Helper()
	var rsp *fnv1.RunFunctionResponse
	prev := -1
	for range 10 {
		rsp = run(t, proto.Clone(req).(*fnv1.RunFunctionRequest))
		if len(fatalResults(rsp)) > 0 {
			t.Fatalf("fatal result while converging: %v", rsp.GetResults())
		}
		n := len(rsp.GetDesired().GetResources())
		req.Observed.Resources = observeReady(t, rsp.GetDesired().GetResources())
		if n == prev {
			return req, rsp
		}
		prev = n
	}
	t.Fatal("the workspace did not converge in 10 calls")
	return nil, nil
}

func TestRunFunctionFatal(t *testing.T) {
	type want struct {
		// field must appear in the single Fatal result's message.
		field string
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   want
	}{
		"SpecNotObject": {
			reason: "An XR whose spec is not an object is a fatal error naming spec, not a default workspace.",
			req:    newRequest(`{"apiVersion": "aichatworkspaces.io/v1alpha1", "kind": "XAIChatWorkspace", "metadata": {"name": "x"}, "spec": "oops"}`),
			want:   want{field: "spec: must be an object"},
		},
		"InputDomain": {
			reason: "A domain that is no DNS name is a fatal error naming input.domain.",
			req:    newRequest(xrJSON(exampleSpec, ""), withInput(`"domain": "Not_A_Domain"`), withActiveNamespace()),
			want:   want{field: "input.domain"},
		},
		"InputGatewayMissing": {
			reason: "GatewayAPI routing without a gateway names input.routing.gateway.",
			req:    newRequest(xrJSON(exampleSpec, ""), withInput(`"routing": {"mode": "GatewayAPI"}`)),
			want:   want{field: "input.routing.gateway.name"},
		},
		"InputSizes": {
			reason: "A size profile whose requests exceed its limits names the size and container.",
			req: newRequest(xrJSON(exampleSpec, ""), withInput(`"sizes": {"small": {"ollama":
				{"requests": {"cpu": "8", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}}`)),
			want: want{field: "input.sizes.small.ollama"},
		},
		"InputUnknownField": {
			reason: "An input with a field the schema does not know cannot be read.",
			req:    newRequest(xrJSON(exampleSpec, ""), withInput(`"domian": "example.com"`)),
			want:   want{field: "cannot read the function input"},
		},
		"SpecBadModel": {
			reason: "A model name Ollama would not accept names spec.models[i].",
			req:    newRequest(xrJSON(`{"models": ["llama3.2:1b", "-bad"]}`, ""), withActiveNamespace()),
			want:   want{field: "spec.models[1]"},
		},
		"SpecBadSize": {
			reason: "An unknown size names spec.size.",
			req:    newRequest(xrJSON(`{"size": "huge"}`, "")),
			want:   want{field: "spec.size"},
		},
		"SpecWrongType": {
			reason: "A spec that does not decode is a fatal error about the spec.",
			req:    newRequest(xrJSON(`{"models": "llama3.2:1b"}`, "")),
			want:   want{field: "spec"},
		},
		"SpecAssistant": {
			reason: "An assistant built from an unlisted model names spec.assistants[i].from.",
			req:    newRequest(xrJSON(`{"models": ["a"], "assistants": [{"name": "x", "from": "b", "patterns": ["p"]}]}`, "")),
			want:   want{field: "spec.assistants[0].from"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := proto.Clone(tc.req.GetDesired())
			rsp := run(t, tc.req)
			if len(rsp.GetResults()) != 1 || rsp.GetResults()[0].GetSeverity() != fnv1.Severity_SEVERITY_FATAL {
				t.Fatalf("%s\nRunFunction(...): want exactly one Fatal result, got %v", tc.reason, rsp.GetResults())
			}
			if msg := rsp.GetResults()[0].GetMessage(); !strings.Contains(msg, tc.want.field) {
				t.Errorf("%s\nRunFunction(...): Fatal message %q does not name %q", tc.reason, msg, tc.want.field)
			}
			if diff := cmp.Diff(before, rsp.GetDesired(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nRunFunction(...): desired state changed on a fatal error: -want, +got:\n%s", tc.reason, diff)
			}
			if rsp.GetRequirements() != nil {
				t.Errorf("%s\nRunFunction(...): requirements on a fatal error: %v", tc.reason, rsp.GetRequirements())
			}
		})
	}
}

func TestRunFunctionNamespaceFirst(t *testing.T) {
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
	}{
		"NotObserved": {
			reason: "Before the namespace exists only the namespace is desired.",
			req:    newRequest(xrJSON(exampleSpec, "")),
		},
		"Terminating": {
			reason: "A terminating namespace is not ready: nothing is composed inside it.",
			req:    newRequest(xrJSON(exampleSpec, ""), withObserved("namespace", namespaceJSON(testNamespace, "Terminating"))),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, tc.req)
			if diff := cmp.Diff([]string{"namespace"}, desiredKeys(rsp)); diff != "" {
				t.Errorf("%s\ndesired resources: -want, +got:\n%s", tc.reason, diff)
			}
			if rsp.GetRequirements() != nil {
				t.Errorf("%s\nrequirements before the namespace is ready: %v", tc.reason, rsp.GetRequirements())
			}
			ns := desiredMap(t, rsp, "namespace")
			if got := ns["metadata"].(map[string]any)["name"]; got != testNamespace {
				t.Errorf("%s\nnamespace name: want %q, got %q", tc.reason, testNamespace, got)
			}
			if got := rsp.GetDesired().GetResources()["namespace"].GetReady(); got != fnv1.Ready_READY_FALSE {
				t.Errorf("%s\nnamespace ready: want READY_FALSE, got %v", tc.reason, got)
			}
			s := xrStatus(t, rsp)
			for _, m := range s.Models {
				if m.State != v1alpha1.ModelPending {
					t.Errorf("%s\nmodel %s: want Pending, got %s", tc.reason, m.Name, m.State)
				}
			}
			if len(s.Models) != 4 {
				t.Errorf("%s\nwant 4 models in status, got %d", tc.reason, len(s.Models))
			}
			if diff := cmp.Diff(durationpb.New(15*time.Second), rsp.GetMeta().GetTtl(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nTTL: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// The resources every workspace has once its namespace is ready.
var commonKeys = []string{
	"namespace", "secret", "resource-quota", "limit-range",
	"sa-ollama", "sa-open-webui", "sa-model-job",
	"ollama", "ollama-service", "open-webui-data", "open-webui", "open-webui-service",
	"network-policy-default-deny", "network-policy-allow-dns", "network-policy-ollama",
	"network-policy-open-webui", "network-policy-model-job",
	jobPullLlama, jobPullQwen,
}

func keys(extra ...string) []string {
	k := slices.Concat(commonKeys, extra)
	slices.Sort(k)
	return k
}

func TestRunFunctionComposesWorkspace(t *testing.T) {
	noSTZ := strings.Replace(exampleSpec, `"enabled": true`, `"enabled": false`, 1)
	withPipelines := strings.Replace(exampleSpec, `"storage"`, `"pipelines": {"enabled": true}, "storage"`, 1)
	gateway := withInput(`"routing": {"mode": "GatewayAPI", "gateway": {"name": "gw", "namespace": "gateways"}}`)

	type want struct {
		keys     []string
		replicas bool // spec.replicas is 1 on the workloads (else absent)
	}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   want
	}{
		"ScaleToZero": {
			reason: "With scale to zero the Ingress goes through the interceptor, KEDA scales Open WebUI and Ollama, and no replicas are owned.",
			req:    newRequest(xrJSON(exampleSpec, ""), withActiveNamespace()),
			want:   want{keys: keys("ingress", "interceptor-service", "http-scaled-object", "ollama-http-scaled-object", "ollama-scaled-object")},
		},
		"ScaleToZeroOff": {
			reason: "Without scale to zero there are no KEDA objects and the workloads run one replica.",
			req:    newRequest(xrJSON(noSTZ, ""), withActiveNamespace()),
			want:   want{keys: keys("ingress"), replicas: true},
		},
		"KEDADisabled": {
			reason: "When the platform disables KEDA, a claim asking for scale to zero gets none.",
			req:    newRequest(xrJSON(exampleSpec, ""), withInput(`"keda": {"enabled": false}`), withActiveNamespace()),
			want:   want{keys: keys("ingress"), replicas: true},
		},
		"Pipelines": {
			reason: "Pipelines add their service account, workload, service, policy and scaled object.",
			req:    newRequest(xrJSON(withPipelines, ""), withActiveNamespace()),
			want: want{keys: keys("ingress", "interceptor-service", "http-scaled-object", "ollama-http-scaled-object", "ollama-scaled-object",
				"sa-pipelines", "pipelines", "pipelines-service", "network-policy-pipelines", "pipelines-scaled-object")},
		},
		"GatewayAPI": {
			reason: "In GatewayAPI mode an HTTPRoute and a ReferenceGrant replace the Ingress and the ExternalName service.",
			req:    newRequest(xrJSON(exampleSpec, ""), gateway, withActiveNamespace()),
			want:   want{keys: keys("http-route", "reference-grant", "http-scaled-object", "ollama-http-scaled-object", "ollama-scaled-object")},
		},
		"GatewayAPINoScaleToZero": {
			reason: "In GatewayAPI mode without scale to zero there is no ReferenceGrant.",
			req:    newRequest(xrJSON(noSTZ, ""), gateway, withActiveNamespace()),
			want:   want{keys: keys("http-route"), replicas: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, tc.req)
			if f := fatalResults(rsp); len(f) > 0 {
				t.Fatalf("%s\nunexpected fatal result: %v", tc.reason, f)
			}
			if diff := cmp.Diff(tc.want.keys, desiredKeys(rsp)); diff != "" {
				t.Errorf("%s\ndesired resources: -want, +got:\n%s", tc.reason, diff)
			}
			ns := testNamespace
			wantReq := &fnv1.Requirements{Resources: map[string]*fnv1.ResourceSelector{
				requiredPods: {
					ApiVersion: "v1", Kind: "Pod", Namespace: &ns,
					Match: &fnv1.ResourceSelector_MatchLabels{MatchLabels: &fnv1.MatchLabels{Labels: map[string]string{
						"app.kubernetes.io/instance":  testID,
						"app.kubernetes.io/component": "model-job",
					}}},
				},
			}}
			if diff := cmp.Diff(wantReq, rsp.GetRequirements(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nrequirements: -want, +got:\n%s", tc.reason, diff)
			}
			for _, wl := range []string{"ollama", "open-webui"} {
				spec := desiredMap(t, rsp, wl)["spec"].(map[string]any)
				got, has := spec["replicas"]
				switch {
				case tc.want.replicas && got != float64(1):
					t.Errorf("%s\n%s spec.replicas: want 1, got %v", tc.reason, wl, got)
				case !tc.want.replicas && has:
					t.Errorf("%s\n%s spec.replicas: want absent (KEDA owns it), got %v", tc.reason, wl, got)
				}
			}
		})
	}
}

func TestRunFunctionAssistantsWaitForBaseModel(t *testing.T) {
	cases := map[string]struct {
		reason string
		opts   []reqOption
		want   []string // assistant Jobs desired
		states map[string]v1alpha1.ModelState
	}{
		"NothingPulled": {
			reason: "No assistant Job runs before its base model is pulled.",
			states: map[string]v1alpha1.ModelState{"summarizer": v1alpha1.ModelPending, "reviewer": v1alpha1.ModelPending},
		},
		"PullRunning": {
			reason: "A running pull does not release its assistants.",
			opts:   []reqOption{withJob(jobPullLlama, "active")},
			states: map[string]v1alpha1.ModelState{"llama3.2:1b": v1alpha1.ModelRunning, "summarizer": v1alpha1.ModelPending},
		},
		"PullFailed": {
			reason: "A failed pull does not release its assistants.",
			opts:   []reqOption{withJob(jobPullLlama, "Failed")},
			states: map[string]v1alpha1.ModelState{"llama3.2:1b": v1alpha1.ModelFailed, "summarizer": v1alpha1.ModelPending},
		},
		"OnePulled": {
			reason: "A complete pull releases exactly the assistants built from that model.",
			opts:   []reqOption{withJob(jobPullLlama, "Complete"), withJob(jobPullQwen, "active")},
			want:   []string{jobSummarizer},
			states: map[string]v1alpha1.ModelState{"llama3.2:1b": v1alpha1.ModelReady, "summarizer": v1alpha1.ModelPending, "reviewer": v1alpha1.ModelPending},
		},
		"BothPulled": {
			reason: "With both pulls complete both assistants run.",
			opts:   []reqOption{withJob(jobPullLlama, "Complete"), withJob(jobPullQwen, "Complete")},
			want:   []string{jobReviewer, jobSummarizer},
		},
		"ExistingJobStays": {
			reason: "An assistant Job that exists stays even if its base model is not (or no longer) ready.",
			opts:   []reqOption{withJob(jobPullQwen, "active"), withJob(jobReviewer, "active")},
			want:   []string{jobReviewer},
			states: map[string]v1alpha1.ModelState{"reviewer": v1alpha1.ModelRunning},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, newRequest(xrJSON(exampleSpec, ""), append([]reqOption{withActiveNamespace()}, tc.opts...)...))
			var got []string
			for _, k := range desiredKeys(rsp) {
				if strings.HasPrefix(k, "create-") {
					got = append(got, k)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nassistant Jobs: -want, +got:\n%s", tc.reason, diff)
			}
			for _, m := range xrStatus(t, rsp).Models {
				if want, ok := tc.states[m.Name]; ok && m.State != want {
					t.Errorf("%s\nmodel %s: want %s, got %s (%s)", tc.reason, m.Name, want, m.State, m.Message)
				}
			}
		})
	}
}

func normal(msg, reason string) *fnv1.Result {
	return &fnv1.Result{Severity: fnv1.Severity_SEVERITY_NORMAL, Message: msg, Reason: &reason, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}
}

func warning(msg, reason string) *fnv1.Result {
	return &fnv1.Result{Severity: fnv1.Severity_SEVERITY_WARNING, Message: msg, Reason: &reason, Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum()}
}

func TestRunFunctionResultsOnTransitions(t *testing.T) {
	pending := `{"models": [{"name": "llama3.2:1b", "kind": "base", "state": "Pending"}]}`
	ready := `{"models": [{"name": "llama3.2:1b", "kind": "base", "state": "Ready"}]}`
	failed := `{"models": [{"name": "llama3.2:1b", "kind": "base", "state": "Failed"}]}`
	pullJob := jobName("pull", "llama3.2:1b", []string{"pull", "llama3.2:1b"})
	failedJob := withObserved(pullJob, jobJSON(pullJob, "Failed", "BackoffLimitExceeded"))

	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   []*fnv1.Result
	}{
		"BecameReady": {
			reason: "A model that becomes ready emits one Normal result.",
			req:    newRequest(xrJSON(oneModelSpec, pending), withActiveNamespace(), withJob(pullJob, "Complete")),
			want:   []*fnv1.Result{normal("Model llama3.2:1b is ready: ready", "ModelReady")},
		},
		"StillReady": {
			reason: "A model the XR status already shows ready emits nothing.",
			req:    newRequest(xrJSON(oneModelSpec, ready), withActiveNamespace(), withJob(pullJob, "Complete")),
		},
		"BecameFailed": {
			reason: "A model whose Job fails emits one Warning.",
			req:    newRequest(xrJSON(oneModelSpec, pending), withActiveNamespace(), failedJob),
			want:   []*fnv1.Result{warning("model llama3.2:1b failed: Job "+pullJob+" failed: BackoffLimitExceeded", "ModelFailed")},
		},
		"StillFailed": {
			reason: "A model the XR status already shows failed emits nothing.",
			req:    newRequest(xrJSON(oneModelSpec, failed), withActiveNamespace(), failedJob),
		},
		"StillPending": {
			reason: "A model that is still pulling emits nothing.",
			req:    newRequest(xrJSON(oneModelSpec, pending), withActiveNamespace(), withJob(pullJob, "active")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, tc.req)
			if diff := cmp.Diff(tc.want, rsp.GetResults(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nresults: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRunFunctionReadyAndTTL(t *testing.T) {
	req := newRequest(xrJSON(exampleSpec, ""), withInput(`"reconcile": {"converging": "20s", "ready": "30m"}`))

	// Converging: the first call, with nothing observed.
	rsp := run(t, proto.Clone(req).(*fnv1.RunFunctionRequest))
	if diff := cmp.Diff(durationpb.New(20*time.Second), rsp.GetMeta().GetTtl(), protocmp.Transform()); diff != "" {
		t.Errorf("converging TTL: -want, +got:\n%s", diff)
	}

	// Everything observed ready.
	req, rsp = converge(t, req)
	if diff := cmp.Diff(keys("ingress", "interceptor-service", "http-scaled-object", "ollama-http-scaled-object", "ollama-scaled-object", jobSummarizer, jobReviewer), desiredKeys(rsp)); diff != "" {
		t.Errorf("converged desired resources: -want, +got:\n%s", diff)
	}
	for name, r := range rsp.GetDesired().GetResources() {
		if r.GetReady() != fnv1.Ready_READY_TRUE {
			t.Errorf("converged: %s is not ready", name)
		}
	}
	if diff := cmp.Diff(durationpb.New(30*time.Minute), rsp.GetMeta().GetTtl(), protocmp.Transform()); diff != "" {
		t.Errorf("ready TTL: -want, +got:\n%s", diff)
	}
	wantReady := normal("Workspace is ready at https://"+testID+".aichat.example.com", "WorkspaceReady")
	if !slices.ContainsFunc(rsp.GetResults(), func(r *fnv1.Result) bool { return proto.Equal(r, wantReady) }) {
		t.Errorf("converged: no WorkspaceReady result in %v", rsp.GetResults())
	}

	// The XR already says it is ready and every model is: no results at all.
	status := xrStatus(t, rsp)
	b, _ := json.Marshal(map[string]any{
		"models":     status.Models,
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
	})
	req.Observed.Composite.Resource = resource.MustStructJSON(xrJSON(exampleSpec, string(b)))
	rsp = run(t, req)
	if diff := cmp.Diff([]*fnv1.Result(nil), rsp.GetResults(), protocmp.Transform()); diff != "" {
		t.Errorf("steady state results: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff(durationpb.New(30*time.Minute), rsp.GetMeta().GetTtl(), protocmp.Transform()); diff != "" {
		t.Errorf("steady state TTL: -want, +got:\n%s", diff)
	}

	// One workload not yet rolled out: converging again.
	sts := req.Observed.Resources["ollama"].GetResource().AsMap()
	sts["status"] = map[string]any{"observedGeneration": 0}
	req.Observed.Resources["ollama"] = &fnv1.Resource{Resource: mustStruct(t, sts)}
	rsp = run(t, req)
	if diff := cmp.Diff(durationpb.New(20*time.Second), rsp.GetMeta().GetTtl(), protocmp.Transform()); diff != "" {
		t.Errorf("TTL with one workload not ready: -want, +got:\n%s", diff)
	}
	if got := rsp.GetDesired().GetResources()["ollama"].GetReady(); got != fnv1.Ready_READY_FALSE {
		t.Errorf("ollama ready: want READY_FALSE, got %v", got)
	}
}

func mustStruct(t testing.TB, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunFunctionKeepsDesiredFromEarlierSteps(t *testing.T) {
	other := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "elsewhere"}, "data": {"k": "v"}}`
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
	}{
		"NamespacePending": {
			reason: "A resource an earlier step desired stays while the namespace is being created.",
			req:    newRequest(xrJSON(exampleSpec, ""), withDesired("from-earlier-step", other)),
		},
		"Composed": {
			reason: "A resource an earlier step desired stays next to the whole workspace.",
			req:    newRequest(xrJSON(exampleSpec, ""), withDesired("from-earlier-step", other), withActiveNamespace()),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := proto.Clone(tc.req.GetDesired().GetResources()["from-earlier-step"])
			rsp := run(t, tc.req)
			if diff := cmp.Diff(want, rsp.GetDesired().GetResources()["from-earlier-step"], protocmp.Transform()); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
			if _, ok := rsp.GetDesired().GetResources()["namespace"]; !ok {
				t.Errorf("%s\nthe workspace namespace is missing", tc.reason)
			}
		})
	}
}

func withObservedRoute(key, kind, ns string) reqOption {
	apiVersion := "networking.k8s.io/v1"
	if kind == "HTTPRoute" {
		apiVersion = "gateway.networking.k8s.io/v1"
	}
	return withObserved(key, fmt.Sprintf(`{"apiVersion": %q, "kind": %q, "metadata": {"name": "open-webui", "namespace": %q}}`, apiVersion, kind, ns))
}

func TestRunFunctionStatus(t *testing.T) {
	url := "https://" + testID + ".aichat.example.com"
	noClaim := `{"apiVersion": "aichatworkspaces.io/v1alpha1", "kind": "XAIChatWorkspace",
		"metadata": {"name": "direct-xr"}, "spec": ` + oneModelSpec + `}`
	directID := workspaceID("direct-xr", "", "", 63-len("aichat-"))
	ingress := withObservedRoute("ingress", "Ingress", testNamespace)
	gateway := withInput(`"routing": {"mode": "GatewayAPI", "gateway": {"name": "gw", "namespace": "gateways"}}`)

	type want struct {
		status     v1alpha1.WorkspaceStatus // without resources
		conditions []*fnv1.Condition
	}
	cond := func(s fnv1.Status, reason, msg string) []*fnv1.Condition {
		return []*fnv1.Condition{{
			Type: conditionModelsReady, Status: s, Reason: reason, Message: &msg,
			Target: fnv1.Target_TARGET_COMPOSITE_AND_CLAIM.Enum(),
		}}
	}
	pendingLlama := v1alpha1.ModelStatus{Name: "llama3.2:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelPending, Message: "Job " + jobPullLlama + " is being created"}
	cases := map[string]struct {
		reason string
		req    *fnv1.RunFunctionRequest
		want   want
	}{
		"NothingObserved": {
			reason: "Before the namespace exists the status names neither the namespace nor the URLs.",
			req:    newRequest(xrJSON(oneModelSpec, "")),
			want: want{
				status:     v1alpha1.WorkspaceStatus{ModelsReady: "0/1", Models: []v1alpha1.ModelStatus{pendingLlama}},
				conditions: cond(fnv1.Status_STATUS_CONDITION_FALSE, "ModelsPending", "0/1 models ready; waiting for llama3.2:1b"),
			},
		},
		"RouteNotObserved": {
			reason: "Once the namespace is ready the status names it; the URLs wait for the route.",
			req:    newRequest(xrJSON(oneModelSpec, ""), withActiveNamespace()),
			want: want{
				status:     v1alpha1.WorkspaceStatus{Namespace: testNamespace, ModelsReady: "0/1", Models: []v1alpha1.ModelStatus{pendingLlama}},
				conditions: cond(fnv1.Status_STATUS_CONDITION_FALSE, "ModelsPending", "0/1 models ready; waiting for llama3.2:1b"),
			},
		},
		"Pending": {
			reason: "Without a gateway the API URL is Open WebUI's Ollama proxy; models wait for their Jobs.",
			req:    newRequest(xrJSON(exampleSpec, ""), withActiveNamespace(), ingress, withJob(jobPullLlama, "active")),
			want: want{
				status: v1alpha1.WorkspaceStatus{
					Namespace: testNamespace, URL: url, APIURL: url + "/ollama", ModelsReady: "0/4",
					Models: []v1alpha1.ModelStatus{
						{Name: "llama3.2:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelRunning, Message: "pulling llama3.2:1b"},
						{Name: "qwen2.5-coder:1.5b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelPending, Message: "Job " + jobPullQwen + " is being created"},
						{Name: "summarizer", Kind: v1alpha1.ModelKindAssistant, State: v1alpha1.ModelPending, Message: "waiting for base model llama3.2:1b"},
						{Name: "reviewer", Kind: v1alpha1.ModelKindAssistant, State: v1alpha1.ModelPending, Message: "waiting for base model qwen2.5-coder:1.5b"},
					},
				},
				conditions: cond(fnv1.Status_STATUS_CONDITION_FALSE, "ModelsPending",
					"0/4 models ready; waiting for llama3.2:1b, qwen2.5-coder:1.5b, summarizer, reviewer"),
			},
		},
		"GatewayURL": {
			reason: "With a gateway URL the API URL is <gateway>/<claim name>, without a trailing slash doubled.",
			req: newRequest(xrJSON(oneModelSpec, ""), withInput(`"api": {"gatewayURL": "https://portal.example.com/llm/"}`),
				withActiveNamespace(), ingress, withJob(jobPullLlama, "Complete")),
			want: want{
				status: v1alpha1.WorkspaceStatus{
					Namespace: testNamespace, URL: url, APIURL: "https://portal.example.com/llm/research", ModelsReady: "1/1",
					Models: []v1alpha1.ModelStatus{{Name: "llama3.2:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelReady, Message: "ready"}},
				},
				conditions: cond(fnv1.Status_STATUS_CONDITION_TRUE, "AllModelsReady", "1/1 models ready"),
			},
		},
		"GatewayURLNoClaim": {
			reason: "An XR without a claim is reached at <gateway>/<XR name>.",
			req: newRequest(noClaim, withInput(`"api": {"gatewayURL": "https://portal.example.com/llm"}`),
				withObserved("namespace", namespaceJSON("aichat-"+directID, "Active")), withObservedRoute("ingress", "Ingress", "aichat-"+directID)),
			want: want{
				status: v1alpha1.WorkspaceStatus{
					Namespace: "aichat-" + directID, URL: "https://" + directID + ".aichat.example.com",
					APIURL: "https://portal.example.com/llm/direct-xr", ModelsReady: "0/1",
					Models: []v1alpha1.ModelStatus{pendingLlama},
				},
				conditions: cond(fnv1.Status_STATUS_CONDITION_FALSE, "ModelsPending", "0/1 models ready; waiting for llama3.2:1b"),
			},
		},
		"HTTPRoute": {
			reason: "In GatewayAPI mode the URLs appear once the HTTPRoute is observed.",
			req:    newRequest(xrJSON(oneModelSpec, ""), gateway, withActiveNamespace(), withObservedRoute("http-route", "HTTPRoute", testNamespace)),
			want: want{
				status: v1alpha1.WorkspaceStatus{
					Namespace: testNamespace, URL: url, APIURL: url + "/ollama", ModelsReady: "0/1",
					Models: []v1alpha1.ModelStatus{pendingLlama},
				},
				conditions: cond(fnv1.Status_STATUS_CONDITION_FALSE, "ModelsPending", "0/1 models ready; waiting for llama3.2:1b"),
			},
		},
		"Failed": {
			reason: "A failed model makes ModelsReady False with reason ModelFailed; domain and scheme come from the input.",
			req: newRequest(xrJSON(oneModelSpec, ""), withInput(`"domain": "ai.example.org", "routing": {"scheme": "http"}`), withActiveNamespace(), ingress,
				withObserved(jobPullLlama, jobJSON(jobPullLlama, "Failed", "DeadlineExceeded"))),
			want: want{
				status: v1alpha1.WorkspaceStatus{
					Namespace: testNamespace, URL: "http://" + testID + ".ai.example.org", APIURL: "http://" + testID + ".ai.example.org/ollama", ModelsReady: "0/1",
					Models: []v1alpha1.ModelStatus{{Name: "llama3.2:1b", Kind: v1alpha1.ModelKindBase, State: v1alpha1.ModelFailed, Message: "Job " + jobPullLlama + " failed: DeadlineExceeded"}},
				},
				conditions: cond(fnv1.Status_STATUS_CONDITION_FALSE, "ModelFailed", "llama3.2:1b: Job "+jobPullLlama+" failed: DeadlineExceeded"),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, tc.req)
			if f := fatalResults(rsp); len(f) > 0 {
				t.Fatalf("%s\nunexpected fatal result: %v", tc.reason, f)
			}
			got := xrStatus(t, rsp)
			if len(got.Resources) != len(rsp.GetDesired().GetResources()) {
				t.Errorf("%s\nstatus.resources has %d entries for %d desired resources", tc.reason, len(got.Resources), len(rsp.GetDesired().GetResources()))
			}
			got.Resources = nil
			if diff := cmp.Diff(tc.want.status, got); diff != "" {
				t.Errorf("%s\nstatus: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want.conditions, rsp.GetConditions(), protocmp.Transform()); diff != "" {
				t.Errorf("%s\nconditions: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRunFunctionDeterministic(t *testing.T) {
	req := newRequest(xrJSON(exampleSpec, ""), withActiveNamespace(), withJob(jobPullLlama, "Complete"))
	a := run(t, proto.Clone(req).(*fnv1.RunFunctionRequest))
	b := run(t, proto.Clone(req).(*fnv1.RunFunctionRequest))
	if diff := cmp.Diff(a, b, protocmp.Transform()); diff != "" {
		t.Errorf("two calls with the same request differ: -first, +second:\n%s", diff)
	}
	if _, err := proto.Marshal(a); err != nil {
		t.Errorf("the response does not serialise: %v", err)
	}
}

// The input of compositions/aichatworkspace.yaml spells out every default:
// it must compose the same workspace as an empty input.
func TestRunFunctionCompositionInputIsDefaults(t *testing.T) {
	in := &v1beta1.Input{}
	if err := readYAMLInput("../compositions/aichatworkspace.yaml", in); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	full := newRequest(xrJSON(exampleSpec, ""), withActiveNamespace(), withJob(jobPullLlama, "Complete"))
	full.Input = resource.MustStructJSON(string(b))
	minimal := newRequest(xrJSON(exampleSpec, ""), withActiveNamespace(), withJob(jobPullLlama, "Complete"))

	got, want := run(t, full), run(t, minimal)
	if f := fatalResults(got); len(f) > 0 {
		t.Fatalf("the Composition's input is fatal: %v", f)
	}
	// The Composition sets ingress className nginx; the default has none.
	delete(got.GetDesired().GetResources()["ingress"].GetResource().GetFields()["spec"].GetStructValue().GetFields(), "ingressClassName")
	if diff := cmp.Diff(want.GetDesired(), got.GetDesired(), protocmp.Transform()); diff != "" {
		t.Errorf("the Composition's input composes differently from the defaults: -defaults, +composition:\n%s", diff)
	}
}

// readYAMLInput reads the input of the first pipeline step of a Composition.
func readYAMLInput(path string, into *v1beta1.Input) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c := struct {
		Spec struct {
			Pipeline []struct {
				Input json.RawMessage `json:"input"`
			} `json:"pipeline"`
		} `json:"spec"`
	}{}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return err
	}
	if len(c.Spec.Pipeline) == 0 {
		return fmt.Errorf("%s has no pipeline", path)
	}
	return yaml.UnmarshalStrict(c.Spec.Pipeline[0].Input, into)
}

func TestRunFunctionRandomFails(t *testing.T) {
	f := NewWithRandom(logging.NewNopLogger(), errReader{})
	rsp, err := f.RunFunction(context.Background(), newRequest(xrJSON(exampleSpec, ""), withActiveNamespace()))
	if err != nil {
		t.Fatalf("RunFunction(...): unexpected error: %v", err)
	}
	if len(rsp.GetResults()) != 1 || rsp.GetResults()[0].GetSeverity() != fnv1.Severity_SEVERITY_FATAL ||
		!strings.Contains(rsp.GetResults()[0].GetMessage(), "cannot generate WEBUI_SECRET_KEY") {
		t.Errorf("RunFunction(...): want one Fatal result about the secret key, got %v", rsp.GetResults())
	}
	if len(rsp.GetDesired().GetResources()) != 0 {
		t.Errorf("RunFunction(...): desired resources on a fatal error: %v", desiredKeys(rsp))
	}
}

func TestNewUsesCryptoRandom(t *testing.T) {
	rsp, err := New(logging.NewNopLogger()).RunFunction(context.Background(), newRequest(xrJSON(exampleSpec, ""), withActiveNamespace()))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := desiredMap(t, rsp, "secret")["data"].(map[string]any)
	a, _ := data[secretKeyWebUI].(string)
	b, _ := data[secretKeyPipelines].(string)
	if a == "" || a == b {
		t.Errorf("New(...): secret keys %q and %q are not random", a, b)
	}
}

func TestRunFunctionLongUTF8Messages(t *testing.T) {
	// A failed Job's message in a language with multi-byte characters,
	// longer than the status keeps: the response must still be valid
	// protobuf (valid UTF-8), with the message cut on a rune boundary.
	msg := "a" + strings.Repeat("é", 400)
	rsp := run(t, newRequest(xrJSON(oneModelSpec, ""), withActiveNamespace(),
		withObserved(jobPullLlama, jobJSON(jobPullLlama, "Failed", msg))))
	if f := fatalResults(rsp); len(f) > 0 {
		t.Fatalf("want no fatal result, got %v", f)
	}
	if _, err := proto.Marshal(rsp); err != nil {
		t.Fatalf("the response cannot be sent: %v", err)
	}
	for _, m := range xrStatus(t, rsp).Models {
		if !utf8.ValidString(m.Message) || len(m.Message) > maxMessage {
			t.Errorf("model %s: message is not valid UTF-8 of at most %d bytes: %q", m.Name, maxMessage, m.Message)
		}
	}
}

func TestRunFunctionKeepsStatusFromEarlierSteps(t *testing.T) {
	// An earlier step of the pipeline set a status field of its own.
	req := newRequest(xrJSON(exampleSpec, ""), withActiveNamespace())
	req.Desired = &fnv1.State{}
	req.Desired.Composite = &fnv1.Resource{Resource: resource.MustStructJSON(
		`{"apiVersion": "aichatworkspaces.io/v1alpha1", "kind": "XAIChatWorkspace", "status": {"fromEarlierStep": "kept"}}`)}
	rsp := run(t, req)
	got := rsp.GetDesired().GetComposite().GetResource().GetFields()["status"].GetStructValue().GetFields()
	if got["fromEarlierStep"].GetStringValue() != "kept" {
		t.Errorf("status.fromEarlierStep: want %q, got %v", "kept", got["fromEarlierStep"])
	}
	if got["modelsReady"].GetStringValue() == "" {
		t.Errorf("status.modelsReady: want the function's own status next to it, got none")
	}
}
