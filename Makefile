# telphin.pbx: the one entry point for humans and CI.  `make venv`, then `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV216 := .venv-2.16
# Newest ansible-core: its controller needs Python 3.12+ (hacking/find-python looks on PATH and in pyenv).
VENV221 := .venv-2.21
NEWEST_PYTHONS := 3.13 3.12
PYTHON_NEWEST ?=
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -q
# Tools (ansible-playbook, ansible-test, ansible-lint, ...) come from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv test units units-2.16 units-2.21 integration integration-2.16 integration-2.21 sanity sanity-all \
	sanity-2.21 lint import-layers changelog-lint docs-lint release-check release test-targets quickstart quickstart-test reliability clean

help:
	@echo "make venv             create .venv (test tools), .venv-2.16 (oldest supported ansible-core) and"
	@echo "                      .venv-2.21 (newest ansible-core, on Python 3.13 or 3.12: PYTHON_NEWEST=... to choose)"
	@echo "make test             units units-2.16 units-2.21 integration integration-2.16 integration-2.21 sanity-all"
	@echo "                      sanity-2.21 lint changelog-lint release-check import-layers quickstart-test"
	@echo "make units            pytest tests/unit tests/emulator_tests with ansible-core 2.19 (.venv, Python 3.11)"
	@echo "make units-2.16       the same with ansible-core 2.16"
	@echo "make units-2.21       the same with ansible-core 2.21"
	@echo "make integration      pytest tests/integration with ansible-core 2.19 (.venv, Python 3.11)"
	@echo "make integration-2.16 pytest tests/integration with ansible-core 2.16"
	@echo "make integration-2.21 pytest tests/integration with ansible-core 2.21"
	@echo "make sanity           ansible-test sanity on Python 3.11 (hacking/ansible-test-sanity.sh)"
	@echo "make sanity-all       the same on every Python found (plugins: 3.8 to 3.13)"
	@echo "make sanity-2.21      ansible-test sanity of ansible-core 2.21 (on the Python of .venv-2.21)"
	@echo "make lint             ansible-lint, production profile"
	@echo "make import-layers    import-linter: the layers of plugins/ (.importlinter), drawn in docs/architecture.md"
	@echo "make changelog-lint   antsibull-changelog lint"
	@echo "make docs-lint        antsibull-docs lint-collection-docs --plugin-docs"
	@echo "make release-check    build the tarball from a clean export of HEAD, run galaxy-importer on it"
	@echo "make release VERSION=x.y.z  version bump, CHANGELOG.md, commit, tag, build from the tag, import check"
	@echo "make reliability      full-size chaos/quota/bad-input/secrets/TLS run, then docs/reliability.md"
	@echo "                      (SEEDS=1-10: also the 20 % chaos series, one round per seed)"
	@echo "make quickstart       the demo of the README (hacking/quickstart.sh), in its own .venv-quickstart"
	@echo "make quickstart-test  make quickstart from a copy of the checkout with only Python 3.11 (then 3.10) on PATH"
	@echo "make clean            remove test output and caches (not the venvs)"

venv: $(VENV)/.stamp $(VENV216)/.stamp $(VENV221)/.stamp

$(VENV)/.stamp: requirements-test.txt requirements.txt hacking/ansible-test-offline-bootstrap
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-test.txt -r requirements.txt
	hacking/ansible-test-offline-bootstrap $(PY)
	touch $@

# .venv-2.16 and .venv-2.21 hold what tests/unit, tests/emulator_tests and tests/integration need, with the ranges of
# requirements-test.txt: requests (the tests' own HTTP client; the collection needs urllib3), hypothesis (unit
# tests), ansible-runner (the integration tests that run a playbook the way AWX does).
$(VENV216)/.stamp: requirements.txt
	$(PYTHON) -m venv $(VENV216)
	$(VENV216)/bin/python -m pip install -q 'ansible-core>=2.16,<2.17' 'pytest>=8,<10' 'pyyaml>=6,<7' \
		'requests>=2.25,<3' 'hypothesis>=6.100,<7' 'ansible-runner>=2.4,<3' -r requirements.txt
	touch $@

$(VENV221)/.stamp: requirements.txt hacking/find-python hacking/ansible-test-offline-bootstrap
	py="$(PYTHON_NEWEST)"; [ -n "$$py" ] || py=$$(hacking/find-python $(NEWEST_PYTHONS)); \
	echo "$(VENV221): $$py"; rm -rf $(VENV221); "$$py" -m venv $(VENV221)
	$(VENV221)/bin/python -m pip install -q 'ansible-core>=2.21,<2.22' 'pytest>=8,<10' 'pyyaml>=6,<7' \
		'requests>=2.25,<3' 'hypothesis>=6.100,<7' 'ansible-runner>=2.4,<3' -r requirements.txt
	hacking/ansible-test-offline-bootstrap $(VENV221)/bin/python
	touch $@

TEST_TARGETS := units units-2.16 units-2.21 integration integration-2.16 integration-2.21 sanity-all sanity-2.21 lint \
	changelog-lint release-check import-layers quickstart-test
test: $(TEST_TARGETS)

test-targets:  # for .ci/run, which times each
	@echo $(TEST_TARGETS)

UNIT_TESTS := tests/unit tests/emulator_tests

units: venv
	$(PYTEST) $(UNIT_TESTS)

units-2.16: venv
	$(VENV216)/bin/python -m pytest -q $(UNIT_TESTS)

units-2.21: venv
	$(VENV221)/bin/python -m pytest -q $(UNIT_TESTS)

integration: venv
	TELPHIN_TEST_ANSIBLE_BIN=$(CURDIR)/$(VENV)/bin $(PYTEST) tests/integration

integration-2.16: venv
	TELPHIN_TEST_ANSIBLE_BIN=$(CURDIR)/$(VENV216)/bin $(VENV216)/bin/python -m pytest -q tests/integration

integration-2.21: venv
	TELPHIN_TEST_ANSIBLE_BIN=$(CURDIR)/$(VENV221)/bin $(VENV221)/bin/python -m pytest -q tests/integration

sanity: venv
	hacking/ansible-test-sanity.sh

sanity-all: venv
	SANITY_PYTHON=all hacking/ansible-test-sanity.sh

sanity-2.21: venv
	SANITY_VENV=$(CURDIR)/$(VENV221) SANITY_PYTHON=$$($(VENV221)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		hacking/ansible-test-sanity.sh

lint: venv
	ansible-lint

import-layers: venv  # the import contracts of .importlinter (layers, no circle, no controller code on the target)
	hacking/lint-imports.sh

changelog-lint: venv
	antsibull-changelog lint

docs-lint: venv
	antsibull-docs lint-collection-docs --plugin-docs .

release-check: venv
	hacking/release-check.sh

release: venv
	@[ -n "$(VERSION)" ] || { echo "usage: make release VERSION=x.y.z (docs/releasing.md)" >&2; exit 1; }
	hacking/release.sh $(VERSION)

reliability: venv
	rm -rf tests/output/reliability
	TELPHIN_RELIABILITY_FULL=1 TELPHIN_TEST_ANSIBLE_BIN=$(CURDIR)/$(VENV)/bin $(PYTEST) \
		tests/integration/test_chaos.py tests/integration/test_bad_input.py tests/integration/test_secrets.py \
		tests/integration/test_tls.py --junitxml=tests/output/reliability/junit.xml
	$(if $(SEEDS),$(PY) -m tests.reliability.chaos --rate 0.20 --revoke-every 1 --seeds $(SEEDS) --label rate20)
	$(PY) tests/reliability/report.py

# The quick start's one venv: what the demo uses, with the ansible-core that CI tests on $(PYTHON)'s version.
QUICKSTART_VENV := .venv-quickstart
$(QUICKSTART_VENV)/.stamp: requirements-quickstart.txt requirements.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(None if (3, 10) <= v <= (3, 13) else \
		"make quickstart needs Python 3.10 to 3.13; $(PYTHON) is %d.%d: name one, e.g. make quickstart PYTHON=python3.11" % v)'
	rm -rf $(QUICKSTART_VENV)
	$(PYTHON) -m venv $(QUICKSTART_VENV)
	$(QUICKSTART_VENV)/bin/python -m pip install -q -r requirements-quickstart.txt
	touch $@

quickstart: $(QUICKSTART_VENV)/.stamp
	hacking/quickstart.sh

# `make quickstart` in a copy of the checkout with one Python on PATH (3.11, 3.10), no pyenv, an empty HOME.
quickstart-test: venv
	$(PYTEST) tests/quickstart

clean:
	rm -rf tests/output .tmp .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './.venv*' -prune -exec rm -rf {} +
