# gproxy and gkeepalived: drop-in replacements for Debian's haproxy and keepalived.
GO       ?= go
BIN      := bin
GOFLAGS  ?= -trimpath
export CGO_ENABLED := 0

.PHONY: all build test unit integration fuzz vet demo bench bench-vrrp bench-profiles deb deps clean regtests testssl

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS) -o $(BIN)/gproxy ./cmd/gproxy
	$(GO) build $(GOFLAGS) -o $(BIN)/gkeepalived ./cmd/gkeepalived
	$(GO) build $(GOFLAGS) -o $(BIN)/gkeepalived-bgp ./cmd/gkeepalived/bgpspeaker

# Debian packages the tests, the demo and the benchmarks need (apt-get, as root).
deps:
	./integration/install-deps.sh

vet:
	@test -z "$$(gofmt -l cmd pkg integration)" || { gofmt -l cmd pkg integration; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# Every test: unit tests, root integration tests in private namespaces, and a
# short run of every fuzz target.
test: deps vet build
	$(GO) mod download
	$(GO) test -count=1 -timeout 25m ./...
	$(MAKE) fuzz

unit:
	$(GO) test -count=1 ./pkg/...

integration: deps build
	$(GO) test -count=1 -v -timeout 25m ./integration/...

# Runs each fuzz target briefly (FUZZTIME each); longer runs: make fuzz FUZZTIME=10m
FUZZTIME ?= 8s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./integration/fuzz.sh

# haproxy 2.6's own reg-tests through VTest, with haproxy and with gproxy: a
# table per directory. Not part of `test`: VTest and the tests are not in
# this repository (VTEST_PROGRAM, REGTESTS_DIR: see integration/regtests/run.sh).
regtests: build
	REGTESTS_OUT=$${REGTESTS_OUT:-integration/regtests/RESULTS.md} ./integration/regtests/run.sh

# The seed's network in namespaces, failing over, narrated. Needs root.
# SHAPE=ecmp runs the ECMP anycast shape (README "Scaling out") instead.
demo: deps build
ifeq ($(SHAPE),ecmp)
	$(GO) run ./integration/scaleout/demo
else
	$(GO) run ./integration/cmd/demo
endif

bench: deps build
	$(GO) run ./integration/cmd/bench

# testssl.sh against haproxy and gproxy on the same TLS frontend: bench/testssl.md.
testssl: deps build
	./integration/testssl/run.sh

# CPU and allocation profiles and both proxies' system calls per request
# for every case of bench/results.md: bench/profile.md ((a)-(c)),
# profile-http.md ((g)), profile-tls.md ((h)).
bench-profiles: deps build
	$(GO) run ./integration/cmd/bench -profile
	$(GO) run ./integration/cmd/bench -profile-http
	$(GO) run ./integration/cmd/bench -profile-tls

# Only the VRRP rows (1, 100, 1,000 instances): bench/vrrp.md.
bench-vrrp: build
	$(GO) run ./integration/cmd/bench -vrrp-only

deb: build
	./packaging/build-deb.sh

clean:
	rm -rf $(BIN) dist
