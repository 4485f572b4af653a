# mmsprofile — see README.md.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# The avatar package's accelerated backend (libvips through cgo) is built
# in when its library is installed (scripts/install-deps.sh installs it;
# "=" so that the check runs after the deps target did).
VIPS_TAGS = $(shell pkg-config --exists vips 2>/dev/null && echo vips)
# The pure-Go backend decodes HEIC and AVIF in WebAssembly; without
# nodynamic, its decoder packages would load a system libheif or libavif
# through dlopen instead, whenever one is installed.
TAGS = nodynamic $(VIPS_TAGS)
# Packages with goroutines of their own also run under the race detector
# (the image code is single-threaded and ten times slower under it).
RACE_PKGS := ./xmpp/component/... ./publisher/... ./storage/... ./internal/app/... ./mmsbridge/... ./profile/... ./commands/... ./avatar/...

.PHONY: build test demo bench bench-compare lint deps fuzz deb install-test

build:
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o bin/mmsprofile ./cmd/mmsprofile

deps:
	scripts/install-deps.sh

# dist/mmsprofile_<version>_<arch>.deb: the libvips build, its unit, user,
# configuration and man page (packaging/deb/).
deb:
	GO=$(GO) VERSION=$(VERSION) scripts/deb.sh

# Installs, upgrades and purges that package in a clean Debian 12 root
# (cached under /var/cache/mmsprofile-test) and runs lintian on it. Root.
install-test: deb
	scripts/install-test.sh "$$(ls -t dist/mmsprofile_*.deb | head -1)"

# Everything: unit tests, the real-server integration tests, race detector.
# Each fuzz target's seeds and saved corpus run here as plain tests; the
# random search itself is `make fuzz`, since a new finding must become a
# fixed bug and a saved input, not a red CI run on an unrelated change.
test: deps
	$(GO) vet ./...
	$(GO) test -tags nodynamic -count=1 -timeout 30m ./...
	$(GO) test -tags nodynamic -race -count=1 -timeout 30m $(RACE_PKGS)
	@# Both image backends pass the same suite.
	@if [ -n "$(VIPS_TAGS)" ]; then $(GO) test -count=1 -tags "vips nodynamic" ./avatar/...; else echo "libvips-dev missing: the vips backend is not tested"; fi
	@# The package in a clean Debian 12 root: one to two and a half minutes
	@# once its root and libvips' .debs are cached (the machine's load
	@# decides), about seven the first time.
	$(MAKE) install-test

# A throwaway Prosody (SERVER=ejabberd: Debian 12's ejabberd), mmsprofile
# on embedded SQLite, one MMS with a photo (INTAKE=twilio: through a fake
# Twilio instead of MM7), and what a contact's client received.
SERVER ?= prosody
# How the demo MMS arrives: mm7, or twilio through a fake Twilio.
INTAKE ?= mm7
demo: deps build
	$(GO) run ./internal/demo -bin bin/mmsprofile -server $(SERVER) -intake $(INTAKE)

bench: deps
	scripts/bench.sh

# The speed work's regression benchmarks at BASE and here, with benchstat.
BASE ?= main
bench-compare: deps
	BASE=$(BASE) scripts/bench-compare.sh

# Every fuzz target for FUZZTIME each (default 10m), one after the other;
# FUZZ_PARALLEL workers (default: every core). Results in fuzz-results/.
FUZZTIME ?= 10m
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	staticcheck ./...
	@if [ -n "$(VIPS_TAGS)" ]; then $(GO) vet -tags "vips nodynamic" ./avatar/... && staticcheck -tags "vips nodynamic" ./avatar/...; fi
