# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := out/demo

.PHONY: demo replay-demo test check lint typecheck bench bench-stream soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	scripts/retry.sh $(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	scripts/retry.sh $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: install, then run the live demo: a local Kafka broker, a worker and the synthetic stream
## paced by event time, alerts printed as they come (Ctrl-C stops it all; without Java or Maven
## it replays the same scenario offline); options in DEMO_ARGS, e.g. DEMO_ARGS="--seconds 120"
demo: $(STAMP)
	$(BIN)/aidmon demo $(DEMO_ARGS)

## replay-demo: install, write the project's example stream and replay it offline at once
replay-demo: $(STAMP)
	$(BIN)/aidmon generate --out $(DEMO)/events.jsonl --truth $(DEMO)/truth.json \
		--sanctions $(DEMO)/sanctions.xml --shipments 40 --seed 2012
	$(BIN)/aidmon replay $(DEMO)/events.jsonl --sanctions $(DEMO)/sanctions.xml \
		--config examples/aidmon.toml --alerts $(DEMO)/alerts.jsonl --rejects $(DEMO)/rejects.jsonl
	@echo "alerts: $(DEMO)/alerts.jsonl   rejects: $(DEMO)/rejects.jsonl"

## test: install with the test tools (and the services the tests start) and run every test
test: $(STAMP)
	scripts/test-tools.sh
	$(BIN)/python -m pytest

## check: lint, type-check and test
check: lint typecheck test

lint: $(STAMP)
	$(BIN)/ruff check schemas agents streams tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: replay speed and memory against a bare json.loads loop (prints ratios)
bench: $(STAMP)
	$(BIN)/python benchmarks/replay_speed.py

## bench-stream: the worker on a local broker against a bare consumer and a minimal Faust agent, both mixes (prints ratios, ~15 min)
bench-stream: $(STAMP)
	scripts/test-tools.sh
	$(BIN)/python benchmarks/stream_speed.py

## soak: a season (one quarter, then four) through replay and the worker on a local broker, both mixes: memory, CPU and changelog bytes per event (prints ratios and targets, 10 to 15 min; options in SOAK_ARGS, e.g. SOAK_ARGS=--skip-worker)
soak: $(STAMP)
	scripts/test-tools.sh
	$(BIN)/python benchmarks/season.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) out build *.egg-info
