# AIChat Workspaces — the one entry point for building, testing and running.
#
#   make test      everything CI runs (the README's test command)
#   make unit      the quick subset: API types and the function's unit tests
#   make render    render an XR through the real Crossplane engine
#   make generate  regenerate the XRD, the input CRD and deepcopy code
#   make package   the function's and the portal's runtime images and both .xpkg files in _output (VERSION=v0.1.0)
#   make run       the whole product locally: control plane, Crossplane, function, portal (Ctrl-C stops)
#   make chart     lint and test the portal's Helm chart (portal/chart)
#
# Heavy tools (Crossplane CLI and core, kube-apiserver, etcd, ...) are built
# once from the Go module proxy into the user cache directory (see
# test/toolchain); the first run takes minutes, later runs reuse them.

SHELL := /bin/bash
GO ?= go
# gin's msgpack support costs two minutes of every cold build and the portal
# speaks JSON only.
export GOFLAGS := -tags=nomsgpack
GOFLAGS_TEST ?=
TEST_TIMEOUT ?= 60m
XR ?=
VERSION ?= v0.1.0
OBSERVED ?=
REQUIRED ?=
CLAIMS ?= 100

.PHONY: all
all: test

.PHONY: generate
generate: ## Regenerate the XRD, the function input CRD and deepcopy code.
	$(GO) generate ./apis/...

.PHONY: deps
deps: ## Debian packages the builds and tests need (Ollama's headers, Chromium for portal/web); a no-op when present.
	bash test/tools/ollama/deps.sh
	sh portal/web/deps.sh

.PHONY: tools
tools: deps ## Build (once) and cache every tool binary the tests use.
	$(GO) run ./test/toolchain/cmd/toolchain build

.PHONY: lint
lint: ## gofmt, go vet and a tidy go.mod.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@tmp=$$(mktemp -d); cp go.mod go.sum $$tmp/; $(GO) mod tidy; \
	if ! diff -u $$tmp/go.mod go.mod || ! diff -q $$tmp/go.sum go.sum; then echo "go mod tidy changed go.mod/go.sum: commit the tidy result"; exit 1; fi

.PHONY: unit
unit: ## The quick tests: API generation and the function's unit tests.
	$(GO) test $(GOFLAGS_TEST) ./apis/... ./function/...

.PHONY: test
test: lint tools ## Every suite: unit, render golden files, real-engine validation, end to end.
	$(GO) test $(GOFLAGS_TEST) -timeout $(TEST_TIMEOUT) ./...

.PHONY: render
render: ## Render XR (default examples/xr.yaml with examples/observed.yaml) with the real Crossplane engine.
ifeq ($(XR),)
	@$(GO) run ./test/render/cmd/render -xr examples/xr.yaml -observed examples/observed.yaml -required examples/required.yaml
else
	@$(GO) run ./test/render/cmd/render -xr $(XR) $(if $(OBSERVED),-observed $(OBSERVED)) $(if $(REQUIRED),-required $(REQUIRED))
endif

.PHONY: package
package: ## Build the function and portal image tarballs and both Crossplane packages into _output (offline, no Docker).
	$(GO) run ./package/build/cmd/package -version $(VERSION) -out _output

.PHONY: run
run: ## Run everything locally: control plane, Crossplane + function, our packages, the portal. Data in .work/platform; ARGS=-reset-admin etc.
	@echo "make run: compiling the platform into bin/ (Go build cache: seconds after the first time)"
	$(GO) build -o bin/platform ./test/platform/cmd/platform
	bin/platform $(ARGS)

.PHONY: chart
chart: ## Lint and test the portal's Helm chart: helm lint --strict, rendering, RBAC equality, server-side dry-run on a real API server.
	$(GO) test -count=1 ./portal/chart/

.PHONY: portal
portal: ## Run the portal alone on embedded SQLite (no cluster: workspace endpoints answer 503). PORTAL_ADDR sets the address.
	mkdir -p .work && $(GO) run ./portal/cmd/portal --sqlite-path .work/portal.db

.PHONY: test-web
test-web: ## The web front end in real Chromium (SQLite and MariaDB, a real kube-apiserver); screenshots in test/screenshots/web/.
	sh portal/web/deps.sh
	$(GO) test -count=1 ./portal/web/

.PHONY: sre
sre: ## Run the SRE assistant against the cluster of KUBECONFIG (SRE_LLM_URL and SRE_LLM_MODEL; unset: rule-based hints only).
	$(GO) run ./sre/cmd/sre --metrics-address=127.0.0.1:8090 --health-address=127.0.0.1:8091

.PHONY: test-sre
test-sre: ## The SRE assistant: rules, prompt, limits (table tests) and end to end on the local control plane with a real Ollama.
	$(GO) test $(GOFLAGS_TEST) -count=1 ./sre/...

.PHONY: bench-portal
bench-portal: ## Load the portal's list/show endpoints: 1,000 users in MariaDB; exits 1 below 2,000 req/s or above 30 ms p99.
	$(GO) run ./portal/bench -users 1000 -workspaces 2 -connections 16 -duration 10s -runs 3

.PHONY: bench-gateway
bench-gateway: ## Added latency of the LLM gateway over direct Ollama (p50/p99 of full request and first token), real Ollama and portal.
	$(GO) run ./portal/gateway/bench -requests 200 -runs 3

.PHONY: bench
bench: ## The function's benchmark (ns/op and allocs/op of a full workspace).
	$(GO) test ./function/ -run '^$$' -bench BenchmarkRunFunction -benchmem -count 6

.PHONY: e2e
e2e: tools ## The suites against real parts: end-to-end scenarios and Chainsaw on the local control plane, model Jobs on a real Ollama.
	$(GO) test $(GOFLAGS_TEST) -timeout $(TEST_TIMEOUT) ./test/e2e/ ./test/acceptance/ ./function/modeljob/ ./test/ollama/

.PHONY: acceptance
acceptance: ## The Chainsaw acceptance suite (test/acceptance) against the cluster of KUBECONFIG, with the product installed.
	@test -n "$(KUBECONFIG)" || { echo "make acceptance KUBECONFIG=path/to/kubeconfig: the cluster to test, with the product installed"; exit 1; }
	chainsaw=$$($(GO) run ./test/toolchain/cmd/toolchain path chainsaw) && \
	KUBECONFIG=$(KUBECONFIG) $$chainsaw test --config test/acceptance/.chainsaw.yaml --test-dir test/acceptance --no-color

.PHONY: bench-e2e
bench-e2e: ## N claims (CLAIMS, default 100) on the local control plane: time to all Ready, p50/p99, function CPU and peak RSS, core peak RSS; exits 1 past 3 min or 100 MiB.
	$(GO) run ./test/bench-e2e -claims $(CLAIMS)

.PHONY: help
help:
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
