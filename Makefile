# rootwindow: the front door. `make test` is what CI runs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

FUNCTIONS := validate detach reattach api sweeper
CDK := tools/node_modules/.bin/cdk
# Your deployment's configuration (see config/sample.json); `make synth` falls back to the sample.
CONFIG ?= rootwindow.json
SYNTH_CONFIG := $(if $(wildcard $(CONFIG)),$(CONFIG),config/sample.json)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true

.PHONY: all build test test-short lint fuzz bench synth release deploy diff destroy tools clean demo playground preflight doctor $(addprefix build-,$(FUNCTIONS)) $(addprefix invoke-,$(FUNCTIONS))

all: lint test build

# How every bootstrap is built, here and by the cold-start benchmark (BIN=<dir> ARCH=amd64 to run
# one on this machine): no RPC runtime, no paths or symbols, and no inlining outside the Go runtime,
# which takes about 1 MB off each function at no measured cost to init or answers (BENCHMARKS.md §1).
ARCH ?= arm64
BIN ?= bin
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -gcflags=all=-l -gcflags=runtime= -ldflags='-s -w'

## build: cross-compile every Lambda to bin/<name>/bootstrap (linux/arm64, provided.al2023)
build: $(addprefix build-,$(FUNCTIONS))

$(addprefix build-,$(FUNCTIONS)): build-%:
	@GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 go build $(LAMBDA_FLAGS) -o $(BIN)/$*/bootstrap ./functions/$*
	@ls -l $(BIN)/$*/bootstrap | awk '{printf "built %s (%.2f MB)\n", $$9, $$5/1000000}'

## tools: install the pinned Node tooling (CDK CLI, dynalite) from tools/package-lock.json
tools: tools/node_modules/.installed

tools/node_modules/.installed: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	touch $@

## demo: one window end to end on this machine (ACCOUNTS=3 HOURS=2 START_IN=30m FAULT=throttle|detach-partway|reattach-flaky LAYOUT=direct|ou|root|mixed STRATEGY=auto|detach|exempt CHANNEL=console|cli VERBOSE=1)
ACCOUNTS ?= 3
HOURS ?= 2
START_IN ?= 0
FAULT ?= none
LAYOUT ?= direct
STRATEGY ?= auto
CHANNEL ?= console
demo: tools
	@if [[ "$$(go list -f '{{.Stale}}' ./internal/harness 2>/dev/null)" != false ]]; then echo "building the demo (the first build compiles the CDK bindings: about 2 minutes on 2 cores)..."; fi
	@go build -o bin/demo ./cmd/demo
	bin/demo -accounts $(ACCOUNTS) -hours $(HOURS) -start-in $(START_IN) -fault $(FAULT) -layout $(LAYOUT) -strategy $(STRATEGY) -channel $(CHANNEL) $(if $(VERBOSE),-verbose,) $(DEMO_FLAGS)

## playground: rootwindow on this machine until Ctrl-C, for trying every rootwindow verb by hand (SPEED=60 STRATEGY=auto APPROVAL=1)
SPEED ?= 60
playground: tools
	@go build -o bin/playground ./cmd/playground
	bin/playground -speed $(SPEED) -strategy $(STRATEGY) $(if $(APPROVAL),-approval,)

## preflight: which accounts could get a window, for your deployment's rootwindow.json (or POLICY_ID=p-...) [STRATEGY=...] [OUTPUT=table|json|csv] [PROFILE=...]; reads Organizations with your credentials
OUTPUT ?= table
preflight:
	@test -n "$(POLICY_ID)$(wildcard $(CONFIG))" || { echo "POLICY_ID must name the guardrail SCP (p-...), or $(CONFIG) be your deployment's configuration"; exit 2; }
	go run ./cmd/rootwindow preflight $(if $(wildcard $(CONFIG)),--config $(CONFIG),) $(if $(POLICY_ID),--policy-id $(POLICY_ID),) \
		$(if $(filter command line environment,$(origin STRATEGY)),--strategy $(STRATEGY),) --output $(OUTPUT) $(if $(PROFILE),--profile $(PROFILE),)

## invoke-<fn>: run one function's handler on its events/ sample against local emulators (EVENT=file for another event)
$(addprefix invoke-,$(FUNCTIONS)): invoke-%: tools
	go run ./cmd/invoke -function $* $(if $(EVENT),-event $(EVENT),)

## test-short: the logic tests, in seconds, with no Node (in-process fakes; CDK, dynalite and harness suites skip)
test-short:
	go test -short -timeout 10m ./...

## test: every test, from unit to emulators to CDK assertions
# The timeout is for a loaded 2-core machine: the suite takes about 2 minutes on an idle one.
test: tools
	go mod download
	go vet ./...
	go test -timeout 45m ./...

## bench: the benchmarks recorded in BENCHMARKS.md (a few minutes)
bench: tools
	scripts/bench.sh

## fuzz: each fuzz target for FUZZTIME (default 1m); not part of test
FUZZTIME ?= 1m
fuzz: tools
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## lint: formatting, vet and staticcheck
lint:
	@unformatted=$$(gofmt -l $$(go list -f '{{.Dir}}' ./...)); if [[ -n "$$unformatted" ]]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go run $(STATICCHECK) ./...

## synth: write the CloudFormation template to cdk.out/ (CONFIG=rootwindow.json, else the sample)
synth: build tools
	@echo "synthesizing with $(SYNTH_CONFIG)"
	ROOTWINDOW_CONFIG=$(SYNTH_CONFIG) $(CDK) synth --quiet
	@echo "template: cdk.out/RootWindow.template.json"

## release: a versioned release for CONFIG (VERSION=1.4.0): the packaged template, the five
## functions' zips, rootwindow for linux and darwin on amd64 and arm64, SHA256SUMS, in dist/
# The template is the configuration's (its settings decide permissions and resource policies):
# build it where Go and Node are, deploy it with `aws cloudformation package` and `deploy`.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
release: synth
	@test -n "$(VERSION)" || { echo "VERSION must be the release's semantic version (VERSION=1.4.0)"; exit 2; }
	@for p in $(RELEASE_PLATFORMS); do \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X 'github.com/rootwindow/rootwindow/pkg/cli.version=v$(VERSION:v%=%) ($$(git rev-parse --short=12 HEAD))'" \
			-o bin/release/rootwindow-$${p%/*}-$${p#*/} ./cmd/rootwindow || exit 1; \
	done
	go run ./cmd/release -version $(VERSION) -template cdk.out/RootWindow.template.json -functions bin -clis bin/release

## deploy / diff / destroy: against the management account your AWS credentials point at
# The configuration and the credentials are checked first, in seconds, before the build and the
# synthesis that take a minute.
deploy diff destroy: doctor build tools
	ROOTWINDOW_CONFIG=$(CONFIG) $(CDK) $@ $(if $(filter deploy,$@),--require-approval broadening,)

## doctor: check the deployment's configuration file (CONFIG) and that AWS credentials and a region are found
doctor:
	@go run ./cmd/rootwindow doctor --config $(CONFIG) $(if $(PROFILE),--profile $(PROFILE),)

clean:
	rm -rf bin cdk.out dist
