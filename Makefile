# kms-keyguard: every target does one thing; `make test` runs them all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
TOOLS := $(CURDIR)/.tools
SAM := $(TOOLS)/bin/sam
CHECKOV := $(TOOLS)/bin/checkov
# `sam build` needs the Lambda runtime's Python (3.13) on PATH: the directory holding python3.13, from
# PATH, else pyenv's 3.13.0. Without one, `sam build --use-container` builds in Docker instead.
# (Asked of python3.13 itself, so that a pyenv shim resolves to the real interpreter SAM accepts.)
SAM_PYTHON ?= $(or $(shell python3.13 -c 'import os, sys; print(os.path.dirname(sys.executable))' 2>/dev/null),$(shell pyenv root 2>/dev/null)/versions/3.13.0/bin)
export UV_COMPILE_BYTECODE := 1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export PYTHONPATH := $(CURDIR)/src:$(CURDIR)/cli
# src/ is what the functions ship (template.yaml CodeUri); cli/ the command line and the demo.
CODE := src cli tests bench scripts
PYTEST := $(PY) -m pytest -n 2 -q
UNIT_TESTS := tests/unit tests/contract
INTEGRATION_TESTS := tests/integration tests/cli

.PHONY: help venv tools demo test lint format typecheck validate cfn-lint build package-check checkov \
	unit integration pytest schema docs bench clean

help:
	@echo "make demo   - run the responder end to end against an embedded moto AWS"
	@echo "make test   - every check: lint, types, template validation, sam build, package check, checkov,"
	@echo "              pytest (unit and integration)"
	@echo "make unit / make integration - one half of the pytest stage"
	@echo "make bench  - dependency-discovery benchmark (writes bench/results/discovery.json)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml | $(PY)
	$(UV) pip install --python $(PY) --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

$(SAM): | $(PY)
	UV_TOOL_DIR=$(TOOLS)/uv UV_TOOL_BIN_DIR=$(TOOLS)/bin $(UV) tool install --quiet aws-sam-cli==1.170.0

$(CHECKOV): | $(PY)
	UV_TOOL_DIR=$(TOOLS)/uv UV_TOOL_BIN_DIR=$(TOOLS)/bin $(UV) tool install --quiet checkov==3.3.30

tools: $(SAM) $(CHECKOV)

# Only the demo's own output on stdout (`make demo ARGS=--json-only | jq .`): setting up goes to stderr.
demo:
	@$(MAKE) --no-print-directory venv >&2
	@$(PY) -m keyguard_cli.demo $(ARGS)

lint: venv
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/ruff format --check $(CODE)

format: venv
	$(VENV)/bin/ruff format $(CODE)
	$(VENV)/bin/ruff check --fix $(CODE)

typecheck: venv
	$(VENV)/bin/mypy

cfn-lint: venv
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/cfn-lint org/*.yaml

validate: $(SAM)
	$(SAM) validate --lint --template template.yaml

# Lambda cannot write bytecode to /var/task: ship it compiled, as unchecked-hash .pyc (never compared
# with the source: the zip's 2-second timestamps would make timestamp-checked bytecode look stale).
build: $(SAM)
	@test -x "$(SAM_PYTHON)/python3.13" || { echo "make build needs python3.13: put it on PATH or set SAM_PYTHON=<its directory> (or run: sam build --use-container)" >&2; exit 2; }
	PATH="$(SAM_PYTHON):$$PATH" $(SAM) build --template template.yaml --build-dir .aws-sam/build
	"$(SAM_PYTHON)/python3.13" -m compileall -q -f --invalidation-mode unchecked-hash \
		.aws-sam/build/KeyEventsFunction .aws-sam/build/ReminderFunction .aws-sam/build/ReconcileFunction

# The built functions hold handlers/, shared/ and their requirements: no CLI, demo or test code.
package-check: venv
	$(PY) -m scripts.package_check .aws-sam/build

checkov: $(CHECKOV)
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f template.yaml

unit: venv
	$(PYTEST) $(UNIT_TESTS)

integration: venv
	$(PYTEST) $(INTEGRATION_TESTS)

# Every test (unit and integration in one run, one set of workers), and the stage's wall time.
pytest: venv
	@TIMEFORMAT='pytest stage: %1R s wall clock'; time $(PYTEST)

schema: venv
	$(PY) -m scripts.schema_export

docs: venv
	$(PY) -m scripts.gen_docs

bench: venv
	$(PY) -m bench.discovery --cold-start $(ARGS)

test: lint typecheck cfn-lint validate build package-check checkov pytest

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
