package modeljob_test

// These tests run the real model-job binary against a real Ollama (built by
// test/toolchain, see test/ollama), so the argument contract, exit codes and
// termination-log summary the composition function relies on are tested end
// to end.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ollama/ollama/api"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
	"github.com/aichatworkspaces/workspaces/function/modeljob"
	"github.com/aichatworkspaces/workspaces/test/ollama"
	"github.com/aichatworkspaces/workspaces/test/toolchain"
)

// Patterns written for these tests (never Fabric's own): two that combine
// into a tutor, with variables, Markdown headings, blank lines and quotes.
var testPatterns = map[string]string{
	"tutor_identity": "# IDENTITY and PURPOSE\n\nYou are a patient tutor of {{subject}}.\n\nYou never give the answer away; you ask \"\"\"guiding\"\"\" questions.\n",
	"answer_style":   "# OUTPUT INSTRUCTIONS\n\n- Answer in {{ lang }}.\n- Keep each answer under five sentences.\n",
}

// servePatterns serves testPatterns under /patterns/<name>/system.md and
// counts the requests.
func servePatterns(t *testing.T) (base string, hits func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/patterns/"), "/system.md")
		text, found := testPatterns[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/patterns", func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// writePatterns writes testPatterns into a directory, as a mounted
// ConfigMap would hold them.
func writePatterns(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range testPatterns {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "system.md"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// modelJob builds function/cmd/model-job once per test binary.
func modelJob(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := toolchain.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "model-job-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "model-job")
		out, err := exec.Command("go", "build", "-C", root, "-o", binPath, "./function/cmd/model-job").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("cannot build model-job: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type jobResult struct {
	Code    int
	Summary v1alpha1.ModelJobSummary
}

// job is one run of the binary.
type job struct {
	env  map[string]string
	args []string
	tl   string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

// startJob starts model-job with env (OLLAMA_HOST, PATTERN_SOURCE, ...) on
// top of a cleaned environment, writing its summary to a temporary file.
func startJob(t *testing.T, env map[string]string, args ...string) *job {
	t.Helper()
	j := &job{env: env, tl: filepath.Join(t.TempDir(), "termination-log")}
	j.args = append([]string{"--termination-log", j.tl}, args...)
	j.cmd = exec.Command(modelJob(t), j.args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "OLLAMA_") && !strings.HasPrefix(e, "PATTERN_SOURCE=") {
			j.cmd.Env = append(j.cmd.Env, e)
		}
	}
	for k, v := range env {
		j.cmd.Env = append(j.cmd.Env, k+"="+v)
	}
	j.cmd.Stdout, j.cmd.Stderr = &j.out, &j.out
	if err := j.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return j
}

// wait returns the exit code and the summary; it fails the test when the
// termination log does not hold exactly one JSON summary.
func (j *job) wait(t *testing.T) jobResult {
	t.Helper()
	err := j.cmd.Wait()
	var ee *exec.ExitError
	r := jobResult{}
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	t.Logf("model-job %s -> exit %d\n%s", strings.Join(j.args, " "), r.Code, j.out.String())
	b, err := os.ReadFile(j.tl)
	if err != nil {
		t.Fatalf("no termination log: %v", err)
	}
	if bytes.Count(b, []byte("\n")) != 1 || len(b) > 2048 {
		t.Errorf("the termination log must be one short line, got %d bytes: %q", len(b), b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r.Summary); err != nil {
		t.Fatalf("termination log %q: %v", b, err)
	}
	return r
}

func runJob(t *testing.T, env map[string]string, args ...string) jobResult {
	t.Helper()
	r, _ := runJobOutput(t, env, args...)
	return r
}

// runJobOutput also returns what the program logged.
func runJobOutput(t *testing.T, env map[string]string, args ...string) (jobResult, string) {
	t.Helper()
	j := startJob(t, env, args...)
	r := j.wait(t)
	return r, j.out.String()
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestPull pulls the tiny model from the registry stand-in into a second
// Ollama, as a Job pulls from the Ollama registry.
func TestPull(t *testing.T) {
	src := ollama.Start(t)
	ollama.InstallTinyModel(t, src, "llama3.2:1b")
	reg := ollama.StartRegistry(t, src.Models)
	dst := ollama.Start(t)
	model := reg.Host + "/library/llama3.2:1b"
	env := map[string]string{"OLLAMA_HOST": dst.URL}

	cases := map[string]struct {
		reason string
		args   []string
		want   jobResult
	}{
		"Pulled": {
			reason: "the model is pulled and listed; the summary gives its size",
			args:   []string{"pull", model, "--insecure"},
			want:   jobResult{Code: modeljob.ExitOK, Summary: v1alpha1.ModelJobSummary{Model: model, Kind: "base", State: "Ready", Message: "pulled " + model + " (SIZE)"}},
		},
		"PulledAgain": {
			reason: "pulling a present model succeeds (Ollama checks for updates)",
			args:   []string{"pull", model, "--insecure"},
			want:   jobResult{Code: modeljob.ExitOK, Summary: v1alpha1.ModelJobSummary{Model: model, Kind: "base", State: "Ready", Message: "pulled " + model + " (SIZE)"}},
		},
		"Missing": {
			reason: "a model the registry does not have fails the Job with Ollama's reason",
			args:   []string{"pull", reg.Host + "/library/nope:1b", "--insecure"},
			want:   jobResult{Code: modeljob.ExitModelFailed, Summary: v1alpha1.ModelJobSummary{Model: reg.Host + "/library/nope:1b", Kind: "base", State: "Failed", Message: "pull " + reg.Host + "/library/nope:1b: pull model manifest: file does not exist"}},
		},
		"InvalidName": {
			reason: "an invalid name is a usage error, before Ollama is asked",
			args:   []string{"pull", "bad name!"},
			want:   jobResult{Code: modeljob.ExitUsage, Summary: v1alpha1.ModelJobSummary{Model: "bad name!", Kind: "base", State: "Failed", Message: `model name "bad name!" is invalid (want e.g. llama3.2:1b or host/namespace/model:tag)`}},
		},
	}
	size := regexp.MustCompile(`\(\d+(\.\d+)? [KMG]?B\)$`)
	for _, name := range []string{"Pulled", "PulledAgain", "Missing", "InvalidName"} {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			got, logs := runJobOutput(t, env, tc.args...)
			got.Summary.Message = size.ReplaceAllString(got.Summary.Message, "(SIZE)")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
			if name == "Pulled" {
				checkProgressLogs(t, logs)
			}
		})
	}
	m, err := modeljob.FindModel(ctxFor(t), dst.Client, model)
	if err != nil || m == nil {
		t.Fatalf("%s is not listed after the pull: %v", model, err)
	}
	if reg.Requests("GET blob") == 0 {
		t.Error("the registry served no blob: the model did not come from it")
	}
}

// checkProgressLogs checks the pull logged its progress as JSON lines with
// percent and bytes, and only a few of them.
func checkProgressLogs(t *testing.T, logs string) {
	t.Helper()
	var lines, withBytes int
	for _, l := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil || rec["msg"] != "pull progress" {
			continue
		}
		lines++
		if _, ok := rec["percent"]; ok {
			if _, ok := rec["total_bytes"]; ok {
				withBytes++
			}
		}
	}
	if withBytes == 0 || lines > 40 {
		t.Errorf("want a few throttled progress lines with percent and bytes, got %d lines, %d with bytes", lines, withBytes)
	}
}

// TestPullWaitsForOllama starts the Job before Ollama, as happens when the
// Job's pod wakes a scaled-to-zero Ollama.
func TestPullWaitsForOllama(t *testing.T) {
	src := ollama.Start(t)
	ollama.InstallTinyModel(t, src, "llama3.2:1b")
	reg := ollama.StartRegistry(t, src.Models)
	addr := ollama.FreeAddr(t)
	model := reg.Host + "/library/llama3.2:1b"

	j := startJob(t, map[string]string{"OLLAMA_HOST": addr}, "--wait-timeout", "2m", "pull", model, "--insecure")
	time.Sleep(2500 * time.Millisecond) // Two attempts fail meanwhile.
	ollama.StartAt(t, addr)
	got := j.wait(t)
	if got.Code != modeljob.ExitOK || got.Summary.State != v1alpha1.ModelReady {
		t.Fatalf("want Ready with exit 0 once Ollama is up, got exit %d, %+v", got.Code, got.Summary)
	}
	if n := strings.Count(j.out.String(), `"msg":"waiting for ollama","attempt"`); n < 2 {
		t.Errorf("want at least two failed attempts logged before Ollama came up, got %d", n)
	}
}

// TestOllamaNeverUp bounds the wait and says so.
func TestOllamaNeverUp(t *testing.T) {
	addr := ollama.FreeAddr(t)
	got := runJob(t, map[string]string{"OLLAMA_HOST": addr}, "--wait-timeout", "3s", "pull", "llama3.2:1b")
	want := regexp.MustCompile(`^ollama at http://` + regexp.QuoteMeta(addr) + `: not answering after 3s \(\d+ attempts\): dial tcp ` + regexp.QuoteMeta(addr) + `: connect: connection refused$`)
	if got.Code != modeljob.ExitUnreachable || got.Summary.State != v1alpha1.ModelFailed || !want.MatchString(got.Summary.Message) {
		t.Errorf("want exit %d, Failed, a message matching %s; got exit %d, %+v", modeljob.ExitUnreachable, want, got.Code, got.Summary)
	}
}

// TestCreate builds an assistant from two patterns served over http, proves
// its system prompt and parameters, and that a second run changes nothing.
func TestCreate(t *testing.T) {
	s := ollama.Start(t)
	ollama.InstallTinyModel(t, s, "llama3.2:1b")
	rec := ollama.Record(t, s)
	base, hits := servePatterns(t)
	ctx := ctxFor(t)
	env := map[string]string{"OLLAMA_HOST": rec.URL, "PATTERN_SOURCE": base}
	args := []string{
		"create", "tutor", "--from", "llama3.2:1b",
		"--pattern", "tutor_identity", "--pattern", "answer_style",
		"--var", "subject=algebra, and some geometry", "--var", "lang=French",
		"--param", "temperature=0.2", "--param", "num_ctx=256", "--param", "seed=7",
		"--param", "stop=<|user|>", "--param", "stop=<|end|>",
	}
	wantSystem := "# IDENTITY and PURPOSE\n\nYou are a patient tutor of algebra, and some geometry.\n\n" +
		"You never give the answer away; you ask \"\"\"guiding\"\"\" questions.\n\n" +
		"# OUTPUT INSTRUCTIONS\n\n- Answer in French.\n- Keep each answer under five sentences."

	got := runJob(t, env, args...)
	want := jobResult{Code: modeljob.ExitOK, Summary: v1alpha1.ModelJobSummary{
		Model: "tutor", Kind: "assistant", State: "Ready",
		Message: "created assistant tutor from llama3.2:1b with patterns tutor_identity, answer_style",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first run: -want, +got:\n%s", diff)
	}
	if n := rec.Count("POST /api/create"); n != 1 {
		t.Errorf("first run: want 1 create call, got %d", n)
	}
	if n := hits(); n != 2 {
		t.Errorf("first run: want 2 pattern fetches, got %d", n)
	}

	show, err := s.Client.Show(ctx, &api.ShowRequest{Model: "tutor"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantSystem, show.System); diff != "" {
		t.Errorf("system prompt: -want, +got:\n%s", diff)
	}
	wantParams := modeljob.ParseShownParameters("num_ctx 256\nseed 7\nstop \"<|user|>\"\nstop \"<|end|>\"\ntemperature 0.2")
	if diff := cmp.Diff(wantParams, modeljob.ParseShownParameters(show.Parameters)); diff != "" {
		t.Errorf("parameters (ours replace the base's num_ctx and stop): -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff("llama3.2:1b", show.Details.ParentModel); diff != "" {
		t.Errorf("parent model: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff("<|system|>\n"+wantSystem+"<|end|>\n<|user|>\nWhat is x if 2x = 4?<|end|>\n<|assistant|>\n", rendered(t, s, "tutor", "What is x if 2x = 4?")); diff != "" {
		t.Errorf("the chat prompt carries the system prompt: -want, +got:\n%s", diff)
	}
	before, err := modeljob.FindModel(ctx, s.Client, "tutor")
	if err != nil || before == nil {
		t.Fatalf("tutor not listed: %v", err)
	}

	// Same arguments again: nothing changes, nothing is created.
	got = runJob(t, env, args...)
	want.Summary.Message = "assistant tutor unchanged (from llama3.2:1b, patterns tutor_identity, answer_style)"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("second run: -want, +got:\n%s", diff)
	}
	if n := rec.Count("POST /api/create"); n != 1 {
		t.Errorf("second run: want no further create call, got %d in all", n)
	}
	after, err := modeljob.FindModel(ctx, s.Client, "tutor")
	if err != nil || after == nil {
		t.Fatalf("tutor not listed: %v", err)
	}
	if diff := cmp.Diff(*before, *after); diff != "" {
		t.Errorf("second run changed the model (digest, modified time): -before, +after:\n%s", diff)
	}

	// A changed variable makes a new system prompt, and only that changes.
	for i, a := range args {
		if a == "lang=French" {
			args[i] = "lang=German"
		}
	}
	got = runJob(t, env, args...)
	want.Summary.Message = "created assistant tutor from llama3.2:1b with patterns tutor_identity, answer_style"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("third run: -want, +got:\n%s", diff)
	}
	if n := rec.Count("POST /api/create"); n != 2 {
		t.Errorf("third run: want a second create call, got %d in all", n)
	}
	show, err = s.Client.Show(ctx, &api.ShowRequest{Model: "tutor"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Replace(wantSystem, "French", "German", 1), show.System); diff != "" {
		t.Errorf("third run system prompt: -want, +got:\n%s", diff)
	}
}

// rendered returns the prompt Ollama would give the model for one user
// message, without running it.
func rendered(t *testing.T, s *ollama.Server, model, prompt string) string {
	t.Helper()
	var out string
	req := &api.ChatRequest{Model: model, Messages: []api.Message{{Role: "user", Content: prompt}}, DebugRenderOnly: true}
	if err := s.Client.Chat(ctxFor(t), req, func(r api.ChatResponse) error {
		if r.DebugInfo != nil {
			out = r.DebugInfo.RenderedTemplate
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCreateFailures checks each way a create fails: the exit code and the
// summary the tenant sees.
func TestCreateFailures(t *testing.T) {
	s := ollama.Start(t)
	ollama.InstallTinyModel(t, s, "llama3.2:1b")
	rec := ollama.Record(t, s)
	base, _ := servePatterns(t)
	dir := writePatterns(t)
	env := map[string]string{"OLLAMA_HOST": rec.URL, "PATTERN_SOURCE": base}
	vars := []string{"--var", "subject=chess", "--var", "lang=English"}

	cases := map[string]struct {
		reason string
		env    map[string]string
		args   []string
		want   jobResult
	}{
		"UnknownPattern": {
			reason: "a 404 names the pattern and the URL tried",
			args:   append([]string{"create", "coach", "--from", "llama3.2:1b", "--pattern", "tutor_identity", "--pattern", "summarize"}, vars...),
			want: jobResult{Code: modeljob.ExitModelFailed, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: `pattern "summarize": 404 Not Found from ` + base + "/summarize/system.md"}},
		},
		"MissingVariable": {
			reason: "a missing variable names itself and the pattern",
			args:   []string{"create", "coach", "--from", "llama3.2:1b", "--pattern", "tutor_identity", "--pattern", "answer_style", "--var", "subject=chess"},
			want: jobResult{Code: modeljob.ExitModelFailed, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: `pattern "answer_style": missing variable "lang"`}},
		},
		"BaseMissing": {
			reason: "the base model must have been pulled",
			args:   append([]string{"create", "coach", "--from", "llama9:70b", "--pattern", "tutor_identity"}, vars...),
			want: jobResult{Code: modeljob.ExitModelFailed, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: "base model llama9:70b is not in this workspace's Ollama; pull it first"}},
		},
		"UnknownParameter": {
			reason: "parameters are checked before anything is fetched",
			args:   append([]string{"create", "coach", "--from", "llama3.2:1b", "--pattern", "tutor_identity", "--param", "num_gpu=99"}, vars...),
			want: jobResult{Code: modeljob.ExitUsage, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: `unknown parameter "num_gpu"; known: frequency_penalty, min_p, num_ctx, num_keep, num_predict, presence_penalty, repeat_last_n, repeat_penalty, seed, stop, temperature, top_k, top_p, typical_p`}},
		},
		"BadParameterValue": {
			reason: "values are checked against their type",
			args:   append([]string{"create", "coach", "--from", "llama3.2:1b", "--pattern", "tutor_identity", "--param", "temperature=hot"}, vars...),
			want: jobResult{Code: modeljob.ExitUsage, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: `parameter temperature: "hot" is not a number`}},
		},
		"InvalidPatternName": {
			reason: "pattern names cannot leave the source",
			args:   append([]string{"create", "coach", "--from", "llama3.2:1b", "--pattern", "../../etc"}, vars...),
			want: jobResult{Code: modeljob.ExitUsage, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: `pattern name "../../etc" is invalid: use only a-z, 0-9 and _`}},
		},
		"NoPattern": {
			reason: "kong's own usage errors still produce a summary",
			args:   []string{"create", "coach", "--from", "llama3.2:1b"},
			want: jobResult{Code: modeljob.ExitUsage, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Failed",
				Message: "missing flags: --pattern=PATTERN"}},
		},
		"DirectorySource": {
			reason: "PATTERN_SOURCE may be a mounted directory (air-gapped clusters)",
			env:    map[string]string{"OLLAMA_HOST": rec.URL, "PATTERN_SOURCE": dir},
			args:   append([]string{"create", "coach", "--from", "llama3.2:1b", "--pattern", "answer_style"}, vars...),
			want: jobResult{Code: modeljob.ExitOK, Summary: v1alpha1.ModelJobSummary{Model: "coach", Kind: "assistant", State: "Ready",
				Message: "created assistant coach from llama3.2:1b with patterns answer_style"}},
		},
		"FlagOverridesEnv": {
			reason: "--pattern-source and --ollama-host win over the environment",
			env:    map[string]string{"OLLAMA_HOST": "127.0.0.1:1", "PATTERN_SOURCE": "https://unreachable.invalid/patterns"},
			args:   append([]string{"--ollama-host", rec.URL, "create", "coach2", "--from", "llama3.2:1b", "--pattern", "answer_style", "--pattern-source", "file://" + dir}, vars...),
			want: jobResult{Code: modeljob.ExitOK, Summary: v1alpha1.ModelJobSummary{Model: "coach2", Kind: "assistant", State: "Ready",
				Message: "created assistant coach2 from llama3.2:1b with patterns answer_style"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := env
			if tc.env != nil {
				e = tc.env
			}
			creates := rec.Count("POST /api/create")
			got := runJob(t, e, tc.args...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
			}
			if tc.want.Code != modeljob.ExitOK && rec.Count("POST /api/create") != creates {
				t.Errorf("a failed run must not call create")
			}
		})
	}
}

// TestCreateInheritsBaseParameters: an assistant without --param has the
// base model's parameters, and a re-run still sees it as up to date.
func TestCreateInheritsBaseParameters(t *testing.T) {
	s := ollama.Start(t)
	ollama.InstallTinyModel(t, s, "llama3.2:1b")
	rec := ollama.Record(t, s)
	env := map[string]string{"OLLAMA_HOST": rec.Addr, "PATTERN_SOURCE": "file://" + writePatterns(t)}
	args := []string{"create", "stylist:v1", "--from", "llama3.2:1b", "--pattern", "answer_style", "--var", "lang=Dutch"}

	for i, want := range []string{
		"created assistant stylist:v1 from llama3.2:1b with patterns answer_style",
		"assistant stylist:v1 unchanged (from llama3.2:1b, patterns answer_style)",
	} {
		got := runJob(t, env, args...)
		if got.Code != modeljob.ExitOK || got.Summary.Message != want {
			t.Errorf("run %d: want exit 0 and %q, got exit %d, %+v", i+1, want, got.Code, got.Summary)
		}
	}
	if n := rec.Count("POST /api/create"); n != 1 {
		t.Errorf("want one create call in two runs, got %d", n)
	}
	show, err := s.Client.Show(ctxFor(t), &api.ShowRequest{Model: "stylist:v1"})
	if err != nil {
		t.Fatal(err)
	}
	want := modeljob.ParseShownParameters("num_ctx 512\nstop \"<|end|>\"")
	if diff := cmp.Diff(want, modeljob.ParseShownParameters(show.Parameters)); diff != "" {
		t.Errorf("inherited parameters: -want, +got:\n%s", diff)
	}
}
