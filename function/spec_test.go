package function

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/apis/v1alpha1"
)

func TestWithDefaults(t *testing.T) {
	cases := map[string]struct {
		reason string
		in     v1alpha1.WorkspaceSpec
		want   v1alpha1.WorkspaceSpec
	}{
		"Empty": {
			reason: "An empty spec gets every default of the XRD.",
			want: v1alpha1.WorkspaceSpec{
				Size:        v1alpha1.SizeSmall,
				ScaleToZero: v1alpha1.ScaleToZero{Enabled: ptr(true), IdleAfter: "15m"},
				Storage:     v1alpha1.Storage{Models: "20Gi", Data: "2Gi"},
			},
		},
		"Set": {
			reason: "Fields that are set stay, including scaleToZero.enabled false.",
			in: v1alpha1.WorkspaceSpec{
				Size:        v1alpha1.SizeLarge,
				ScaleToZero: v1alpha1.ScaleToZero{Enabled: ptr(false), IdleAfter: "1h"},
				Storage:     v1alpha1.Storage{Models: "100Gi", Data: "5Gi", StorageClassName: "fast"},
			},
			want: v1alpha1.WorkspaceSpec{
				Size:        v1alpha1.SizeLarge,
				ScaleToZero: v1alpha1.ScaleToZero{Enabled: ptr(false), IdleAfter: "1h"},
				Storage:     v1alpha1.Storage{Models: "100Gi", Data: "5Gi", StorageClassName: "fast"},
			},
		},
		"ModelsStayEmpty": {
			reason: "Models are not defaulted here: the platform's defaults apply later.",
			in:     v1alpha1.WorkspaceSpec{Size: v1alpha1.SizeXSmall},
			want: v1alpha1.WorkspaceSpec{
				Size:        v1alpha1.SizeXSmall,
				ScaleToZero: v1alpha1.ScaleToZero{Enabled: ptr(true), IdleAfter: "15m"},
				Storage:     v1alpha1.Storage{Models: "20Gi", Data: "2Gi"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, withDefaults(tc.in)); diff != "" {
				t.Errorf("%s\nwithDefaults(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

// validSpec is a defaulted spec that passes validation; cases change one
// thing of it.
func validSpec() v1alpha1.WorkspaceSpec {
	return withDefaults(v1alpha1.WorkspaceSpec{
		Owner:  "ada@example.com",
		Models: []v1alpha1.ModelName{"llama3.2:1b", "qwen2.5-coder:1.5b"},
		Assistants: []v1alpha1.Assistant{{
			Name: "summarizer", From: "llama3.2:1b", Patterns: []v1alpha1.PatternName{"summarize"},
			Variables:  map[string]string{"audience": "engineers"},
			Parameters: map[string]string{"temperature": "0.2", "num_ctx": "8192", "stop": "<|end|>"},
		}},
	})
}

func TestValidateSpec(t *testing.T) {
	manyModels := make([]v1alpha1.ModelName, maxModels+1)
	for i := range manyModels {
		manyModels[i] = v1alpha1.ModelName("m" + strings.Repeat("x", i))
	}
	manyAssistants := make([]v1alpha1.Assistant, maxAssistants+1)
	for i := range manyAssistants {
		manyAssistants[i] = v1alpha1.Assistant{Name: "a" + strings.Repeat("x", i), From: "llama3.2:1b", Patterns: []v1alpha1.PatternName{"p"}}
	}
	cases := map[string]struct {
		reason string
		change func(s *v1alpha1.WorkspaceSpec)
		want   string // "" for valid, else the field the error names
	}{
		"Valid":         {"The example spec is valid.", func(*v1alpha1.WorkspaceSpec) {}, ""},
		"NoModels":      {"No models means the platform's defaults.", func(s *v1alpha1.WorkspaceSpec) { s.Models, s.Assistants = nil, nil }, ""},
		"OwnerMax":      {"An owner of 254 characters is fine.", func(s *v1alpha1.WorkspaceSpec) { s.Owner = strings.Repeat("o", 254) }, ""},
		"OwnerTooLong":  {"An owner is at most 254 characters.", func(s *v1alpha1.WorkspaceSpec) { s.Owner = strings.Repeat("o", 255) }, "spec.owner"},
		"UnknownSize":   {"Only the four sizes.", func(s *v1alpha1.WorkspaceSpec) { s.Size = "huge" }, "spec.size"},
		"EmptySize":     {"An empty size after defaulting is invalid.", func(s *v1alpha1.WorkspaceSpec) { s.Size = "" }, "spec.size"},
		"TooManyModels": {"At most 16 models.", func(s *v1alpha1.WorkspaceSpec) { s.Models, s.Assistants = manyModels, nil }, "spec.models"},
		"ModelSpace":    {"Model names hold no spaces.", func(s *v1alpha1.WorkspaceSpec) { s.Models[1] = "qwen 2" }, "spec.models[1]"},
		"ModelDash":     {"Model names start alphanumeric.", func(s *v1alpha1.WorkspaceSpec) { s.Models[0] = "-llama" }, "spec.models[0]"},
		"ModelEmptyTag": {"A colon needs a tag.", func(s *v1alpha1.WorkspaceSpec) { s.Models[1] = "qwen:" }, "spec.models[1]"},
		"ModelTwice":    {"A model is listed once.", func(s *v1alpha1.WorkspaceSpec) { s.Models[1] = s.Models[0] }, "spec.models[1]"},
		"ModelWithHost": {"Models may come from another registry.", func(s *v1alpha1.WorkspaceSpec) { s.Models[1] = "registry.example.com:5000/team/qwen:1.5b" }, ""},
		"ModelTooLong": {"Model names are at most 200 characters.", func(s *v1alpha1.WorkspaceSpec) {
			s.Models[1] = v1alpha1.ModelName(strings.Repeat("h", 150) + "/ns/" + strings.Repeat("m", 60))
		}, "spec.models[1]"},
		"TooManyAssist":  {"At most 32 assistants.", func(s *v1alpha1.WorkspaceSpec) { s.Assistants = manyAssistants }, "spec.assistants"},
		"AssistBadName":  {"Assistant names are DNS labels.", func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].Name = "Summarizer" }, "spec.assistants[0].name"},
		"AssistTwice":    {"Assistant names are unique.", func(s *v1alpha1.WorkspaceSpec) { s.Assistants = append(s.Assistants, s.Assistants[0]) }, "spec.assistants[1].name"},
		"AssistFrom":     {"An assistant's base is listed in spec.models.", func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].From = "mistral:7b" }, "spec.assistants[0].from"},
		"AssistFromBad":  {"An assistant's base is an Ollama name.", func(s *v1alpha1.WorkspaceSpec) { s.Assistants[0].From = "" }, "spec.assistants[0].from"},
		"AssistIsModel":  {"An assistant may not overwrite a base model.", func(s *v1alpha1.WorkspaceSpec) { s.Models = append(s.Models, "summarizer") }, "spec.assistants[0].name"},
		"AssistIsLatest": {"Ollama reads name as name:latest.", func(s *v1alpha1.WorkspaceSpec) { s.Models = append(s.Models, "summarizer:latest") }, "spec.assistants[0].name"},
		"AssistOtherTag": {"A base model with another tag does not clash.", func(s *v1alpha1.WorkspaceSpec) { s.Models = append(s.Models, "summarizer:7b") }, ""},
		"IdleBad":        {"idleAfter is a duration.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "15 minutes" }, "spec.scaleToZero.idleAfter"},
		"IdleDays":       {"Days are not a Go duration unit.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "1d" }, "spec.scaleToZero.idleAfter"},
		"IdleNegative":   {"idleAfter is not negative.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "-15m" }, "spec.scaleToZero.idleAfter"},
		"IdleShort":      {"idleAfter is at least 1m.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "59s" }, "spec.scaleToZero.idleAfter"},
		"IdleLong":       {"idleAfter is at most 24h.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "24h0m1s" }, "spec.scaleToZero.idleAfter"},
		"IdleOverflow":   {"A duration Go cannot hold is invalid.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "9999999999999999999h" }, "spec.scaleToZero.idleAfter"},
		"IdleMin":        {"1m is the least.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "1m" }, ""},
		"IdleMax":        {"24h is the most.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "23h60m" }, ""},
		"IdleFraction":   {"Fractions are durations too.", func(s *v1alpha1.WorkspaceSpec) { s.ScaleToZero.IdleAfter = "1.5h" }, ""},
		"ModelsSmall":    {"The model volume is at least 1Gi.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Models = "1023Mi" }, "spec.storage.models"},
		"ModelsLarge":    {"The model volume is below 10Ti.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Models = "10Ti" }, "spec.storage.models"},
		"ModelsBad":      {"Sizes are quantities.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Models = "20GB" }, "spec.storage.models"},
		"DataSmall":      {"The data volume is at least 100Mi.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "99Mi" }, "spec.storage.data"},
		"DataLarge":      {"The data volume is below 1Ti.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "1Ti" }, "spec.storage.data"},
		"DataBad":        {"No exponents.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "2e9" }, "spec.storage.data"},
		"DataNegative":   {"No signs.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.Data = "-2Gi" }, "spec.storage.data"},
		"ClassBad":       {"A storage class is a DNS subdomain.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.StorageClassName = "Fast_SSD" }, "spec.storage.storageClassName"},
		"ClassLong":      {"A storage class is at most 253 characters.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.StorageClassName = strings.Repeat("a", 254) }, "spec.storage.storageClassName"},
		"ClassOK":        {"Dots are fine in a storage class.", func(s *v1alpha1.WorkspaceSpec) { s.Storage.StorageClassName = "ebs.csi.aws.com-gp3" }, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := validSpec()
			tc.change(&s)
			err := validateSpec(s)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%s\nvalidateSpec(...): unexpected error: %v", tc.reason, err)
			case tc.want != "" && err == nil:
				t.Errorf("%s\nvalidateSpec(...): want an error naming %s, got none", tc.reason, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), tc.want):
				t.Errorf("%s\nvalidateSpec(...): error %q does not start with %s", tc.reason, err, tc.want)
			}
		})
	}
}

func TestValidateAssistant(t *testing.T) {
	models := map[v1alpha1.ModelName]bool{"llama3.2:1b": true}
	valid := func() v1alpha1.Assistant {
		return v1alpha1.Assistant{Name: "a", From: "llama3.2:1b", Patterns: []v1alpha1.PatternName{"summarize"}}
	}
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m["v"+strings.Repeat("x", i)] = "1"
		}
		return m
	}
	cases := map[string]struct {
		reason string
		change func(a *v1alpha1.Assistant)
		want   string
	}{
		"Valid":           {"A minimal assistant is valid.", func(*v1alpha1.Assistant) {}, ""},
		"NameLong":        {"A name is at most 63 characters.", func(a *v1alpha1.Assistant) { a.Name = strings.Repeat("a", 64) }, "name:"},
		"NameMax":         {"A name of 63 characters is fine.", func(a *v1alpha1.Assistant) { a.Name = strings.Repeat("a", 63) }, ""},
		"NameTrailing":    {"A name ends alphanumeric.", func(a *v1alpha1.Assistant) { a.Name = "a-" }, "name:"},
		"NameColon":       {"A name has no tag.", func(a *v1alpha1.Assistant) { a.Name = "a:latest" }, "name:"},
		"NoPatterns":      {"At least one pattern.", func(a *v1alpha1.Assistant) { a.Patterns = nil }, "patterns:"},
		"TooManyPatterns": {"At most 8 patterns.", func(a *v1alpha1.Assistant) { a.Patterns = slices.Repeat([]v1alpha1.PatternName{"p"}, 9) }, "patterns:"},
		"EightPatterns":   {"8 patterns are fine.", func(a *v1alpha1.Assistant) { a.Patterns = slices.Repeat([]v1alpha1.PatternName{"p"}, 8) }, ""},
		"PatternUpper":    {"Pattern names are lower case.", func(a *v1alpha1.Assistant) { a.Patterns = append(a.Patterns, "Summarize") }, "patterns[1]:"},
		"PatternPath":     {"Pattern names are no paths.", func(a *v1alpha1.Assistant) { a.Patterns = []v1alpha1.PatternName{"../etc"} }, "patterns[0]:"},
		"PatternDash":     {"Pattern names use underscores.", func(a *v1alpha1.Assistant) { a.Patterns = []v1alpha1.PatternName{"extract-wisdom"} }, "patterns[0]:"},
		"PatternLong": {"Pattern names are at most 100 characters.", func(a *v1alpha1.Assistant) {
			a.Patterns = []v1alpha1.PatternName{v1alpha1.PatternName(strings.Repeat("p", 101))}
		}, "patterns[0]:"},
		"VarDigit":       {"Variable names do not start with a digit.", func(a *v1alpha1.Assistant) { a.Variables = map[string]string{"1st": "x"} }, "variables:"},
		"VarDash":        {"Variable names hold no dashes.", func(a *v1alpha1.Assistant) { a.Variables = map[string]string{"my-var": "x"} }, "variables:"},
		"VarLong":        {"Variable names are at most 63 characters.", func(a *v1alpha1.Assistant) { a.Variables = map[string]string{"v" + strings.Repeat("x", 63): "x"} }, "variables:"},
		"VarOK":          {"Upper case and underscores are fine.", func(a *v1alpha1.Assistant) { a.Variables = map[string]string{"_Audience_2": ""} }, ""},
		"VarValueLong":   {"Variable values are at most 4096 characters.", func(a *v1alpha1.Assistant) { a.Variables = map[string]string{"v": strings.Repeat("x", 4097)} }, "variables.v:"},
		"TooManyVars":    {"At most 32 variables.", func(a *v1alpha1.Assistant) { a.Variables = many(33) }, "variables:"},
		"TooManyParams":  {"At most 16 parameters.", func(a *v1alpha1.Assistant) { a.Parameters = many(17) }, "parameters:"},
		"ParamUnknown":   {"Only the listed parameters.", func(a *v1alpha1.Assistant) { a.Parameters = map[string]string{"mirostat": "1"} }, "parameters.mirostat:"},
		"ParamNotInt":    {"Integer parameters are integers.", func(a *v1alpha1.Assistant) { a.Parameters = map[string]string{"num_ctx": "8k"} }, "parameters.num_ctx:"},
		"ParamNotFloat":  {"Float parameters are numbers.", func(a *v1alpha1.Assistant) { a.Parameters = map[string]string{"temperature": "warm"} }, "parameters.temperature:"},
		"ParamStopEmpty": {"stop is not empty.", func(a *v1alpha1.Assistant) { a.Parameters = map[string]string{"stop": ""} }, "parameters.stop:"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := valid()
			tc.change(&a)
			err := validateAssistant(a, models)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%s\nvalidateAssistant(...): unexpected error: %v", tc.reason, err)
			case tc.want != "" && err == nil:
				t.Errorf("%s\nvalidateAssistant(...): want an error naming %s, got none", tc.reason, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), tc.want):
				t.Errorf("%s\nvalidateAssistant(...): error %q does not start with %s", tc.reason, err, tc.want)
			}
		})
	}
}

func TestValidateParameter(t *testing.T) {
	cases := map[string]struct {
		reason      string
		name, value string
		wantErr     bool
	}{
		"Int":            {"An integer parameter.", "num_ctx", "8192", false},
		"NegativeInt":    {"Negative integers parse (num_predict -1 means unlimited).", "num_predict", "-1", false},
		"IntFloat":       {"An integer parameter is no float.", "top_k", "40.5", true},
		"IntEmpty":       {"An empty value is no integer.", "seed", "", true},
		"Float":          {"A float parameter.", "temperature", "0.7", false},
		"FloatInt":       {"An integer is a float too.", "top_p", "1", false},
		"FloatExp":       {"Exponents are numbers.", "min_p", "5e-2", false},
		"FloatBad":       {"Words are no numbers.", "repeat_penalty", "high", true},
		"Stop":           {"stop is any string.", "stop", "<|im_end|>", false},
		"StopTooLong":    {"stop is at most 256 characters.", "stop", strings.Repeat("s", 257), true},
		"Unknown":        {"An unknown parameter.", "mirostat_eta", "0.1", true},
		"UnknownCase":    {"Parameter names are case sensitive.", "Temperature", "0.1", true},
		"EveryKnownName": {"typical_p is known.", "typical_p", "0.9", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := validateParameter(tc.name, tc.value)
			if (err != nil) != tc.wantErr {
				t.Errorf("%s\nvalidateParameter(%q, %q): want error %t, got %v", tc.reason, tc.name, tc.value, tc.wantErr, err)
			}
		})
	}
}

func TestValidateQuantity(t *testing.T) {
	cases := map[string]struct {
		reason string
		v      string
		want   string // "" for valid, else part of the error
	}{
		"Lowest":      {"The lower bound is inclusive.", "1Gi", ""},
		"BelowLowest": {"Below the lower bound.", "1073741823", "must be at least 1Gi"},
		"Highest":     {"The upper bound is exclusive.", "10Ti", "less than 10Ti"},
		"BelowUpper":  {"Just below the upper bound.", "10239Gi", ""},
		"Decimal":     {"Decimal SI units are fine.", "50G", ""},
		"Fraction":    {"Fractions are fine.", "1.5Ti", ""},
		"Plain":       {"Plain bytes are fine.", "2147483648", ""},
		"Exponent":    {"Exponents are not allowed.", "2e9", "not a size"},
		"LowerKi":     {"Only the listed suffixes.", "20gi", "not a size"},
		"Milli":       {"No milli-bytes.", "20000000000m", "not a size"},
		"Space":       {"No spaces.", "20 Gi", "not a size"},
		"Empty":       {"Empty is no size.", "", "not a size"},
		"TooLong":     {"At most 16 characters.", "000000000000001Gi", "not a size"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := validateQuantity("spec.storage.models", tc.v, "1Gi", "10Ti")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%s\nvalidateQuantity(%q): unexpected error: %v", tc.reason, tc.v, err)
			case tc.want != "" && err == nil:
				t.Errorf("%s\nvalidateQuantity(%q): want an error, got none", tc.reason, tc.v)
			case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spec.storage.models: ")):
				t.Errorf("%s\nvalidateQuantity(%q): error %q does not name the field and %q", tc.reason, tc.v, err, tc.want)
			}
		})
	}
}

func TestValidateModelName(t *testing.T) {
	cases := map[string]struct {
		name  string
		valid bool
	}{
		"Plain":         {"llama3", true},
		"Tag":           {"llama3.2:1b", true},
		"Namespace":     {"library/llama3.2:1b", true},
		"Host":          {"registry.ollama.ai/library/llama3:8b", true},
		"HostPort":      {"localhost:5000/m:tag", true},
		"UnderscoreTag": {"m:_q4", true},
		"Empty":         {"", false},
		"Space":         {"llama 3", false},
		"DoubleColon":   {"m:a:b", false},
		"LeadingDot":    {".m", false},
		"Slash":         {"/m", false},
		"TooManyParts":  {"a/b/c/d", false},
		"ModelTooLong":  {strings.Repeat("m", 81), false},
		"TagTooLong":    {"m:" + strings.Repeat("t", 81), false},
		"Unicode":       {"modèle", false},
		"Newline":       {"m\n", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := validateModelName(tc.name); (err == nil) != tc.valid {
				t.Errorf("validateModelName(%q): want valid %t, got %v", tc.name, tc.valid, err)
			}
		})
	}
}

// TestParameterNamesMatchXRD keeps the function's parameters and the XRD's
// CEL rule in step.
func TestParameterNamesMatchXRD(t *testing.T) {
	b, err := os.ReadFile("../package/configuration/xrd.yaml")
	if err != nil {
		t.Skipf("no generated XRD: %v", err)
	}
	rule := regexp.MustCompile(`self\.parameters\.all\(k, k in \[([^\]]*)\]\)`).FindSubmatch(b)
	if rule == nil {
		t.Fatal("the XRD has no CEL rule listing the parameters")
	}
	var xrd []string
	for _, n := range strings.Split(string(rule[1]), ",") {
		xrd = append(xrd, strings.Trim(strings.TrimSpace(n), "'"))
	}
	slices.Sort(xrd)
	if diff := cmp.Diff(sortedKeys(parameterKinds), xrd); diff != "" {
		t.Errorf("parameters: -function, +XRD:\n%s", diff)
	}
}

// The function's regular expressions are the XRD's: the XRD is generated
// from the markers on the API types.
func TestPatternsMatchAPIMarkers(t *testing.T) {
	b, err := os.ReadFile("../apis/v1alpha1/types.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for name, re := range map[string]*regexp.Regexp{
		"modelName": modelNameRE, "dnsLabel": dnsLabelRE, "patternName": patternNameRE,
		"duration": durationRE, "quantity": quantityRE, "storageClass": storageClassRE,
	} {
		if !strings.Contains(src, "Pattern=`"+re.String()+"`") {
			t.Errorf("%s: %s is not a pattern marker in apis/v1alpha1/types.go", name, re)
		}
	}
	if !strings.Contains(src, strings.ReplaceAll(variableRE.String(), `\`, `\\`)) && !strings.Contains(src, variableRE.String()) {
		t.Errorf("variable: %s is not in the CEL rule of apis/v1alpha1/types.go", variableRE)
	}
}
