# poster-pipeline — `make demo` runs the whole pipeline locally; `make test` runs every check.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The Lambda runtime is python3.12: prefer it (pyenv's, or one on PATH), else any python3.
BOOTSTRAP_PYTHON ?= $(shell PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null || command -v python3.12 || command -v python3)
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# pytest workers: one per core (tests/conftest.py keeps each local stack's tests together in one worker).
PYTEST_WORKERS ?= auto
PYTEST := $(VENV)/bin/pytest -n $(PYTEST_WORKERS)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml layers/common/requirements.txt
	@test -x $(PY) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# The independent salient-object judge's weights for the gallery and its tests (never deployed).
JUDGE_MODEL := .cache/judge/isnet.onnx
$(JUDGE_MODEL): | $(STAMP)
	$(PY) tools/fetch_judge_model.py

.PHONY: install
install: $(STAMP) ## create .venv and install everything (poster-composer lands in .venv/bin)

.PHONY: demo
demo: $(STAMP) ## run the pipeline end to end on the local stack: fixtures in, posters in out/
	$(PY) -m local_stack.demo --out out

.PHONY: test
test: lint lint-infra pytest ## the whole suite: ruff, mypy, function lengths, cfn-lint, statelint, sam validate, pytest

.PHONY: lint
lint: $(STAMP) ## ruff, mypy, and no function over 60 lines outside tests/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) tools/function_lengths.py

.PHONY: lint-infra
lint-infra: $(STAMP) ## cfn-lint, statelint (raw and substituted), sam validate --lint, translated-template lint
	$(PY) tools/lint_infra.py

.PHONY: pytest
pytest: $(STAMP) $(JUDGE_MODEL) ## unit, integration and end-to-end tests
	$(PYTEST) $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: $(STAMP) $(JUDGE_MODEL) ## unit tests only (no sockets)
	$(PYTEST) tests/unit $(PYTEST_ARGS)

.PHONY: gallery
gallery: $(STAMP) $(JUDGE_MODEL) ## render every fixture x aspect ratio x text set into out/gallery/index.html
	PYTHONPATH=layers/composer:layers/common:. $(PY) -m poster_composer.gallery out/gallery

.PHONY: gallery-unseen
gallery-unseen: $(STAMP) $(JUDGE_MODEL) ## the same on 8 photos the renderer was never tuned on: out/gallery-unseen/
	$(PY) tools/fetch_unseen_photos.py
	PYTHONPATH=layers/composer:layers/common:. $(PY) -m poster_composer.gallery out/gallery-unseen \
		--fixtures .cache/unseen/backgrounds

.PHONY: bench
bench: $(STAMP) ## renderer benchmark: p50 and ratio to Pillow decode+encode
	$(PY) bench/bench_render.py

.PHONY: bench-worker
bench-worker: $(STAMP) ## the deployed composer's render worker: p50 of one task at 1024² and a 4000×3000 upload
	$(PY) bench/bench_worker.py

.PHONY: bench-polling
bench-polling: $(STAMP) ## the wait loop: polling that learns vs the SDK's schedule on the same task durations
	$(PY) bench/bench_polling.py

.PHONY: bench-finalize
bench-finalize: $(STAMP) ## Finalize's streaming copy: peak memory at 1 MB vs 64 MB, time vs a plain upload
	$(PY) bench/bench_finalize.py

.PHONY: bench-overhead
bench-overhead: $(STAMP) ## a lone job on the local stack: upload to poster, less the provider's task time
	$(PY) bench/bench_overhead.py

.PHONY: bench-coldstart
bench-coldstart: $(STAMP) ## each handler's import time against a bare import boto3, same run
	$(PY) bench/bench_coldstart.py

.PHONY: bench-cost
bench-cost: $(STAMP) ## AWS $ per poster (composer and DashScope-like 8-40 s tasks) counted on the local stack; writes out/cost.json
	$(PY) bench/bench_cost.py

.PHONY: burst
burst: $(STAMP) ## load test: 300 uploads at once with faults on the local stack; prints figures, writes out/burst.json
	$(PY) bench/burst.py

.PHONY: burst-composer
burst-composer: $(STAMP) ## 300 uploads through the deployed-shape composer service vs this machine's render limit
	$(PY) bench/burst_composer.py

.PHONY: build
build: $(STAMP) ## sam build (no Docker needed)
	tools/sam.sh build

.PHONY: deploy
deploy: build ## sam deploy --guided
	tools/sam.sh deploy --guided

.PHONY: local-stack
local-stack: $(STAMP) ## start the local stack (stack name poster-pipeline) and keep it running (prints the moto endpoint)
	$(VENV)/bin/poster-local-stack up --stack-name poster-pipeline

.PHONY: clean
clean: ## remove build output and caches (keeps .venv)
	rm -rf .aws-sam out .mypy_cache .ruff_cache .pytest_cache
