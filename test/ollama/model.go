package ollama

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// TinyTemplate is the chat template of the tiny model. It renders the
// system prompt, which a raw GGUF's default template ({{ .Prompt }}) would
// drop.
const TinyTemplate = `{{- if .System }}<|system|>
{{ .System }}<|end|>
{{ end }}{{ if .Prompt }}<|user|>
{{ .Prompt }}<|end|>
{{ end }}<|assistant|>
`

// TinyParameters are the tiny model's own parameters, as a real base model
// carries some (assistants inherit them).
var TinyParameters = map[string]any{"stop": []string{"<|end|>"}, "num_ctx": 512}

var (
	tinyOnce sync.Once
	tinyGGUF []byte
)

// InstallTinyModel creates the tiny model in s under each name (the first
// is created, the rest are copies), e.g. InstallTinyModel(t, s,
// "llama3.2:1b"). Creating it takes well under a second.
func InstallTinyModel(t testing.TB, s *Server, names ...string) {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("InstallTinyModel: no names")
	}
	tinyOnce.Do(func() { tinyGGUF = TinyModel() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(tinyGGUF))
	if err := s.Client.CreateBlob(ctx, digest, bytes.NewReader(tinyGGUF)); err != nil {
		t.Fatalf("%s: cannot upload the tiny model: %v", s, err)
	}
	req := &api.CreateRequest{
		Model:      names[0],
		Files:      map[string]string{"tiny.gguf": digest},
		Template:   TinyTemplate,
		Parameters: TinyParameters,
	}
	if err := s.Client.Create(ctx, req, func(api.ProgressResponse) error { return nil }); err != nil {
		t.Fatalf("%s: cannot create %s from the tiny model: %v", s, names[0], err)
	}
	for _, n := range names[1:] {
		if err := s.Client.Copy(ctx, &api.CopyRequest{Source: names[0], Destination: n}); err != nil {
			t.Fatalf("%s: cannot copy %s to %s: %v", s, names[0], n, err)
		}
	}
}

// counter counts by key, safely across handler goroutines.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}
