# tonio's developer entry points. `make help` lists them.
#
# Two virtual environments are kept under .venv/: `gil` (CPython 3.11 with a GIL) and `ft` (a
# free-threaded CPython, found or built by scripts/free-threaded-python.sh). The extension is built
# in release mode into both, each with its own cargo target dir so switching costs nothing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GIL_PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV_GIL := .venv/gil
VENV_FT := .venv/ft
PYTEST_ARGS ?=

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'

$(VENV_GIL)/.ready:
	rm -rf $(VENV_GIL)
	$(GIL_PYTHON) -m venv $(VENV_GIL)
	$(VENV_GIL)/bin/pip install -q --upgrade pip
	$(VENV_GIL)/bin/pip install -q 'maturin>=1.8,<2' pytest ruff mypy trio uvloop trustme
	touch $@

$(VENV_FT)/.ready: scripts/free-threaded-python.sh
	rm -rf $(VENV_FT)
	ft_python=$$(scripts/free-threaded-python.sh) && $$ft_python -m venv $(VENV_FT)
	$(VENV_FT)/bin/pip install -q --upgrade pip
	$(VENV_FT)/bin/pip install -q 'maturin>=1.8,<2' pytest trio
	# trustme needs cryptography, which has no free-threaded 3.13 wheel (and cffi refuses to
	# build for 3.13t): the TLS tests make their certificates with the openssl CLI without it.
	$(VENV_FT)/bin/pip install -q --only-binary :all: trustme || echo "trustme: no free-threaded wheel here"
	touch $@

# uvloop publishes no free-threaded wheel; building it from source takes about a minute, so only
# the benchmarks pay for it.
$(VENV_FT)/.bench-ready: $(VENV_FT)/.ready
	$(VENV_FT)/bin/pip install -q uvloop || echo "uvloop did not build here: the benchmarks will skip it"
	touch $@

# Debian packages the tests and benchmarks talk to: a real Redis for examples/redis_client.py,
# curl and wrk for examples/http_server.py, openssl for TLS. Installed only when missing.
DEPS_PACKAGES := redis-server:redis-server wrk:wrk curl:curl openssl:openssl

.PHONY: deps
deps: ## install the Debian packages the tests and benchmarks need (redis-server, wrk, curl, openssl), if missing
	@missing=$$(for entry in $(DEPS_PACKAGES); do \
		command -v $${entry%%:*} >/dev/null || echo $${entry#*:}; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		{ $$sudo apt-get update -q && \
		  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; } \
		|| { echo "make deps: could not install" $$missing "(Debian packages, with apt-get as root): install them, then run make again" >&2; exit 1; }; \
		for entry in $(DEPS_PACKAGES); do command -v $${entry%%:*} >/dev/null \
			|| { echo "make deps: $${entry%%:*} is still missing after installing $${entry#*:}" >&2; exit 1; }; done; \
	fi

.PHONY: venvs
venvs: $(VENV_GIL)/.ready $(VENV_FT)/.ready ## create both virtual environments (builds a free-threaded CPython if needed)

.PHONY: build
build: venvs ## build the extension in release mode into both environments
	CARGO_TARGET_DIR=target/gil VIRTUAL_ENV=$(CURDIR)/$(VENV_GIL) $(VENV_GIL)/bin/maturin develop --release -q
	CARGO_TARGET_DIR=target/ft VIRTUAL_ENV=$(CURDIR)/$(VENV_FT) $(VENV_FT)/bin/maturin develop --release -q

.PHONY: test
test: deps build ## cargo test, then pytest on the GIL and the free-threaded interpreter
	PYO3_PYTHON=$(CURDIR)/$(VENV_GIL)/bin/python CARGO_TARGET_DIR=target/test cargo test --quiet
	$(VENV_GIL)/bin/python -m pytest $(PYTEST_ARGS)
	$(VENV_FT)/bin/python -m pytest $(PYTEST_ARGS)

.PHONY: bench
bench: deps build $(VENV_FT)/.bench-ready ## the benchmarks, against asyncio/uvloop/trio on both interpreters
	$(VENV_GIL)/bin/python benches/run.py
	$(VENV_FT)/bin/python benches/run.py

.PHONY: lint
lint: venvs ## cargo fmt/clippy, ruff, the .pyi stub check, mypy --strict and the typing samples
	cargo fmt --check
	CARGO_TARGET_DIR=target/test cargo clippy --all-targets -- -D warnings
	$(VENV_GIL)/bin/ruff format --check python tests benches examples
	$(VENV_GIL)/bin/ruff check python tests benches examples
	$(VENV_GIL)/bin/python -m mypy.stubtest tonio._tonio
	$(VENV_GIL)/bin/python -m mypy
	$(VENV_GIL)/bin/python tests/typing/check_errors.py tests/typing/expected_errors.py

.PHONY: format
format: venvs ## format Rust and Python sources
	cargo fmt
	$(VENV_GIL)/bin/ruff format python tests benches examples
	$(VENV_GIL)/bin/ruff check --fix python tests benches examples

.PHONY: clean
clean: ## remove build outputs and virtual environments
	rm -rf target .venv
