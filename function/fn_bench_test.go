package function

import (
	"context"
	"fmt"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// benchSpec is a full workspace: 3 models, 4 assistants, scale to zero.
const benchSpec = `{
	"owner": "ada@example.com",
	"size": "medium",
	"models": ["llama3.2:1b", "qwen2.5-coder:1.5b", "mistral:7b"],
	"assistants": [
		{"name": "summarizer", "from": "llama3.2:1b", "patterns": ["extract_wisdom", "summarize"],
		 "variables": {"audience": "engineers"}, "parameters": {"temperature": "0.2", "num_ctx": "8192"}},
		{"name": "reviewer", "from": "qwen2.5-coder:1.5b", "patterns": ["review_code"]},
		{"name": "writer", "from": "mistral:7b", "patterns": ["improve_writing"], "parameters": {"top_p": "0.9"}},
		{"name": "analyst", "from": "mistral:7b", "patterns": ["analyze_claims", "extract_insights"], "variables": {"tone": "neutral"}}
	],
	"scaleToZero": {"enabled": true, "idleAfter": "30m"},
	"storage": {"models": "50Gi", "data": "5Gi"}
}`

// benchRequest is the request for benchSpec once the namespace is Active,
// the Secret exists and every pull is complete, so every assistant Job is
// composed.
func benchRequest(b testing.TB) *fnv1.RunFunctionRequest {
	b.Helper()
	opts := []reqOption{
		withActiveNamespace(),
		withObserved("secret", fmt.Sprintf(`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "workspace-keys", "namespace": %q},
			"data": {"WEBUI_SECRET_KEY": "c2Vzc2lvbi1rZXk=", "PIPELINES_API_KEY": "cGlwZWxpbmVzLWtleQ=="}}`, testNamespace)),
	}
	for _, j := range testWorkspace(b, nil, benchSpec).jobs() {
		if j.kind == "base" {
			opts = append(opts, withJob(j.name, "Complete"))
		}
	}
	return newRequest(xrJSON(benchSpec, ""), opts...)
}

// TestBenchmarkComposesEverything keeps the benchmark honest in every test
// run: its request must compose the whole workspace, or the benchmark would
// measure less than it claims.
func TestBenchmarkComposesEverything(t *testing.T) {
	checkBenchRequest(t, testFunction(), benchRequest(t))
}

func checkBenchRequest(tb testing.TB, f *Function, req *fnv1.RunFunctionRequest) {
	tb.Helper()
	rsp, err := f.RunFunction(context.Background(), req)
	if err != nil || len(fatalResults(rsp)) > 0 {
		tb.Fatalf("RunFunction: %v %v", err, rsp.GetResults())
	}
	// commonKeys, one more pull, four assistants, and the five objects of
	// scale to zero with an Ingress.
	if got := len(rsp.GetDesired().GetResources()); got != len(commonKeys)+1+4+5 {
		tb.Fatalf("RunFunction: %d desired resources, want every object and all 7 Jobs: %v", got, desiredKeys(rsp))
	}
}

func BenchmarkRunFunction(b *testing.B) {
	req := benchRequest(b)
	f := testFunction()
	ctx := context.Background()
	checkBenchRequest(b, f, req)

	b.ReportAllocs()
	for b.Loop() {
		// The response shares the request's desired state; a fresh one
		// each call, as Crossplane sends.
		req.Desired = nil
		if _, err := f.RunFunction(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
