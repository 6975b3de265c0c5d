package v1alpha1

// ModelJobSummary is the one-line JSON document a model Job writes to its
// termination log (/dev/termination-log by default). The composition function
// reads it back from the observed Job's pod to fill status.models[].
//
// It is the contract between the model program and the function, so it lives
// with the API types rather than with either side.
//
// +kubebuilder:object:generate=false
type ModelJobSummary struct {
	// Model is the Ollama model name the Job worked on.
	Model string `json:"model"`
	// Kind is "base" for a pull and "assistant" for a create.
	Kind ModelKind `json:"kind"`
	// State is Ready or Failed.
	State ModelState `json:"state"`
	// Message is a short human readable outcome, e.g. "pulled 1.3 GB" or
	// "pattern \"summarize\": 404 Not Found from https://...".
	Message string `json:"message,omitempty"`
}
