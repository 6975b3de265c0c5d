package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aichatworkspaces/workspaces/portal/store"
)

// tailMax is how much of each line the scanner keeps. Ollama writes the
// counts at the end of its objects (prompt_eval_count, eval_count after the
// message; usage after the choices; prompt_eval_count after the embeddings),
// so the tail of a line is enough, however long the line is: a streamed
// answer is never buffered, and a multi-megabyte embedding costs 4 KiB.
const tailMax = 4 << 10

// usageScanner finds the token counts in an answer as it streams past:
// NDJSON lines (native API), SSE "data:" lines (OpenAI-compatible streams)
// or one JSON document. For each count the last line that has it wins: the
// final chunk of a stream carries the totals.
type usageScanner struct {
	tail         []byte
	prompt, eval int64
}

func (s *usageScanner) Write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.keep(p)
			return
		}
		s.keep(p[:i])
		s.endLine()
		p = p[i+1:]
	}
}

func (s *usageScanner) keep(p []byte) {
	s.tail = append(s.tail, p...)
	if len(s.tail) > 2*tailMax {
		s.tail = append(s.tail[:0], s.tail[len(s.tail)-tailMax:]...)
	}
}

// endLine looks for the counts of the native API and of the OpenAI one. A
// key inside a JSON string is escaped (\"eval_count\":), so it cannot match
// with its quotes; "prompt_eval_count" does not match "eval_count" for the
// same reason.
func (s *usageScanner) endLine() {
	l := s.tail
	if n, ok := number(l, `"prompt_eval_count":`); ok {
		s.prompt = n
	}
	if n, ok := number(l, `"eval_count":`); ok {
		s.eval = n
	}
	if n, ok := number(l, `"prompt_tokens":`); ok {
		s.prompt = n
	}
	if n, ok := number(l, `"completion_tokens":`); ok {
		s.eval = n
	}
	s.tail = s.tail[:0]
}

// Close handles a last line without a newline (a JSON document).
func (s *usageScanner) Close() { s.endLine() }

// number parses the integer after the last occurrence of key in l.
func number(l []byte, key string) (int64, bool) {
	i := bytes.LastIndex(l, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(l[i+len(key):], " ")
	var n int64
	digits := 0
	for _, c := range rest {
		if c < '0' || c > '9' || digits == 18 {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	return n, digits > 0
}

// sseFilter drops the usage-only chunk (`"choices":[]` with usage) that the
// gateway asked Ollama for on the client's behalf, so a client that did not
// ask for usage sees exactly the stream it would see without the gateway.
// It holds at most one partial event: Ollama writes each event whole.
type sseFilter struct {
	http.ResponseWriter
	buf []byte
}

var eventEnd = []byte("\n\n")

func (f *sseFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for {
		i := bytes.Index(f.buf, eventEnd)
		if i < 0 {
			return len(p), nil
		}
		ev := f.buf[:i+len(eventEnd)]
		if !(bytes.Contains(ev, []byte(`"choices":[]`)) && bytes.Contains(ev, []byte(`"usage":{`))) {
			if _, err := f.ResponseWriter.Write(ev); err != nil {
				return 0, err
			}
		}
		f.buf = f.buf[i+len(eventEnd):]
	}
}

// finish writes what is left (an answer that was not an event stream).
func (f *sseFilter) finish() {
	if len(f.buf) > 0 {
		_, _ = f.ResponseWriter.Write(f.buf)
		f.buf = nil
	}
}

// Unwrap lets http.ResponseController reach the connection (Flush,
// deadlines).
func (f *sseFilter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// ledger collects usage per API token in memory and writes it to the store
// in batches: one UPDATE per token and flush instead of one per request.
type ledger struct {
	st  store.Store
	log *slog.Logger

	mu      sync.Mutex
	pending map[uint64]*store.TokenUsage
}

func newLedger(st store.Store, log *slog.Logger) *ledger {
	return &ledger{st: st, log: log, pending: map[uint64]*store.TokenUsage{}}
}

func (l *ledger) add(tokenID uint64, prompt, eval int64, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.pending[tokenID]
	if u == nil {
		u = &store.TokenUsage{TokenID: tokenID}
		l.pending[tokenID] = u
	}
	u.Requests++
	u.PromptTokens += prompt
	u.EvalTokens += eval
	if at.After(u.LastUsedAt) {
		u.LastUsedAt = at
	}
}

// Pending is the usage of a token not written yet.
func (l *ledger) Pending(tokenID uint64) store.TokenUsage {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.pending[tokenID]; u != nil {
		return *u
	}
	return store.TokenUsage{TokenID: tokenID}
}

// Flush writes the pending usage. On failure it is kept for the next try,
// so a database hiccup loses nothing.
func (l *ledger) Flush(ctx context.Context) error {
	l.mu.Lock()
	batch := make([]store.TokenUsage, 0, len(l.pending))
	for _, u := range l.pending {
		batch = append(batch, *u)
	}
	l.pending = map[uint64]*store.TokenUsage{}
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := l.st.AddAPITokenUsage(ctx, batch)
	if err != nil {
		l.mu.Lock()
		for _, u := range batch {
			l.addLocked(u)
		}
		l.mu.Unlock()
	}
	return err
}

func (l *ledger) addLocked(b store.TokenUsage) {
	u := l.pending[b.TokenID]
	if u == nil {
		u = &store.TokenUsage{TokenID: b.TokenID}
		l.pending[b.TokenID] = u
	}
	u.Requests += b.Requests
	u.PromptTokens += b.PromptTokens
	u.EvalTokens += b.EvalTokens
	if b.LastUsedAt.After(u.LastUsedAt) {
		u.LastUsedAt = b.LastUsedAt
	}
}
