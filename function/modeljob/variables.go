package modeljob

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	variableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// placeholderRE finds {{name}} (spaces inside the braces allowed).
	// Fabric's other template forms, such as {{plugin:...}}, do not match
	// and are left alone.
	placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
)

// ParseVariables turns --var k=v arguments into a map. A key may appear once.
func ParseVariables(args []string) (map[string]string, error) {
	vars := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("variable %q: want name=value", a)
		}
		if !variableNameRE.MatchString(k) {
			return nil, fmt.Errorf("variable %q: the name must match %s", a, variableNameRE)
		}
		if _, dup := vars[k]; dup {
			return nil, fmt.Errorf("variable %q is set twice", k)
		}
		vars[k] = v
	}
	return vars, nil
}

// Substitute replaces every {{name}} in a pattern's text with its value. A
// placeholder without a value is an error naming the pattern and every
// missing variable, so a tenant fixes them all at once. Values are not
// expanded again: a value containing {{x}} stays as written.
func Substitute(pattern, text string, vars map[string]string) (string, error) {
	missing := map[string]bool{}
	out := placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing[name] = true
			return m
		}
		return v
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, fmt.Sprintf("%q", n))
		}
		sort.Strings(names)
		noun := "variable"
		if len(names) > 1 {
			noun = "variables"
		}
		return "", fmt.Errorf("pattern %q: missing %s %s", pattern, noun, strings.Join(names, ", "))
	}
	return out, nil
}

// patternSeparator joins patterns; a blank line keeps Markdown headings of
// the next pattern intact.
const patternSeparator = "\n\n"

// AssembleSystem fetches the patterns in order, substitutes variables in
// each and joins them into one system prompt.
func AssembleSystem(ctx context.Context, src PatternSource, patterns []string, vars map[string]string) (string, error) {
	if len(patterns) == 0 {
		return "", fmt.Errorf("no patterns given")
	}
	parts := make([]string, 0, len(patterns))
	for _, p := range patterns {
		text, err := src.Fetch(ctx, p)
		if err != nil {
			return "", err
		}
		text, err = Substitute(p, text, vars)
		if err != nil {
			return "", err
		}
		parts = append(parts, strings.TrimSpace(text))
	}
	return strings.Join(parts, patternSeparator), nil
}
