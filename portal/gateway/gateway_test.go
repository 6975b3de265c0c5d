package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/portal/workspaces"
)

func TestUsageScanner(t *testing.T) {
	type counts struct{ Prompt, Eval int64 }
	long := strings.Repeat(`0.125,`, 100000) // a big embedding: the line is far past tailMax
	cases := map[string]struct {
		reason string
		chunks []string
		want   counts
	}{
		"NativeStream": {reason: "the final chunk of /api/chat carries the counts",
			chunks: []string{`{"message":{"content":"a"},"done":false}` + "\n", `{"message":{"content":"b"},"done":false}` + "\n",
				`{"done":true,"done_reason":"stop","total_duration":1,"prompt_eval_count":35,"prompt_eval_duration":2,"eval_count":64,"eval_duration":3}` + "\n"},
			want: counts{35, 64}},
		"SplitAcrossReads": {reason: "a line may arrive in pieces", chunks: []string{`{"done":true,"prompt_eval_co`, `unt":7,"eval_`, `count":9}`, "\n"},
			want: counts{7, 9}},
		"NoNewline": {reason: "a non-streamed answer is one document", chunks: []string{`{"response":"x","done":true,"prompt_eval_count":3,"eval_count":4}`},
			want: counts{3, 4}},
		"Embed": {reason: "a long embedding with the count at its end", chunks: []string{`{"embeddings":[[` + long + `1]],"prompt_eval_count":12}`},
			want: counts{12, 0}},
		"OpenAISSE": {reason: "the usage chunk of an OpenAI stream",
			chunks: []string{"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
				"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":48,\"total_tokens\":58}}\n\n", "data: [DONE]\n\n"},
			want: counts{10, 48}},
		"OpenAICompletionZeros": {reason: "zero usage on every chunk, the totals last",
			chunks: []string{"data: {\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0}}\n\n", "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}\n\n"},
			want:   counts{5, 6}},
		"EscapedInContent": {reason: "a key inside generated text is escaped and ignored",
			chunks: []string{`{"message":{"content":"say \"eval_count\":999"},"done":false}` + "\n"},
			want:   counts{0, 0}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var s usageScanner
			for _, c := range tc.chunks {
				s.Write([]byte(c))
			}
			s.Close()
			if diff := cmp.Diff(tc.want, counts{s.prompt, s.eval}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestSSEFilter(t *testing.T) {
	events := []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
		"data: [DONE]\n\n",
	}
	rec := httptest.NewRecorder()
	f := &sseFilter{ResponseWriter: rec}
	all := strings.Join(events, "")
	// Written in awkward pieces, as reads from Ollama may come.
	for i := 0; i < len(all); i += 7 {
		if _, err := f.Write([]byte(all[i:min(i+7, len(all))])); err != nil {
			t.Fatal(err)
		}
	}
	f.finish()
	if diff := cmp.Diff(events[0]+events[2], rec.Body.String()); diff != "" {
		t.Errorf("the usage-only chunk must go, the rest stay (-want +got):\n%s", diff)
	}
}

func TestTemplate(t *testing.T) {
	ws := &workspaces.Workspace{Name: "dev", Status: workspaces.Status{Namespace: "aichat-ws-dev-1a2b"}}
	type got struct {
		URL, Host string
		Err       bool
	}
	cases := map[string]struct {
		reason string
		tpl    Template
		ws     *workspaces.Workspace
		want   got
	}{
		"Default": {reason: "the Service of the workspace namespace", tpl: Template{URL: "http://ollama.{namespace}.svc:11434"}, ws: ws,
			want: got{URL: "http://ollama.aichat-ws-dev-1a2b.svc:11434"}},
		"Interceptor": {reason: "through KEDA, routed by Host", ws: ws,
			tpl:  Template{URL: "http://ollama.{namespace}.svc:11434", Interceptor: "http://keda-add-ons-http-interceptor-proxy.keda.svc:8080", HostTemplate: "ollama.{namespace}.svc"},
			want: got{URL: "http://keda-add-ons-http-interceptor-proxy.keda.svc:8080", Host: "ollama.aichat-ws-dev-1a2b.svc"}},
		"ByName": {reason: "{workspace} is the claim name", tpl: Template{URL: "http://{workspace}.ollama.internal"}, ws: ws,
			want: got{URL: "http://dev.ollama.internal"}},
		"NoNamespace": {reason: "a claim the function has not handled yet", tpl: Template{URL: "http://ollama.{namespace}.svc:11434"},
			ws: &workspaces.Workspace{Name: "new"}, want: got{Err: true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := tc.tpl.Resolve(tc.ws)
			g := got{Host: u.Host, Err: err != nil}
			if u.URL != nil {
				g.URL = u.URL.String()
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestAskForUsage(t *testing.T) {
	cases := map[string]struct {
		reason   string
		body     string
		wantHide bool
		wantBody string
	}{
		"Streamed": {reason: "a stream gets include_usage, hidden again later",
			body: `{"model":"m","stream":true}`, wantHide: true, wantBody: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		"KeepsOptions": {reason: "other stream options stay",
			body: `{"stream":true,"stream_options":{"x":1}}`, wantHide: true, wantBody: `{"stream":true,"stream_options":{"include_usage":true,"x":1}}`},
		"AlreadyAsked": {reason: "the client asked itself: it sees the chunk",
			body: `{"stream":true,"stream_options":{"include_usage":true}}`, wantBody: `{"stream":true,"stream_options":{"include_usage":true}}`},
		"NotStreamed": {reason: "a whole answer has usage anyway", body: `{"model":"m"}`, wantBody: `{"model":"m"}`},
		"Malformed":   {reason: "Ollama answers malformed JSON itself", body: `{"stream":tru`, wantBody: `{"stream":tru`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(tc.body))
			hide, err := askForUsage(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			if diff := cmp.Diff(struct {
				Hide bool
				Body string
				Len  int64
			}{tc.wantHide, tc.wantBody, int64(len(tc.wantBody))}, struct {
				Hide bool
				Body string
				Len  int64
			}{hide, string(b), r.ContentLength}); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestAskForUsageTooLarge(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(make([]byte, 2048)))
	r.Body = http.MaxBytesReader(rec, r.Body, 1024)
	if _, err := askForUsage(r); err == nil || !strings.Contains(err.Error(), "too_large") {
		t.Errorf("an oversized body: %v", err)
	}
}
