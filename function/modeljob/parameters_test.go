package modeljob

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ollama/ollama/api"
)

func TestParseParameters(t *testing.T) {
	type want struct {
		params map[string]any
		err    string
	}
	cases := map[string]struct {
		reason string
		args   []string
		want   want
	}{
		"None": {reason: "no --param is an empty map", want: want{params: map[string]any{}}},
		"Typed": {
			reason: "counts become int64, samplers float32, stop a list",
			args: []string{
				"num_ctx=4096", "num_predict=-1", "num_keep=4", "top_k=40", "repeat_last_n=64", "seed=42",
				"temperature=0.7", "top_p=0.9", "min_p=0.05", "typical_p=1", "repeat_penalty=1.1",
				"presence_penalty=0", "frequency_penalty=-0.5", "stop=<|end|>", "stop=User:",
			},
			want: want{params: map[string]any{
				"num_ctx": int64(4096), "num_predict": int64(-1), "num_keep": int64(4), "top_k": int64(40),
				"repeat_last_n": int64(64), "seed": int64(42),
				"temperature": float32(0.7), "top_p": float32(0.9), "min_p": float32(0.05), "typical_p": float32(1),
				"repeat_penalty": float32(1.1), "presence_penalty": float32(0), "frequency_penalty": float32(-0.5),
				"stop": []string{"<|end|>", "User:"},
			}},
		},
		"StopWithEquals": {reason: "only the first = splits", args: []string{"stop=a=b"}, want: want{params: map[string]any{"stop": []string{"a=b"}}}},
		"StopWithComma":  {reason: "a stop value is never split on commas", args: []string{"stop=a,b"}, want: want{params: map[string]any{"stop": []string{"a,b"}}}},
		"Unknown": {
			reason: "the error lists what is allowed",
			args:   []string{"num_gpu=1"},
			want:   want{err: `unknown parameter "num_gpu"; known: frequency_penalty, min_p, num_ctx, num_keep, num_predict, presence_penalty, repeat_last_n, repeat_penalty, seed, stop, temperature, top_k, top_p, typical_p`},
		},
		"NotAnInt":    {reason: "integers are checked", args: []string{"num_ctx=4k"}, want: want{err: `parameter num_ctx: "4k" is not an integer`}},
		"FloatForInt": {reason: "a fraction is not a count", args: []string{"top_k=1.5"}, want: want{err: `parameter top_k: "1.5" is not an integer`}},
		"NotAFloat":   {reason: "floats are checked", args: []string{"temperature=warm"}, want: want{err: `parameter temperature: "warm" is not a number`}},
		"NoEquals":    {reason: "name=value is required", args: []string{"temperature"}, want: want{err: `parameter "temperature": want name=value`}},
		"Twice":       {reason: "only stop repeats", args: []string{"seed=1", "seed=2"}, want: want{err: "parameter seed is set twice"}},
		"EmptyStop":   {reason: "an empty stop sequence would end every answer at once", args: []string{"stop="}, want: want{err: "parameter stop: the value is empty"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			params, err := ParseParameters(tc.args)
			got := want{params: params, err: errText(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nParseParameters(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}

// TestParametersMatchOllama checks our types against the ollama api's own
// Modelfile conversion, so a parameter never changes type between the two.
func TestParametersMatchOllama(t *testing.T) {
	for _, name := range ParameterNames() {
		t.Run(name, func(t *testing.T) {
			value := "1"
			ours, err := ParseParameters([]string{name + "=" + value})
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := api.FormatParams(map[string][]string{name: {value}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("ParseParameters(%s=%s) differs from api.FormatParams: -theirs, +ours:\n%s", name, value, diff)
			}
		})
	}
}

func TestParseShownParameters(t *testing.T) {
	cases := map[string]struct {
		reason string
		shown  string
		want   shownParameters
	}{
		"Empty": {reason: "no parameters", shown: "", want: shownParameters{}},
		"Show": {
			reason: "the format of ollama show: padded names, %#v values, one line per stop",
			shown:  "num_ctx                        4096\nstop                           \"<|end|>\"\nstop                           \"a b\"\ntemperature                    0.7",
			want:   shownParameters{"num_ctx": {"4096"}, "stop": {`"<|end|>"`, `"a b"`}, "temperature": {"0.7"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseShownParameters(tc.shown)); diff != "" {
				t.Errorf("%s\nParseShownParameters: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestShowParameters(t *testing.T) {
	cases := map[string]struct {
		reason string
		params map[string]any
		want   shownParameters
	}{
		"Nil": {reason: "no parameters", want: shownParameters{}},
		"Typed": {
			reason: "numbers print as the server prints them after a JSON round trip",
			params: map[string]any{"num_ctx": int64(4096), "temperature": float32(0.7), "top_p": float32(1), "seed": int64(-3), "stop": []string{"<|end|>", "x"}},
			want:   shownParameters{"num_ctx": {"4096"}, "temperature": {"0.7"}, "top_p": {"1"}, "seed": {"-3"}, "stop": {`"<|end|>"`, `"x"`}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := showParameters(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nshowParameters: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestShownParametersMergeEqual(t *testing.T) {
	base := shownParameters{"stop": {`"<|end|>"`, `"<|eot|>"`}, "num_ctx": {"2048"}}
	cases := map[string]struct {
		reason    string
		ours      shownParameters
		existing  shownParameters
		wantEqual bool
	}{
		"Inherited":     {reason: "without our parameters the model has the base's", existing: maps.Clone(base), wantEqual: true},
		"Overridden":    {reason: "ours replace the base's per name", ours: shownParameters{"num_ctx": {"8192"}}, existing: shownParameters{"stop": {`"<|end|>"`, `"<|eot|>"`}, "num_ctx": {"8192"}}, wantEqual: true},
		"StopReplaced":  {reason: "a stop list replaces the base's whole list", ours: shownParameters{"stop": {`"X"`}}, existing: shownParameters{"stop": {`"X"`}, "num_ctx": {"2048"}}, wantEqual: true},
		"StopAppended":  {reason: "an appended list is not what the server stores", ours: shownParameters{"stop": {`"X"`}}, existing: shownParameters{"stop": {`"<|end|>"`, `"<|eot|>"`, `"X"`}, "num_ctx": {"2048"}}},
		"ValueChanged":  {reason: "a changed value differs", ours: shownParameters{"temperature": {"0.5"}}, existing: shownParameters{"stop": {`"<|end|>"`, `"<|eot|>"`}, "num_ctx": {"2048"}, "temperature": {"0.7"}}},
		"ParamRemoved":  {reason: "a parameter we no longer set makes the model stale", existing: shownParameters{"stop": {`"<|end|>"`, `"<|eot|>"`}, "num_ctx": {"2048"}, "seed": {"1"}}},
		"OrderOfStops":  {reason: "stop order is kept by the server, so it counts", ours: shownParameters{"stop": {`"a"`, `"b"`}}, existing: shownParameters{"stop": {`"b"`, `"a"`}, "num_ctx": {"2048"}}},
		"MissingInBase": {reason: "nil base merges fine", ours: shownParameters{"seed": {"1"}}, existing: shownParameters{"stop": {`"<|end|>"`, `"<|eot|>"`}, "num_ctx": {"2048"}, "seed": {"1"}}, wantEqual: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := base.merge(tc.ours)
			if got := tc.existing.equal(want); got != tc.wantEqual {
				t.Errorf("%s\n%v equal to %v: want %t, got %t", tc.reason, tc.existing, want, tc.wantEqual, got)
			}
		})
	}
	if diff := cmp.Diff(shownParameters{"a": {"1"}}, shownParameters(nil).merge(shownParameters{"a": {"1"}})); diff != "" {
		t.Errorf("merge onto nil: -want, +got:\n%s", diff)
	}
}
