package modeljob

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

type paramKind int

const (
	paramInt paramKind = iota
	paramFloat
	paramStrings
)

// parameterKinds are the Modelfile PARAMETERs a workspace may set, with the
// type Ollama's api.Options gives them. Runner settings (num_gpu, num_thread,
// ...) are the platform's business, not a tenant's, so they are not here.
var parameterKinds = map[string]paramKind{
	"num_ctx":           paramInt,
	"num_predict":       paramInt,
	"num_keep":          paramInt,
	"top_k":             paramInt,
	"repeat_last_n":     paramInt,
	"seed":              paramInt,
	"temperature":       paramFloat,
	"top_p":             paramFloat,
	"min_p":             paramFloat,
	"typical_p":         paramFloat,
	"repeat_penalty":    paramFloat,
	"presence_penalty":  paramFloat,
	"frequency_penalty": paramFloat,
	"stop":              paramStrings,
}

// ParameterNames lists the parameters ParseParameters accepts, sorted.
func ParameterNames() []string {
	return slices.Sorted(maps.Keys(parameterKinds))
}

// ParseParameters converts --param k=v arguments (strings, as in a Modelfile
// PARAMETER line) into the typed values api.CreateRequest.Parameters wants:
// int64 for counts, float32 for the samplers' floats (the type Ollama uses),
// and []string for stop, which may be given more than once.
func ParseParameters(args []string) (map[string]any, error) {
	out := make(map[string]any, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("parameter %q: want name=value", a)
		}
		kind, known := parameterKinds[k]
		if !known {
			return nil, fmt.Errorf("unknown parameter %q; known: %s", k, strings.Join(ParameterNames(), ", "))
		}
		switch kind {
		case paramStrings:
			if v == "" {
				return nil, fmt.Errorf("parameter %s: the value is empty", k)
			}
			prev, _ := out[k].([]string)
			out[k] = append(prev, v)
			continue
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("parameter %s is set twice", k)
		}
		switch kind {
		case paramInt:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %q is not an integer", k, v)
			}
			out[k] = n
		case paramFloat:
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 32)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %q is not a number", k, v)
			}
			out[k] = float32(f)
		}
	}
	return out, nil
}

// shownParameters is how `ollama show` prints parameters: one line per value,
// the name padded, then the value as Go syntax (%#v) of what the params layer
// decodes to. We compare models in that form, so our values and the
// server's agree on number formatting.
type shownParameters map[string][]string

// ParseShownParameters reads api.ShowResponse.Parameters.
func ParseShownParameters(s string) shownParameters {
	out := shownParameters{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		out[k] = append(out[k], strings.TrimSpace(v))
	}
	return out
}

// showParameters renders typed parameters the way the server shows them
// after storing them: JSON into the params layer, decoded back to any, then
// printed with %#v.
func showParameters(p map[string]any) (shownParameters, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var stored map[string]any
	if err := json.Unmarshal(b, &stored); err != nil {
		return nil, err
	}
	out := shownParameters{}
	for k, v := range stored {
		if list, ok := v.([]any); ok {
			for _, e := range list {
				out[k] = append(out[k], fmt.Sprintf("%#v", e))
			}
			continue
		}
		out[k] = []string{fmt.Sprintf("%#v", v)}
	}
	return out, nil
}

// merge overlays p on base per name, as the server does when a model is
// created from another one: a name we set replaces all of the base's values
// for it (stop lists are not concatenated).
func (base shownParameters) merge(p shownParameters) shownParameters {
	out := maps.Clone(base)
	if out == nil {
		out = shownParameters{}
	}
	maps.Copy(out, p)
	return out
}

func (p shownParameters) equal(o shownParameters) bool {
	return maps.EqualFunc(p, o, slices.Equal[[]string])
}

// String renders the parameters in one line for logs and messages.
func (p shownParameters) String() string {
	keys := slices.Sorted(maps.Keys(p))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(p[k], ","))
	}
	return strings.Join(parts, " ")
}
