# Sunlamp's one test command: `make test`.
#   - the Go suite (every API test on SQLite, and on PostgreSQL when it is reachable),
#   - the conformance project (the official JavaScript client against a freshly built server).
# PostgreSQL: SUNLAMP_TEST_POSTGRES_URL, or the local server at 127.0.0.1:5432 when it answers.

PG_DEFAULT := postgres://postgres@127.0.0.1:5432/test?sslmode=disable
GO_TEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: test test-go test-conformance build bench dist

# Release builds: static, pure Go (CGO_ENABLED=0: the SQLite driver is modernc.org/sqlite), without
# local paths (-trimpath), with the version and commit stamped into `sunlamp version`.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
LDFLAGS := -s -w -buildid= -X main.buildVersion=$(VERSION) -X main.buildCommit=$(COMMIT)

test: test-go test-conformance

test-go:
	@if [ -z "$$SUNLAMP_TEST_POSTGRES_URL" ] && command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "PostgreSQL answers at 127.0.0.1:5432: the suite runs on SQLite and PostgreSQL"; \
		export SUNLAMP_TEST_POSTGRES_URL='$(PG_DEFAULT)'; \
	fi; \
	go test $(GO_TEST_FLAGS) ./...

test-conformance: build
	cd conformance && npm ci --no-audit --no-fund --loglevel=error && SUNLAMP_BIN=$(CURDIR)/bin/sunlamp npm test

build:
	CGO_ENABLED=0 go build -o bin/sunlamp ./cmd/sunlamp

# dist: one binary per platform in bin/dist/sunlamp_VERSION_OS_ARCH/, and bin/dist/SHA256SUMS.
DIST := bin/dist
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=$(DIST)/sunlamp_$(VERSION)_$${os}_$${arch}/sunlamp$$ext; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./cmd/sunlamp; \
	done
	cd $(DIST) && find . -type f -name 'sunlamp*' | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

bench:
	go test -run '^$$' -bench . -benchtime 2s ./...
