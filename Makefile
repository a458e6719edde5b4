# Sunlamp's one test command: `make test`.
#   - the Go suite (every API test on SQLite, and on PostgreSQL when it is reachable),
#   - the conformance project (the official JavaScript client against a freshly built server).
# PostgreSQL: SUNLAMP_TEST_POSTGRES_URL, or the local server at 127.0.0.1:5432 when it answers.

PG_DEFAULT := postgres://postgres@127.0.0.1:5432/test?sslmode=disable
GO_TEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: test test-go test-conformance build bench

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
	go build -o bin/sunlamp ./cmd/sunlamp

bench:
	go test -run '^$$' -bench . -benchtime 2s ./...
