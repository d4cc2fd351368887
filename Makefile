# Set-up on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test quick lint typecheck pytest docs selfcheck bench dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,helm]'
	touch $(STAMP)

demo: $(STAMP)
	@echo "== the insecure example (expect findings, exit 1) =="
	-$(BIN)/deploysafe scan examples/insecure
	@echo
	@echo "== deploysafe fix on the insecure example, as a diff (writes nothing; exit 1: findings remain) =="
	-$(BIN)/deploysafe fix --diff --unsafe-fixes --fail-on medium examples/insecure
	@echo
	@echo "== the hardened example (expect a clean scan, exit 0) =="
	$(BIN)/deploysafe scan examples/hardened
	@echo
	@echo "== GitOps: signed releases, history, rollback, platform config (examples/gitops/demo.sh) =="
	DEPLOYSAFE=$(CURDIR)/$(BIN)/deploysafe sh examples/gitops/demo.sh
	@echo
	@echo "== CI files: a hijackable workflow and pipeline (expect findings), then fixed ones =="
	-$(BIN)/deploysafe scan examples/ci/insecure
	$(BIN)/deploysafe scan examples/ci/hardened
	@echo
	@echo "== Secrets: committed tokens, build secrets in the image and in CI, plain Secrets and generator literals (expect findings), then fixed =="
	-$(BIN)/deploysafe scan examples/secrets/insecure
	$(BIN)/deploysafe scan examples/secrets/hardened
	@echo
	@echo "== Admission webhook: a real HTTPS server judging AdmissionReviews, its install manifests, a cluster audit =="
	DEPLOYSAFE=$(CURDIR)/$(BIN)/deploysafe $(BIN)/python examples/webhook/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy --strict src tests

pytest: $(STAMP)
	$(BIN)/pytest

# The fast loop while working: unit tests only (markers decided in tests/conftest.py).
quick: $(STAMP)
	$(BIN)/pytest -m "not integration and not slow" -q

docs: $(STAMP)
	$(BIN)/deploysafe docs

# deploysafe scans its own repository (examples and fixtures excluded by deploysafe.yaml).
selfcheck: $(STAMP)
	$(BIN)/deploysafe scan .

test: lint typecheck pytest selfcheck
	$(BIN)/deploysafe docs --check

# The sdist and the wheel (built from the sdist) in dist/, checked as PyPI would.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# The quick form: the real-shaped corpus at 1x, Checkov and Trivy only if bench/.venv-peers
# has them (bench/README.md gives the full run).
bench: $(STAMP)
	$(BIN)/python bench/run.py --real --pairs 1 --warmup light

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache
