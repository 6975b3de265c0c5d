package modeljob

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseVariables(t *testing.T) {
	type want struct {
		vars map[string]string
		err  string
	}
	cases := map[string]struct {
		reason string
		args   []string
		want   want
	}{
		"None":       {reason: "no --var is an empty map", want: want{vars: map[string]string{}}},
		"Some":       {reason: "the value is everything after the first =", args: []string{"lang=en", "eq=a=b", "empty="}, want: want{vars: map[string]string{"lang": "en", "eq": "a=b", "empty": ""}}},
		"NoEquals":   {reason: "name=value is required", args: []string{"lang"}, want: want{err: `variable "lang": want name=value`}},
		"BadName":    {reason: "names are identifiers", args: []string{"my-var=x"}, want: want{err: `variable "my-var=x": the name must match ^[A-Za-z_][A-Za-z0-9_]*$`}},
		"Duplicated": {reason: "a second value would silently win", args: []string{"a=1", "a=2"}, want: want{err: `variable "a" is set twice`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			vars, err := ParseVariables(tc.args)
			got := want{vars: vars, err: errText(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nParseVariables(%q): -want, +got:\n%s", tc.reason, tc.args, diff)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	type want struct {
		text string
		err  string
	}
	cases := map[string]struct {
		reason string
		text   string
		vars   map[string]string
		want   want
	}{
		"NoPlaceholders": {reason: "text without placeholders is unchanged", text: "Plain.", want: want{text: "Plain."}},
		"Substituted":    {reason: "every occurrence is replaced", text: "Answer in {{lang}}. Again: {{lang}}, as {{role}}.", vars: map[string]string{"lang": "French", "role": "a tutor"}, want: want{text: "Answer in French. Again: French, as a tutor."}},
		"Spaces":         {reason: "spaces inside the braces are allowed", text: "In {{ lang }}.", vars: map[string]string{"lang": "German"}, want: want{text: "In German."}},
		"NotReexpanded":  {reason: "values are inserted literally", text: "{{a}}", vars: map[string]string{"a": "{{b}}"}, want: want{text: "{{b}}"}},
		"OtherSyntax":    {reason: "Fabric's plugin calls are not variables", text: "{{plugin:datetime:now}} and {{}}", want: want{text: "{{plugin:datetime:now}} and {{}}"}},
		"Missing":        {reason: "the error names the variable and the pattern", text: "In {{lang}}.", want: want{err: `pattern "greet": missing variable "lang"`}},
		"MissingSome":    {reason: "all missing variables are named, sorted", text: "{{z}} {{lang}} {{a}} {{z}}", vars: map[string]string{"lang": "x"}, want: want{err: `pattern "greet": missing variables "a", "z"`}},
		"UnusedVariable": {reason: "a variable no pattern uses is fine (another pattern may)", text: "Hi.", vars: map[string]string{"x": "y"}, want: want{text: "Hi."}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			text, err := Substitute("greet", tc.text, tc.vars)
			got := want{text: text, err: errText(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nSubstitute(%q): -want, +got:\n%s", tc.reason, tc.text, diff)
			}
		})
	}
}

func TestAssembleSystem(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"identity": "# IDENTITY\n\nYou are a {{role}}.\n\n",
		"steps":    "\n# STEPS\n\n- Answer in {{lang}}.\n- Use \"\"\"quotes\"\"\" freely.\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "system.md"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type want struct {
		system string
		err    string
	}
	cases := map[string]struct {
		reason   string
		patterns []string
		vars     map[string]string
		want     want
	}{
		"InOrder": {
			reason:   "patterns are trimmed and joined by a blank line, in the order given",
			patterns: []string{"identity", "steps"},
			vars:     map[string]string{"role": "tutor", "lang": "French"},
			want:     want{system: "# IDENTITY\n\nYou are a tutor.\n\n# STEPS\n\n- Answer in French.\n- Use \"\"\"quotes\"\"\" freely."},
		},
		"Reversed": {
			reason:   "order matters",
			patterns: []string{"steps", "identity"},
			vars:     map[string]string{"role": "tutor", "lang": "French"},
			want:     want{system: "# STEPS\n\n- Answer in French.\n- Use \"\"\"quotes\"\"\" freely.\n\n# IDENTITY\n\nYou are a tutor."},
		},
		"MissingVariable": {
			reason:   "the error names the pattern that needs it",
			patterns: []string{"identity", "steps"},
			vars:     map[string]string{"role": "tutor"},
			want:     want{err: `pattern "steps": missing variable "lang"`},
		},
		"MissingPattern": {
			reason:   "a missing pattern stops the assembly",
			patterns: []string{"identity", "nope"},
			vars:     map[string]string{"role": "tutor"},
			want:     want{err: `pattern "nope": not found at ` + filepath.Join(dir, "nope", "system.md")},
		},
		"None": {reason: "an assistant needs a pattern", want: want{err: "no patterns given"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			system, err := AssembleSystem(context.Background(), dirSource{dir: dir}, tc.patterns, tc.vars)
			got := want{system: system, err: errText(err)}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s\nAssembleSystem(%q): -want, +got:\n%s", tc.reason, tc.patterns, diff)
			}
		})
	}
}

// BenchmarkAssembleSystem measures assembling three patterns of Fabric's
// typical size (about 4 KiB each) with a few variables, from a directory.
func BenchmarkAssembleSystem(b *testing.B) {
	dir := b.TempDir()
	names := []string{"one", "two", "three"}
	body := strings.Repeat("- Write in {{lang}} for {{audience}}; keep it short and concrete.\n", 60)
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n, "system.md"), []byte("# "+n+"\n\n"+body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	vars := map[string]string{"lang": "English", "audience": "engineers"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AssembleSystem(ctx, dirSource{dir: dir}, names, vars); err != nil {
			b.Fatal(err)
		}
	}
}
