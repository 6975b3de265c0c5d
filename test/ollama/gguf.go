package ollama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// TinyModel shapes: big enough for llama.cpp to load it, small enough to
// write in a few milliseconds (about 0.5 MB).
const (
	tinyEmbd    = 64
	tinyHeads   = 4
	tinyLayers  = 2
	tinyFF      = 128
	tinyContext = 512
)

// tinyPieces are SentencePiece-style pieces besides the byte tokens; any
// text tokenizes anyway through byte fallback.
var tinyPieces = []string{"▁", "▁the", "▁a", "▁you", "▁are", "▁is", "e", "t", "a", "o", "s", "n", "."}

// GGUF value types we write (gguf.h: enum gguf_type).
const (
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
)

// SentencePiece token types (llama.cpp: llama_token_type).
const (
	tokenNormal  = 1
	tokenUnknown = 2
	tokenControl = 3
	tokenByte    = 6
)

const ggufAlignment = 32

// TinyModel returns a GGUF v3 model of architecture llama with F32 weights
// drawn from a fixed seed: the same bytes every time, gibberish output. It
// exists so tests have a real model without downloading one.
func TinyModel() []byte {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{tokenUnknown, tokenControl, tokenControl}
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokenByte)
	}
	tokens = append(tokens, tinyPieces...)
	scores := make([]float32, len(tokens))
	for i := range tinyPieces {
		types = append(types, tokenNormal)
		scores[len(tokens)-len(tinyPieces)+i] = -float32(i + 1)
	}
	vocab := len(tokens)

	var w ggufWriter
	kv := []func(){
		func() { w.kvString("general.architecture", "llama") },
		func() { w.kvString("general.name", "aichat-tiny") },
		func() { w.kvUint32("general.file_type", 0) }, // All F32.
		func() { w.kvUint32("general.alignment", ggufAlignment) },
		func() { w.kvUint32("llama.context_length", tinyContext) },
		func() { w.kvUint32("llama.embedding_length", tinyEmbd) },
		func() { w.kvUint32("llama.block_count", tinyLayers) },
		func() { w.kvUint32("llama.feed_forward_length", tinyFF) },
		func() { w.kvUint32("llama.attention.head_count", tinyHeads) },
		func() { w.kvUint32("llama.attention.head_count_kv", tinyHeads) },
		func() { w.kvUint32("llama.rope.dimension_count", tinyEmbd/tinyHeads) },
		func() { w.kvFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5) },
		func() { w.kvUint32("llama.vocab_size", uint32(vocab)) },
		func() { w.kvString("tokenizer.ggml.model", "llama") },
		func() { w.kvStrings("tokenizer.ggml.tokens", tokens) },
		func() { w.kvFloat32s("tokenizer.ggml.scores", scores) },
		func() { w.kvInt32s("tokenizer.ggml.token_type", types) },
		func() { w.kvUint32("tokenizer.ggml.unknown_token_id", 0) },
		func() { w.kvUint32("tokenizer.ggml.bos_token_id", 1) },
		func() { w.kvUint32("tokenizer.ggml.eos_token_id", 2) },
		func() { w.kvBool("tokenizer.ggml.add_bos_token", true) },
	}

	type tensor struct {
		name  string
		dims  []uint64 // ne[0] first: the row length.
		value float32  // Norm weights are ones; 0 means random.
	}
	tensors := []tensor{
		{name: "token_embd.weight", dims: []uint64{tinyEmbd, uint64(vocab)}},
		{name: "output_norm.weight", dims: []uint64{tinyEmbd}, value: 1},
		{name: "output.weight", dims: []uint64{tinyEmbd, uint64(vocab)}},
	}
	for i := range tinyLayers {
		p := fmt.Sprintf("blk.%d.", i)
		tensors = append(tensors,
			tensor{name: p + "attn_norm.weight", dims: []uint64{tinyEmbd}, value: 1},
			tensor{name: p + "attn_q.weight", dims: []uint64{tinyEmbd, tinyEmbd}},
			tensor{name: p + "attn_k.weight", dims: []uint64{tinyEmbd, tinyEmbd}},
			tensor{name: p + "attn_v.weight", dims: []uint64{tinyEmbd, tinyEmbd}},
			tensor{name: p + "attn_output.weight", dims: []uint64{tinyEmbd, tinyEmbd}},
			tensor{name: p + "ffn_norm.weight", dims: []uint64{tinyEmbd}, value: 1},
			tensor{name: p + "ffn_gate.weight", dims: []uint64{tinyEmbd, tinyFF}},
			tensor{name: p + "ffn_up.weight", dims: []uint64{tinyEmbd, tinyFF}},
			tensor{name: p + "ffn_down.weight", dims: []uint64{tinyFF, tinyEmbd}},
		)
	}

	// Header: magic, version, tensor count, KV count.
	w.raw([]byte("GGUF"))
	w.u32(3)
	w.u64(uint64(len(tensors)))
	w.u64(uint64(len(kv)))
	for _, f := range kv {
		f()
	}
	// Tensor infos; offsets are relative to the aligned data section.
	var offset uint64
	sizes := make([]uint64, len(tensors))
	for i, t := range tensors {
		n := uint64(1)
		for _, d := range t.dims {
			n *= d
		}
		sizes[i] = n * 4
		w.str(t.name)
		w.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			w.u64(d)
		}
		w.u32(0) // GGML_TYPE_F32
		w.u64(offset)
		offset = alignUp(offset+sizes[i], ggufAlignment)
	}
	w.pad()

	rng := rand.New(rand.NewPCG(2026, 3))
	for i, t := range tensors {
		// Small weights keep activations finite through the layers.
		scale := float32(1 / math.Sqrt(float64(t.dims[0])))
		for range sizes[i] / 4 {
			v := t.value
			if v == 0 {
				v = (rng.Float32()*2 - 1) * scale
			}
			w.u32(math.Float32bits(v))
		}
		w.pad()
	}
	return w.buf.Bytes()
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// ggufWriter appends little-endian GGUF values to a buffer.
type ggufWriter struct{ buf bytes.Buffer }

func (w *ggufWriter) raw(b []byte) { w.buf.Write(b) }
func (w *ggufWriter) u32(v uint32) { w.buf.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *ggufWriter) u64(v uint64) { w.buf.Write(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *ggufWriter) str(s string) { w.u64(uint64(len(s))); w.buf.WriteString(s) }

func (w *ggufWriter) pad() {
	for w.buf.Len()%ggufAlignment != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *ggufWriter) kvString(k, v string) { w.str(k); w.u32(ggufString); w.str(v) }
func (w *ggufWriter) kvUint32(k string, v uint32) {
	w.str(k)
	w.u32(ggufUint32)
	w.u32(v)
}
func (w *ggufWriter) kvFloat32(k string, v float32) {
	w.str(k)
	w.u32(ggufFloat32)
	w.u32(math.Float32bits(v))
}
func (w *ggufWriter) kvBool(k string, v bool) {
	w.str(k)
	w.u32(ggufBool)
	if v {
		w.buf.WriteByte(1)
	} else {
		w.buf.WriteByte(0)
	}
}

func (w *ggufWriter) kvStrings(k string, v []string) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufString)
	w.u64(uint64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

func (w *ggufWriter) kvFloat32s(k string, v []float32) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufFloat32)
	w.u64(uint64(len(v)))
	for _, f := range v {
		w.u32(math.Float32bits(f))
	}
}

func (w *ggufWriter) kvInt32s(k string, v []int32) {
	w.str(k)
	w.u32(ggufArray)
	w.u32(ggufInt32)
	w.u64(uint64(len(v)))
	for _, n := range v {
		w.u32(uint32(n))
	}
}
