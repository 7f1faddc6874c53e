# kms-keyguard: every target does one thing; `make test` runs them all.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
TOOLS := $(CURDIR)/.tools
SAM := $(TOOLS)/bin/sam
CHECKOV := $(TOOLS)/bin/checkov
SAM_PYTHON ?= $(shell pyenv root 2>/dev/null)/versions/3.13.0/bin
export UV_COMPILE_BYTECODE := 1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export PYTHONPATH := $(CURDIR)/src

.PHONY: help venv tools demo test lint format typecheck validate cfn-lint build checkov unit schema docs bench clean

help:
	@echo "make demo   - run the responder end to end against an embedded moto AWS"
	@echo "make test   - every check: lint, types, template validation, sam build, checkov, pytest"
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

demo: venv
	$(PY) -m keyguard_cli.demo $(ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

format: venv
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

typecheck: venv
	$(VENV)/bin/mypy

cfn-lint: venv
	$(VENV)/bin/cfn-lint template.yaml

validate: $(SAM)
	$(SAM) validate --lint --template template.yaml

# Lambda cannot write bytecode to /var/task: ship it compiled, as unchecked-hash .pyc (never compared
# with the source: the zip's 2-second timestamps would make timestamp-checked bytecode look stale).
build: $(SAM)
	PATH="$(SAM_PYTHON):$$PATH" $(SAM) build --template template.yaml --build-dir .aws-sam/build
	"$(SAM_PYTHON)/python3.13" -m compileall -q -f --invalidation-mode unchecked-hash \
		.aws-sam/build/KeyEventsFunction .aws-sam/build/ReminderFunction

checkov: $(CHECKOV)
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f template.yaml

unit: venv
	$(PY) -m pytest -n 2 -q

schema: venv
	$(PY) -m shared.schema_export

docs: venv
	$(PY) -m scripts.gen_docs

bench: venv
	$(PY) -m bench.discovery --cold-start $(ARGS)

test: lint typecheck cfn-lint validate build checkov unit

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
