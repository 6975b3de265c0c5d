package gateway

// Endpoint is a method and a path of Ollama's API, in Gin's syntax.
type Endpoint struct {
	Method string
	Path   string
}

// Forwarded are the calls the gateway passes to a workspace's Ollama: the
// native API that reads or runs models and the OpenAI-compatible API. It is
// an allow-list, so an endpoint a later Ollama adds is a 404 until it has
// been looked at.
var Forwarded = []Endpoint{
	{"GET", "/api/version"},
	{"HEAD", "/api/version"},
	{"GET", "/api/tags"},
	{"HEAD", "/api/tags"},
	{"GET", "/api/ps"},
	{"POST", "/api/show"},
	{"POST", "/api/chat"},
	{"POST", "/api/generate"},
	{"POST", "/api/embed"},
	{"POST", "/api/embeddings"},
	{"POST", "/v1/chat/completions"},
	{"POST", "/v1/completions"},
	{"POST", "/v1/embeddings"},
	{"GET", "/v1/models"},
	{"GET", "/v1/models/:model"},
}

// Refused are the calls that would change the workspace's models. The
// claim manages models (model Jobs pull and create them), so a token must
// not pull, push, create, copy or delete behind its back.
var Refused = []Endpoint{
	{"POST", "/api/pull"},
	{"POST", "/api/push"},
	{"POST", "/api/create"},
	{"POST", "/api/copy"},
	{"DELETE", "/api/delete"},
	{"POST", "/api/blobs/:digest"},
	{"HEAD", "/api/blobs/:digest"},
}

// openAIStreaming are the OpenAI-compatible endpoints whose streamed answers
// carry usage only when the client asks for it (stream_options).
var openAIStreaming = map[string]bool{"/v1/chat/completions": true, "/v1/completions": true}
