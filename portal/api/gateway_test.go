package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	ollamaapi "github.com/ollama/ollama/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/portal/apierr"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/gateway"
	"github.com/aichatworkspaces/workspaces/portal/testenv"
	"github.com/aichatworkspaces/workspaces/portal/workspaces"
	"github.com/aichatworkspaces/workspaces/test/ollama"
)

const tinyModel = "llama3.2:1b"

// upstream stands between the gateway and the real Ollama, as the
// workspace's Service would, and records what reached it: requests in
// flight, requests that ended because the gateway cancelled them, and any
// Authorization header (which must never reach Ollama). With slow set it
// delays every chunk, as a real model on a CPU does.
type upstream struct {
	URL       string
	inflight  atomic.Int64
	cancelled atomic.Int64
	requests  atomic.Int64
	slow      atomic.Int64 // delay per chunk, ns
	mu        sync.Mutex
	authSeen  []string
}

func startUpstream(t *testing.T, s *ollama.Server) *upstream {
	t.Helper()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		u.inflight.Add(1)
		defer u.inflight.Add(-1)
		if a := r.Header.Get("Authorization"); a != "" {
			u.mu.Lock()
			u.authSeen = append(u.authSeen, a)
			u.mu.Unlock()
		}
		defer func() {
			if r.Context().Err() != nil {
				u.cancelled.Add(1)
			}
		}()
		if d := time.Duration(u.slow.Load()); d > 0 {
			w = &slowWriter{ResponseWriter: w, d: d}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

type slowWriter struct {
	http.ResponseWriter
	d time.Duration
}

// Write sends each line on its own after a pause: a read from Ollama can
// hold several chunks.
func (w *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		time.Sleep(w.d)
		m, err := w.ResponseWriter.Write(line)
		n += m
		if err != nil {
			return n, err
		}
		_ = http.NewResponseController(w.ResponseWriter).Flush()
		p = p[len(line):]
	}
	return n, nil
}

func (w *slowWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bearer is a RoundTripper adding an Authorization header, the way a
// tenant configures the official client for the gateway.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func ollamaClient(t *testing.T, base, workspace, token string) *ollamaapi.Client {
	t.Helper()
	u, err := url.Parse(base + "/llm/" + workspace)
	if err != nil {
		t.Fatal(err)
	}
	return ollamaapi.NewClient(u, &http.Client{Transport: bearer{token}})
}

// clock is a settable time for the server (token expiry).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// setNamespace gives a claim the status the function would write.
func setNamespace(t *testing.T, c client.Client, claimNS, name, wsNS string) {
	t.Helper()
	u, err := claim(t, c, claimNS, name)
	if err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = map[string]any{"namespace": wsNS, "apiUrl": "https://portal.example.com/llm/" + name}
	if err := c.Status().Update(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}

type token struct {
	ID    uint64 `json:"id"`
	Token string `json:"token"`
}

func (e *env) newToken(t *testing.T, jwt string, body map[string]any) token {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/tokens", jwt, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create token %v: %d %s", body, r.Status, r.Body)
	}
	var tok token
	if err := json.Unmarshal(r.Body, &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

type usage struct {
	Requests     int64 `json:"requests"`
	PromptTokens int64 `json:"prompt_tokens"`
	EvalTokens   int64 `json:"eval_tokens"`
}

func (e *env) usageOf(t *testing.T, jwt string, id uint64) usage {
	t.Helper()
	var l struct {
		Items []struct {
			ID uint64 `json:"id"`
			usage
		} `json:"items"`
	}
	if err := json.Unmarshal(e.do(t, "GET", "/api/v1/tokens", jwt, nil).Body, &l); err != nil {
		t.Fatal(err)
	}
	for _, it := range l.Items {
		if it.ID == id {
			return it.usage
		}
	}
	t.Fatalf("token %d is not listed", id)
	return usage{}
}

// call sends one request to the gateway and returns status, error code and
// headers.
func call(t *testing.T, base, method, path, tok string, body any) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	code := ""
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s %s: %d is not a JSON error: %s", method, path, resp.StatusCode, b)
		}
		code = e.Error.Code
	}
	return resp.StatusCode, code, resp.Header
}

// TestGateway runs the LLM gateway against a real Ollama, behind the real
// router on a real HTTP server, with claims in a real kube-apiserver and
// tokens in each real database.
func TestGateway(t *testing.T) {
	cl := testenv.StartClusterT(t)
	srvOllama := ollama.Start(t)
	ollama.InstallTinyModel(t, srvOllama, tinyModel)
	up := startUpstream(t, srvOllama)
	// Only workspaces whose status.namespace is "ws-" something have an
	// Ollama; the resolver stands in for the cluster DNS name.
	resolver := gateway.ResolverFunc(func(ws *workspaces.Workspace) (gateway.Upstream, error) {
		if !strings.HasPrefix(ws.Status.Namespace, "ws-") {
			return gateway.Upstream{}, apierr.Unavailable(nil, "no namespace")
		}
		u, _ := url.Parse(up.URL)
		return gateway.Upstream{URL: u}, nil
	})

	for backend, dsn := range backends {
		t.Run(backend, func(t *testing.T) {
			ns := "claims-" + backend
			createNamespace(t, cl.Admin, ns)
			// Each backend has its own claim namespace (user ids repeat across
			// databases); the portal's RBAC is TestWorkspaces' subject.
			k := startKube(t, cl.Config, workspaces.Options{Namespace: ns})
			clk := &clock{}
			e := newEnv(t, envOptions{dsn: dsn(t), workspaces: k, resolver: resolver, now: clk.now,
				edit: func(c *config.Config) { c.WorkspaceQuota = 5; c.GatewayIdleTimeout = 10 * time.Second }})
			// The server's own timeouts are as short as the app's are long
			// relative to a call: a stream outliving them proves the gateway
			// lifts them for its routes.
			hs := httptest.NewUnstartedServer(e.srv)
			hs.Config.ReadTimeout, hs.Config.WriteTimeout = time.Second, time.Second
			hs.Start()
			t.Cleanup(hs.Close)
			base := hs.URL

			alice := e.signup(t, "alice@example.com")
			bob := e.signup(t, "bob@example.com")
			e.signup(t, "root@example.com")
			e.makeAdmin(t, "root@example.com")
			root := e.login(t, "root@example.com", "passw0rd-long")
			ws := map[string]any{"models": []string{tinyModel}}
			for _, w := range []struct{ owner, name string }{{alice.AccessToken, "dev"}, {alice.AccessToken, "other"}, {alice.AccessToken, "pending"}, {bob.AccessToken, "bobs"}} {
				body := map[string]any{"name": w.name}
				for k, v := range ws {
					body[k] = v
				}
				if r := e.do(t, "POST", "/api/v1/workspaces", w.owner, body); r.Status != http.StatusCreated {
					t.Fatalf("create %s: %d %s", w.name, r.Status, r.Body)
				}
			}
			for _, n := range []string{"dev", "other", "bobs"} {
				setNamespace(t, cl.Admin, ns, n, "ws-"+n)
			}
			deadline := time.Now().Add(10 * time.Second)
			for e.do(t, "GET", "/api/v1/workspaces/dev", alice.AccessToken, nil).JSON(t)["status"].(map[string]any)["namespace"] != "ws-dev" {
				if time.Now().After(deadline) {
					t.Fatal("the claim cache did not show the status")
				}
				time.Sleep(20 * time.Millisecond)
			}

			all := e.newToken(t, alice.AccessToken, map[string]any{"name": "laptop"})
			devOnly := e.newToken(t, alice.AccessToken, map[string]any{"name": "ci", "workspace": "dev", "expires_in_days": 30})
			otherOnly := e.newToken(t, alice.AccessToken, map[string]any{"name": "other", "workspace": "other"})
			short := e.newToken(t, alice.AccessToken, map[string]any{"name": "short", "expires_in_days": 1})
			revoked := e.newToken(t, alice.AccessToken, map[string]any{"name": "gone"})
			bobs := e.newToken(t, bob.AccessToken, map[string]any{"name": "bob"})

			t.Run("CreateValidation", func(t *testing.T) {
				type want struct {
					Status int
					Field  string
				}
				cases := []struct {
					name, reason string
					body         any
					want         want
				}{
					{"NoName", "a name is required", map[string]any{"name": " "}, want{400, "name"}},
					{"LongName", "names are at most 64 characters", map[string]any{"name": strings.Repeat("n", 65)}, want{400, "name"}},
					{"TooLong", "at most a year", map[string]any{"name": "n", "expires_in_days": 366}, want{400, "expires_in_days"}},
					{"Negative", "no negative expiry", map[string]any{"name": "n", "expires_in_days": -1}, want{400, "expires_in_days"}},
					{"BadWorkspace", "workspace names are DNS labels", map[string]any{"name": "n", "workspace": "Not A Name"}, want{400, "workspace"}},
					{"Unknown", "unknown fields are refused", map[string]any{"name": "n", "scope": "admin"}, want{400, "scope"}},
					{"OthersWorkspace", "bob's workspace is not alice's", map[string]any{"name": "n", "workspace": "bobs"}, want{404, ""}},
				}
				for _, tc := range cases {
					r := e.do(t, "POST", "/api/v1/tokens", alice.AccessToken, tc.body)
					got := want{Status: r.Status}
					if r.Status >= 400 {
						_, got.Field = r.Error(t)
					}
					if diff := cmp.Diff(tc.want, got); diff != "" {
						t.Errorf("%s: %s (-want +got):\n%s\n%s", tc.name, tc.reason, diff, r.Body)
					}
				}
				if !strings.HasPrefix(all.Token, "aichat_") || len(all.Token) < 7+43 {
					t.Errorf("token %q: want aichat_ and 32 random bytes", all.Token)
				}
				list := e.do(t, "GET", "/api/v1/tokens", alice.AccessToken, nil)
				if bytes.Contains(list.Body, []byte(all.Token)) || bytes.Contains(list.Body, []byte(all.Token[12:])) {
					t.Errorf("the token list shows a secret: %s", list.Body)
				}
				if n := len(list.JSON(t)["items"].([]any)); n != 5 {
					t.Errorf("alice lists %d tokens, want her 5: %s", n, list.Body)
				}
			})

			// Revoke before the calls below: the revocation holds at once.
			if r := e.do(t, "DELETE", "/api/v1/tokens/"+strconv.FormatUint(revoked.ID, 10), alice.AccessToken, nil); r.Status != http.StatusNoContent {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			if r := e.do(t, "DELETE", "/api/v1/tokens/"+strconv.FormatUint(revoked.ID, 10), bob.AccessToken, nil); r.Status != http.StatusNotFound {
				t.Errorf("bob revoking alice's token: %d, want 404", r.Status)
			}

			t.Run("ChatStreams", func(t *testing.T) {
				c := ollamaClient(t, base, "dev", devOnly.Token)
				before := e.usageOf(t, alice.AccessToken, devOnly.ID)
				var chunks, inflightAtFirst int
				var last ollamaapi.ChatResponse
				err := c.Chat(context.Background(), &ollamaapi.ChatRequest{
					Model: tinyModel, Messages: []ollamaapi.Message{{Role: "user", Content: "Hi"}},
					Options: map[string]any{"num_predict": 64, "temperature": 0, "seed": 1},
				}, func(r ollamaapi.ChatResponse) error {
					chunks++
					if chunks == 1 {
						// Ollama is still generating when the first chunk has
						// crossed the gateway: nothing is buffered.
						inflightAtFirst = int(up.inflight.Load())
					}
					last = r
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if chunks < 3 || inflightAtFirst != 1 || !last.Done || last.EvalCount == 0 {
					t.Errorf("chat: %d chunks, %d upstream requests in flight at the first, done %t, eval_count %d: want several chunks arriving while Ollama generates",
						chunks, inflightAtFirst, last.Done, last.EvalCount)
				}
				after := e.usageOf(t, alice.AccessToken, devOnly.ID)
				want := usage{before.Requests + 1, before.PromptTokens + int64(last.PromptEvalCount), before.EvalTokens + int64(last.EvalCount)}
				if diff := cmp.Diff(want, after); diff != "" {
					t.Errorf("usage after a chat (-want +got):\n%s", diff)
				}
			})

			t.Run("GenerateStreams", func(t *testing.T) {
				c := ollamaClient(t, base, "dev", all.Token)
				before := e.usageOf(t, alice.AccessToken, all.ID)
				var chunks, inflightAtFirst int
				var last ollamaapi.GenerateResponse
				err := c.Generate(context.Background(), &ollamaapi.GenerateRequest{
					Model: tinyModel, Prompt: "Once upon a time",
					Options: map[string]any{"num_predict": 64, "temperature": 0, "seed": 1},
				}, func(r ollamaapi.GenerateResponse) error {
					chunks++
					if chunks == 1 {
						inflightAtFirst = int(up.inflight.Load())
					}
					last = r
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if chunks < 3 || inflightAtFirst != 1 || !last.Done {
					t.Errorf("generate: %d chunks, %d in flight at the first, done %t", chunks, inflightAtFirst, last.Done)
				}
				after := e.usageOf(t, alice.AccessToken, all.ID)
				want := usage{before.Requests + 1, before.PromptTokens + int64(last.PromptEvalCount), before.EvalTokens + int64(last.EvalCount)}
				if diff := cmp.Diff(want, after); diff != "" {
					t.Errorf("usage after a generation (-want +got):\n%s", diff)
				}
				// The rest of the native API works through the same client.
				ctx := context.Background()
				list, err := c.List(ctx)
				if err != nil || len(list.Models) != 1 || list.Models[0].Name != tinyModel {
					t.Errorf("tags through the gateway: %v %+v", err, list)
				}
				if _, err := c.Show(ctx, &ollamaapi.ShowRequest{Model: tinyModel}); err != nil {
					t.Errorf("show: %v", err)
				}
				if v, err := c.Version(ctx); err != nil || v == "" {
					t.Errorf("version: %q %v", v, err)
				}
				emb, err := c.Embed(ctx, &ollamaapi.EmbedRequest{Model: tinyModel, Input: "hello"})
				if err != nil || len(emb.Embeddings) != 1 {
					t.Errorf("embed: %v", err)
				}
				// The pull the client would send is refused, with a message.
				err = c.Pull(ctx, &ollamaapi.PullRequest{Model: "llama3.2:3b"}, func(ollamaapi.ProgressResponse) error { return nil })
				var se ollamaapi.StatusError
				if !errors.As(err, &se) || se.StatusCode != http.StatusForbidden {
					t.Errorf("pull through the client: want a 403 StatusError, got %v", err)
				}
			})

			t.Run("OpenAISSE", func(t *testing.T) {
				for _, includeUsage := range []bool{false, true} {
					before := e.usageOf(t, alice.AccessToken, all.ID)
					body := map[string]any{"model": tinyModel, "stream": true, "max_tokens": 48, "temperature": 0, "seed": 1,
						"messages": []map[string]string{{"role": "user", "content": "Hi"}}}
					if includeUsage {
						body["stream_options"] = map[string]any{"include_usage": true}
					}
					b, _ := json.Marshal(body)
					req, _ := http.NewRequest("POST", base+"/llm/dev/v1/chat/completions", bytes.NewReader(b))
					req.Header.Set("Authorization", "Bearer "+all.Token)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					var events, inflightAtFirst int
					var done bool
					var seenUsage *usage
					sc := bufio.NewScanner(resp.Body)
					for sc.Scan() {
						data, ok := strings.CutPrefix(sc.Text(), "data: ")
						if !ok {
							continue
						}
						events++
						if events == 1 {
							inflightAtFirst = int(up.inflight.Load())
						}
						if data == "[DONE]" {
							done = true
							continue
						}
						var chunk struct {
							Usage *struct {
								PromptTokens     int64 `json:"prompt_tokens"`
								CompletionTokens int64 `json:"completion_tokens"`
							} `json:"usage"`
						}
						if err := json.Unmarshal([]byte(data), &chunk); err != nil {
							t.Fatalf("event %q: %v", data, err)
						}
						if chunk.Usage != nil {
							seenUsage = &usage{PromptTokens: chunk.Usage.PromptTokens, EvalTokens: chunk.Usage.CompletionTokens}
						}
					}
					resp.Body.Close()
					if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" || events < 3 || !done || inflightAtFirst != 1 {
						t.Errorf("include_usage %t: status %d, %s, %d events, [DONE] %t, %d in flight at the first", includeUsage, resp.StatusCode, ct, events, done, inflightAtFirst)
					}
					after := e.usageOf(t, alice.AccessToken, all.ID)
					if includeUsage != (seenUsage != nil) {
						t.Errorf("include_usage %t: the client saw usage %v; it must see it exactly when it asked", includeUsage, seenUsage)
					}
					if after.Requests != before.Requests+1 || after.EvalTokens <= before.EvalTokens || after.PromptTokens <= before.PromptTokens {
						t.Errorf("include_usage %t: usage %+v -> %+v: the gateway must count usage either way", includeUsage, before, after)
					}
					if seenUsage != nil {
						got := usage{PromptTokens: after.PromptTokens - before.PromptTokens, EvalTokens: after.EvalTokens - before.EvalTokens}
						if diff := cmp.Diff(*seenUsage, got); diff != "" {
							t.Errorf("counted usage vs Ollama's (-ollama +counted):\n%s", diff)
						}
					}
				}
			})

			t.Run("Refusals", func(t *testing.T) {
				type want struct {
					Status int
					Code   string
				}
				wellFormed := "aichat_" + strings.Repeat("A", 43)
				cases := []struct {
					name, reason, method, path, token string
					want                              want
				}{
					{"NoToken", "the gateway is never open", "GET", "/llm/dev/api/tags", "", want{401, "unauthorized"}},
					{"WrongToken", "an unknown token", "GET", "/llm/dev/api/tags", wellFormed, want{401, "unauthorized"}},
					{"Malformed", "a token of the wrong shape", "GET", "/llm/dev/api/tags", "aichat_short", want{401, "unauthorized"}},
					{"GarbageJWT", "neither token kind", "GET", "/llm/dev/api/tags", "eyJhbGciOiJub25lIn0.e30.", want{401, "unauthorized"}},
					{"Revoked", "revocation holds at once", "GET", "/llm/dev/api/tags", revoked.Token, want{401, "unauthorized"}},
					{"OtherScope", "a token scoped to another workspace", "GET", "/llm/dev/api/tags", otherOnly.Token, want{403, "forbidden"}},
					{"OtherScopeElsewhere", "a scoped token learns nothing about other names", "GET", "/llm/bobs/api/tags", otherOnly.Token, want{403, "forbidden"}},
					{"OthersWorkspace", "bob's workspace is a 404 for alice", "GET", "/llm/bobs/api/tags", all.Token, want{404, "not_found"}},
					{"BobOnAlice", "and alice's for bob", "POST", "/llm/dev/api/chat", bobs.Token, want{404, "not_found"}},
					{"Missing", "a workspace nobody has", "GET", "/llm/nope/api/tags", all.Token, want{404, "not_found"}},
					{"Pull", "models are managed by the claim", "POST", "/llm/dev/api/pull", all.Token, want{403, "managed_by_claim"}},
					{"Create", "models are managed by the claim", "POST", "/llm/dev/api/create", all.Token, want{403, "managed_by_claim"}},
					{"Delete", "models are managed by the claim", "DELETE", "/llm/dev/api/delete", all.Token, want{403, "managed_by_claim"}},
					{"Copy", "models are managed by the claim", "POST", "/llm/dev/api/copy", all.Token, want{403, "managed_by_claim"}},
					{"Push", "models are managed by the claim", "POST", "/llm/dev/api/push", all.Token, want{403, "managed_by_claim"}},
					{"Blob", "models are managed by the claim", "POST", "/llm/dev/api/blobs/sha256:00", all.Token, want{403, "managed_by_claim"}},
					{"BobPull", "another user's workspace is a 404 first", "POST", "/llm/dev/api/pull", bobs.Token, want{404, "not_found"}},
					{"UnknownPath", "paths outside the allow-list", "GET", "/llm/dev/api/unknown", all.Token, want{404, "not_found"}},
					{"Traversal", "no way out of the workspace", "GET", "/llm/dev/../bobs/api/tags", all.Token, want{404, "not_found"}},
					{"NotReady", "a workspace without a namespace yet", "GET", "/llm/pending/api/tags", all.Token, want{503, "unavailable"}},
					{"TokenOnPortal", "API tokens are for the gateway only", "GET", "/api/v1/workspaces", all.Token, want{401, "unauthorized"}},
					{"Session", "a session access token works too", "GET", "/llm/dev/api/tags", alice.AccessToken, want{200, ""}},
					{"Admin", "an admin's session reaches any workspace", "GET", "/llm/dev/api/ps", root.AccessToken, want{200, ""}},
					{"OpenAIModels", "the OpenAI-compatible model list", "GET", "/llm/dev/v1/models", devOnly.Token, want{200, ""}},
				}
				for _, tc := range cases {
					status, code, _ := call(t, base, tc.method, tc.path, tc.token, nil)
					if diff := cmp.Diff(tc.want, want{status, code}); diff != "" {
						t.Errorf("%s: %s (-want +got):\n%s", tc.name, tc.reason, diff)
					}
				}
				clk.advance(25 * time.Hour)
				status, code, _ := call(t, base, "GET", "/llm/dev/api/tags", short.Token, nil)
				if diff := cmp.Diff(want{401, "unauthorized"}, want{status, code}); diff != "" {
					t.Errorf("an expired token (-want +got):\n%s", diff)
				}
				status, _, _ = call(t, base, "GET", "/llm/dev/api/tags", devOnly.Token, nil)
				if status != 200 {
					t.Errorf("a 30-day token a day later: %d", status)
				}
				up.mu.Lock()
				defer up.mu.Unlock()
				if len(up.authSeen) > 0 {
					t.Errorf("Ollama received the caller's credentials: %q", up.authSeen)
				}
			})

			t.Run("LongStreamAndCancel", func(t *testing.T) {
				// 50 ms per chunk: the stream lasts well past the server's
				// 1 s read and write timeouts, like a real model on a CPU.
				up.slow.Store(int64(50 * time.Millisecond))
				defer up.slow.Store(0)
				c := ollamaClient(t, base, "dev", all.Token)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				cancelledBefore := up.cancelled.Load()
				start := time.Now()
				var chunks int
				var cancelledAt time.Time
				err := c.Generate(ctx, &ollamaapi.GenerateRequest{
					Model: tinyModel, Prompt: "Tell a long story",
					Options: map[string]any{"num_predict": 200, "temperature": 0, "seed": 1},
				}, func(r ollamaapi.GenerateResponse) error {
					chunks++
					if time.Since(start) > 2500*time.Millisecond && cancelledAt.IsZero() {
						cancelledAt = time.Now()
						cancel()
					}
					return nil
				})
				if cancelledAt.IsZero() {
					t.Fatalf("the stream ended after %s and %d chunks (%v) before the client cancelled it", time.Since(start), chunks, err)
				}
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("generate after cancel: %v", err)
				}
				for up.cancelled.Load() == cancelledBefore {
					if time.Since(cancelledAt) > 5*time.Second {
						t.Fatal("the upstream request was not cancelled within 5 s of the client's cancellation")
					}
					time.Sleep(10 * time.Millisecond)
				}
				t.Logf("%d chunks over %s; upstream cancelled %s after the client", chunks, cancelledAt.Sub(start).Round(time.Millisecond), time.Since(cancelledAt).Round(time.Millisecond))
			})

			t.Run("Persisted", func(t *testing.T) {
				listed := e.usageOf(t, alice.AccessToken, all.ID)
				if err := e.srv.Gateway().Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
				ts, err := e.store.ListAPITokens(context.Background(), 0)
				if err != nil {
					t.Fatal(err)
				}
				var got usage
				for _, tk := range ts {
					if tk.ID == all.ID {
						got = usage{tk.Requests, tk.PromptTokens, tk.EvalTokens}
						if tk.LastUsedAt == nil {
							t.Error("last_used_at not written")
						}
					}
				}
				if diff := cmp.Diff(listed, got); diff != "" {
					t.Errorf("usage in the database vs listed before the flush (-listed +stored):\n%s", diff)
				}
				if listed == (usage{}) || e.usageOf(t, alice.AccessToken, all.ID) != listed {
					t.Errorf("usage changed by flushing or is empty: %+v", listed)
				}
				metrics := string(e.do(t, "GET", "/metrics", "", nil).Body)
				for _, m := range []string{`portal_gateway_requests_total{code="200",workspace="dev"}`, `portal_gateway_eval_tokens_total{workspace="dev"}`, `portal_gateway_prompt_tokens_total{workspace="dev"}`} {
					if !strings.Contains(metrics, m) {
						t.Errorf("metrics lack %s", m)
					}
				}
				if strings.Contains(metrics, "aichat_") {
					t.Error("metrics mention a token")
				}
				admin := e.do(t, "GET", "/api/v1/admin/tokens", root.AccessToken, nil)
				if n := len(admin.JSON(t)["items"].([]any)); admin.Status != 200 || n != 6 {
					t.Errorf("admin token list: %d, %d items, want all 6", admin.Status, n)
				}
			})
		})
	}
}

// TestGatewayLimits checks the rate limit and the body limit, on a real
// Ollama behind the real router.
func TestGatewayLimits(t *testing.T) {
	srvOllama := ollama.Start(t)
	ollama.InstallTinyModel(t, srvOllama, tinyModel)
	u, _ := url.Parse(srvOllama.URL)
	ws := &workspaces.Workspace{Name: "dev", Namespace: "claims", OwnerID: "1", Status: workspaces.Status{Namespace: "ws-dev"}}
	e := newEnv(t, envOptions{
		workspaces: oneWorkspace{ws},
		resolver:   gateway.ResolverFunc(func(*workspaces.Workspace) (gateway.Upstream, error) { return gateway.Upstream{URL: u}, nil }),
		edit: func(c *config.Config) {
			c.GatewayRequestsPerMin = 3
			c.GatewayMaxBodyBytes = 4096
		},
	})
	hs := httptest.NewServer(e.srv)
	t.Cleanup(hs.Close)
	alice := e.signup(t, "alice@example.com")
	tok := e.newToken(t, alice.AccessToken, map[string]any{"name": "t"})
	other := e.newToken(t, alice.AccessToken, map[string]any{"name": "u"})

	big := map[string]any{"model": tinyModel, "input": strings.Repeat("word ", 2000)}
	var got []int
	for range 3 {
		s, _, _ := call(t, hs.URL, "GET", "/llm/dev/api/version", tok.Token, nil)
		got = append(got, s)
	}
	s, code, h := call(t, hs.URL, "GET", "/llm/dev/api/version", tok.Token, nil)
	got = append(got, s)
	if code != "rate_limited" || h.Get("Retry-After") == "" {
		t.Errorf("the 4th request: code %q, Retry-After %q", code, h.Get("Retry-After"))
	}
	// Buckets are per token.
	s, _, _ = call(t, hs.URL, "GET", "/llm/dev/api/version", other.Token, nil)
	got = append(got, s)
	s, code, _ = call(t, hs.URL, "POST", "/llm/dev/api/embed", other.Token, big)
	got = append(got, s)
	if diff := cmp.Diff([]int{200, 200, 200, 429, 200, 413}, got); diff != "" {
		t.Errorf("3 allowed, the 4th limited, another token allowed, an oversized body (-want +got):\n%s", diff)
	}
	if code != "too_large" {
		t.Errorf("oversized body: code %q", code)
	}
}

// oneWorkspace is a workspaces.Service holding one workspace of user 1,
// for tests that are not about the cluster.
type oneWorkspace struct{ ws *workspaces.Workspace }

func (o oneWorkspace) Get(_ context.Context, owner workspaces.Owner, name string) (*workspaces.Workspace, error) {
	if name != o.ws.Name || strconv.FormatUint(owner.ID, 10) != o.ws.OwnerID {
		return nil, apierr.NotFound("workspace %q not found", name)
	}
	return o.ws, nil
}
func (o oneWorkspace) List(context.Context, workspaces.Owner) ([]workspaces.Workspace, error) {
	return []workspaces.Workspace{*o.ws}, nil
}
func (o oneWorkspace) ListAll(context.Context) ([]workspaces.Workspace, error) {
	return []workspaces.Workspace{*o.ws}, nil
}
func (oneWorkspace) Count(context.Context, workspaces.Owner) (int, error) { return 1, nil }
func (oneWorkspace) Create(context.Context, workspaces.Owner, string, v1alpha1.WorkspaceSpec) (*workspaces.Workspace, error) {
	return nil, apierr.Forbidden("read only")
}
func (oneWorkspace) Patch(context.Context, workspaces.Owner, string, json.RawMessage) (*workspaces.Workspace, error) {
	return nil, apierr.Forbidden("read only")
}
func (oneWorkspace) Delete(context.Context, workspaces.Owner, string) error {
	return apierr.Forbidden("read only")
}
func (oneWorkspace) Ready(context.Context) error { return nil }
