package ollama_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ollama/ollama/api"

	"github.com/aichatworkspaces/workspaces/test/ollama"
)

func TestTinyModelHeader(t *testing.T) {
	b := ollama.TinyModel()
	type header struct {
		Magic            string
		Version          uint32
		Tensors, KVPairs uint64
	}
	got := header{
		Magic:   string(b[:4]),
		Version: binary.LittleEndian.Uint32(b[4:8]),
		Tensors: binary.LittleEndian.Uint64(b[8:16]),
		KVPairs: binary.LittleEndian.Uint64(b[16:24]),
	}
	// 3 global tensors + 9 per layer, 2 layers; 21 metadata keys.
	want := header{Magic: "GGUF", Version: 3, Tensors: 21, KVPairs: 21}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GGUF header: -want, +got:\n%s", diff)
	}
	if len(b)%32 != 0 || len(b) > 1<<20 {
		t.Errorf("the model is %d bytes: want a multiple of the 32-byte alignment, under 1 MiB", len(b))
	}
	if !bytes.Equal(b, ollama.TinyModel()) {
		t.Error("TinyModel is not deterministic")
	}
}

// TestTinyModel proves the generated model is a real one: Ollama creates it
// from the GGUF, renders the system prompt with it, and generates tokens.
func TestTinyModel(t *testing.T) {
	s := ollama.Start(t)
	ollama.InstallTinyModel(t, s, "llama3.2:1b", "tiny:latest")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	list, err := s.Client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list.Models {
		names = append(names, m.Name)
	}
	if diff := cmp.Diff([]string{"llama3.2:1b", "tiny:latest"}, names, sortStrings); diff != "" {
		t.Errorf("listed models: -want, +got:\n%s", diff)
	}

	show, err := s.Client.Show(ctx, &api.ShowRequest{Model: "llama3.2:1b"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("llama", show.Details.Family); diff != "" {
		t.Errorf("family: -want, +got:\n%s", diff)
	}

	render := &api.ChatRequest{
		Model:           "llama3.2:1b",
		Messages:        []api.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}},
		DebugRenderOnly: true,
	}
	var rendered string
	if err := s.Client.Chat(ctx, render, func(r api.ChatResponse) error {
		if r.DebugInfo != nil {
			rendered = r.DebugInfo.RenderedTemplate
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n", rendered); diff != "" {
		t.Errorf("rendered prompt: -want, +got:\n%s", diff)
	}

	stream := false
	var gen api.ChatResponse
	chat := &api.ChatRequest{
		Model:    "llama3.2:1b",
		Messages: []api.Message{{Role: "user", Content: "Hi"}},
		Stream:   &stream,
		Options:  map[string]any{"num_predict": 8, "temperature": 0, "seed": 1},
	}
	if err := s.Client.Chat(ctx, chat, func(r api.ChatResponse) error { gen = r; return nil }); err != nil {
		t.Fatalf("chat with the tiny model: %v\n%s", err, s.Logs())
	}
	t.Logf("the tiny model said %q (%d tokens)", gen.Message.Content, gen.EvalCount)
	if gen.EvalCount == 0 || !gen.Done {
		t.Errorf("chat: want generated tokens and done, got eval_count %d, done %t (%q)", gen.EvalCount, gen.Done, gen.Message.Content)
	}
}

// TestRegistry proves a second server can really pull from the stand-in.
func TestRegistry(t *testing.T) {
	src := ollama.Start(t)
	ollama.InstallTinyModel(t, src, "llama3.2:1b")
	reg := ollama.StartRegistry(t, src.Models)
	dst := ollama.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	name := reg.Host + "/library/llama3.2:1b"
	var statuses []string
	err := dst.Client.Pull(ctx, &api.PullRequest{Model: name, Insecure: true}, func(r api.ProgressResponse) error {
		if len(statuses) == 0 || statuses[len(statuses)-1] != r.Status {
			statuses = append(statuses, r.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("pull %s: %v", name, err)
	}
	if got := statuses[len(statuses)-1]; got != "success" {
		t.Errorf("last pull status: want success, got %q (all: %q)", got, statuses)
	}
	if _, err := dst.Client.Show(ctx, &api.ShowRequest{Model: name}); err != nil {
		t.Errorf("show the pulled model: %v", err)
	}
	if reg.Requests("GET manifest") == 0 || reg.Requests("GET blob") == 0 {
		t.Errorf("the registry served %d manifest and %d blob GETs: want both", reg.Requests("GET manifest"), reg.Requests("GET blob"))
	}
	start := time.Now()
	err = dst.Client.Pull(ctx, &api.PullRequest{Model: reg.Host + "/library/nope:1b", Insecure: true}, func(api.ProgressResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "file does not exist") {
		t.Errorf("pull a model the registry lacks: want \"file does not exist\", got %v", err)
	}
	t.Logf("failed pull took %s", time.Since(start))
}

var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })
