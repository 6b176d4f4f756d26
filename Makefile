# telphin.pbx: the one entry point for humans and CI.  `make venv`, then `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -q
# Tools (ansible-playbook, ansible-test, ansible-lint, ...) come from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# The test matrix, the one source of `make test`, .ci/run and the GitHub workflow (.github/workflows/ci.yml, which
# tests/integration/test_matrix.py checks against `make -s matrix`): every supported ansible-core, with the Python
# its venv runs on. 2.19 is .venv (Python 3.11, with the tools); every other core has .venv-<core>, built with
# hacking/find-python (PATH, then pyenv) or the interpreter named by PYTHON_FOR_<core>=/path/to/python.
CORES := 2.16 2.17 2.18 2.19 2.20 2.21
CORE_PYTHON_2.16 := 3.11
CORE_PYTHON_2.17 := 3.10
CORE_PYTHON_2.18 := 3.12
CORE_PYTHON_2.19 := 3.11
CORE_PYTHON_2.20 := 3.12
CORE_PYTHON_2.21 := 3.13
# Integration (real ansible-playbook runs against the emulator) on every supported core; docs/testing.md has what
# each costs in .ci/run.
INTEGRATION_CORES := $(CORES)
# Integration tests run two at a time (pytest-xdist; a test file stays on one worker, for its module fixtures).
# INTEGRATION_XDIST= runs them one at a time.
INTEGRATION_XDIST ?= -n 2 --dist loadfile
venv_of = $(if $(filter 2.19,$(1)),$(VENV),.venv-$(1))
OTHER_CORES := $(filter-out 2.19,$(CORES))

.PHONY: help venv test matrix units units-all integration integration-all sanity sanity-all lint import-layers changelog-lint \
	docs-lint docsite docsite-check fragment-check workflow-lint release-check ansible-test-units release test-targets quickstart quickstart-test reliability clean \
	$(foreach c,$(CORES),units-$(c) integration-$(c) sanity-$(c))

help:
	@echo "make venv             create .venv (test tools, ansible-core 2.19 on Python 3.11) and a venv for every other"
	@echo "                      ansible-core of the matrix: $(foreach c,$(OTHER_CORES),.venv-$(c) (Python $(CORE_PYTHON_$(c))))"
	@echo "make test             $(TEST_TARGETS)"
	@echo "make units            pytest tests/unit tests/emulator_tests with ansible-core 2.19 (.venv, Python 3.11)"
	@echo "make units-<core>     the same with ansible-core <core>, one of $(CORES); units-all: on each"
	@echo "make integration     pytest tests/integration with ansible-core 2.19 (.venv, Python 3.11)"
	@echo "make integration-<core>  the same with ansible-core <core>; integration-all: on each"
	@echo "make sanity           ansible-test sanity on Python 3.11 (hacking/ansible-test.sh)"
	@echo "make ansible-test-units  ansible-test units --venv on Python 3.11, as a contributor types it (CONTRIBUTING.md)"
	@echo "make sanity-all       the same on every Python found (plugins: 3.8 to 3.13) = sanity-2.19"
	@echo "make sanity-<core>    ansible-test sanity of ansible-core <core> (on the Python of its venv)"
	@echo "make matrix           print the test matrix as JSON (what the GitHub workflow must run)"
	@echo "make lint             ansible-lint, production profile"
	@echo "make import-layers    import-linter: the layers of plugins/ (.importlinter), drawn in docs/architecture.md"
	@echo "make changelog-lint   antsibull-changelog lint"
	@echo "make fragment-check   a change to plugins/ roles/ playbooks/ meta/ since the last release has a fragment"
	@echo "make workflow-lint    check-jsonschema: .github/workflows/ against GitHub's workflow schema"
	@echo "make docs-lint        antsibull-docs lint-collection-docs --plugin-docs"
	@echo "make docsite          the docsite, offline, warnings as errors (hacking/docsite.py): build/docsite/build/html"
	@echo "make docsite-check    make docsite, then headless Chromium opens it from the index (tests/docsite)"
	@echo "make release-check    build the tarball from a clean export of HEAD, run galaxy-importer on it"
	@echo "make release VERSION=x.y.z  version bump, CHANGELOG.md, commit, tag, build from the tag, import check"
	@echo "make reliability      full-size chaos/quota/bad-input/secrets/TLS/kill-point run, then docs/reliability.md"
	@echo "                      (SEEDS=1-10: also the 20 % chaos series, one round per seed)"
	@echo "make quickstart       the demo of the README (hacking/quickstart.sh), in its own .venv-quickstart"
	@echo "make quickstart-test  make quickstart from a copy of the checkout with only Python 3.11 (then 3.10) on PATH"
	@echo "make clean            remove test output and caches (not the venvs)"

venv: $(foreach c,$(CORES),$(call venv_of,$(c))/.stamp)

$(VENV)/.stamp: requirements-test.txt requirements.txt hacking/ansible-test-offline-bootstrap
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-test.txt -r requirements.txt
	hacking/ansible-test-offline-bootstrap $(PY)
	touch $@

# .venv-<core> holds what tests/unit, tests/emulator_tests and tests/integration need, with the ranges of
# requirements-test.txt: requests (the tests' own HTTP client; the collection needs urllib3), hypothesis (unit
# tests), ansible-runner (the integration tests that run a playbook the way AWX does), pytest-xdist (integration two
# at a time); ansible-test comes with ansible-core. (.venv-quickstart has its own explicit rule, which wins over this pattern.)
.venv-%/.stamp: requirements.txt hacking/find-python hacking/ansible-test-offline-bootstrap
	@[ -n "$(CORE_PYTHON_$*)" ] || { echo "ansible-core $* is not in the matrix (CORES: $(CORES))" >&2; exit 1; }
	py="$(PYTHON_FOR_$*)"; [ -n "$$py" ] || py=$$(hacking/find-python $(CORE_PYTHON_$*)); \
	echo ".venv-$*: $$py"; rm -rf .venv-$*; "$$py" -m venv .venv-$*
	next=$$(echo $* | awk -F. '{ print $$1 "." $$2 + 1 }'); \
	.venv-$*/bin/python -m pip install -q "ansible-core>=$*,<$$next" 'pytest>=8,<10' 'pyyaml>=6,<7' \
		'requests>=2.25,<3' 'hypothesis>=6.100,<7' 'ansible-runner>=2.4,<3' 'pytest-xdist>=3.5,<4' \
		-r requirements.txt
	hacking/ansible-test-offline-bootstrap .venv-$*/bin/python
	touch $@

# One target per check and core, so .ci/run can time each.
TEST_TARGETS := $(foreach c,$(CORES),units-$(c)) $(foreach c,$(INTEGRATION_CORES),integration-$(c)) \
	$(foreach c,$(CORES),sanity-$(c)) ansible-test-units lint import-layers changelog-lint fragment-check workflow-lint release-check \
	docsite-check \
	quickstart-test
test: $(TEST_TARGETS)

test-targets:  # for .ci/run, which times each
	@echo $(TEST_TARGETS)

matrix:  # for tests/integration/test_matrix.py and whoever writes a CI configuration
	@list() { local sep=; printf '['; for c in "$$@"; do printf '%s"%s"' "$$sep" "$$c"; sep=', '; done; printf ']'; }; \
	printf '{"python": {'; sep=; for p in $(foreach c,$(CORES),$(c)=$(CORE_PYTHON_$(c))); do \
		printf '%s"%s": "%s"' "$$sep" "$${p%=*}" "$${p#*=}"; sep=', '; done; \
	printf '}, "units": %s, "sanity": %s, "integration": %s}\n' "$$(list $(CORES))" "$$(list $(CORES))" \
		"$$(list $(INTEGRATION_CORES))"

UNIT_TESTS := tests/unit tests/emulator_tests
.SECONDEXPANSION:

units: units-2.19
units-all: $(foreach c,$(CORES),units-$(c))
$(foreach c,$(CORES),units-$(c)): units-%: $$(call venv_of,$$*)/.stamp
	$(call venv_of,$*)/bin/python -m pytest -q $(UNIT_TESTS)

integration: integration-2.19
integration-all: $(foreach c,$(CORES),integration-$(c))
$(foreach c,$(CORES),integration-$(c)): integration-%: $$(call venv_of,$$*)/.stamp
	TELPHIN_TEST_ANSIBLE_BIN=$(CURDIR)/$(call venv_of,$*)/bin $(call venv_of,$*)/bin/python -m pytest -q \
		$(INTEGRATION_XDIST) tests/integration

sanity: $(VENV)/.stamp
	hacking/ansible-test.sh sanity

sanity-all: $(VENV)/.stamp
	SANITY_PYTHON=all hacking/ansible-test.sh sanity

# 2.19's sanity runs the compile and import tests on every Python found; each other core's on its venv's Python.
sanity-2.19: sanity-all
$(foreach c,$(OTHER_CORES),sanity-$(c)): sanity-%: .venv-$$*/.stamp
	SANITY_VENV=$(CURDIR)/.venv-$* SANITY_PYTHON=$(CORE_PYTHON_$*) hacking/ansible-test.sh sanity

# The unit tests the way a community contributor runs them (ansible-test's own pytest configuration, its venv with
# tests/unit/requirements.txt); once, on 2.19. tests/emulator_tests are not ansible-test units: make units runs them.
ansible-test-units: $(VENV)/.stamp
	hacking/ansible-test.sh units

lint: $(VENV)/.stamp
	ansible-lint

import-layers: $(VENV)/.stamp  # the import contracts of .importlinter (layers, no circle, no controller code on the target)
	hacking/lint-imports.sh

changelog-lint: $(VENV)/.stamp
	antsibull-changelog lint

# A change to plugins/, roles/, playbooks/ or meta/ since the last release commit needs a changelog fragment.
fragment-check:
	hacking/fragment-check

workflow-lint: $(VENV)/.stamp
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

docs-lint: $(VENV)/.stamp
	antsibull-docs lint-collection-docs --plugin-docs .

# The docsite's own venv (Sphinx and its theme stay out of .venv); an explicit rule, which wins over .venv-%.
DOCS_VENV := .venv-docs
$(DOCS_VENV)/.stamp: requirements-docs.txt
	rm -rf $(DOCS_VENV)
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install -q -r requirements-docs.txt
	touch $@

docsite: $(DOCS_VENV)/.stamp
	$(DOCS_VENV)/bin/python hacking/docsite.py

# Needs Chromium (Debian: chromium; .ci/run installs it).
docsite-check: docsite $(VENV)/.stamp
	$(PYTEST) tests/docsite

release-check: $(VENV)/.stamp
	hacking/release-check.sh

release: venv
	@[ -n "$(VERSION)" ] || { echo "usage: make release VERSION=x.y.z (docs/releasing.md)" >&2; exit 1; }
	hacking/release.sh $(VERSION)

reliability: $(VENV)/.stamp
	rm -rf tests/output/reliability
	TELPHIN_RELIABILITY_FULL=1 TELPHIN_TEST_ANSIBLE_BIN=$(CURDIR)/$(VENV)/bin $(PYTEST) \
		tests/integration/test_chaos.py tests/integration/test_bad_input.py tests/integration/test_secrets.py \
		tests/integration/test_tls.py tests/integration/test_kill_points.py --junitxml=tests/output/reliability/junit.xml
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
quickstart-test: $(VENV)/.stamp
	$(PYTEST) tests/quickstart

clean:
	rm -rf tests/output .tmp .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './.venv*' -prune -exec rm -rf {} +
