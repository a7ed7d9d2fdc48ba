# The two commands: `make run` and `make test` do all the set-up on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# In CI the tests that need PostgreSQL must run against the local server.
ifeq ($(CI),true)
export CONFERO_TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
endif

.PHONY: install run test lint typecheck bench soak cluster clean

$(PY):
	scripts/system-deps.sh base
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(VENV)/bin/confero db upgrade
	$(VENV)/bin/confero serve

lint: install
	$(VENV)/bin/ruff check src tests $(wildcard bench) soak

typecheck: install
	$(VENV)/bin/mypy

test: install
	scripts/system-deps.sh test
	$(VENV)/bin/ruff check src tests $(wildcard bench) soak
	$(VENV)/bin/mypy
	scripts/test-shards.sh $(PY)

bench: install
	scripts/system-deps.sh bench || echo "bench: Janus could not be installed; the side-by-side prints Confero alone"
	$(PY) -m bench

# The soak and fault suite (issue 14; about 20 minutes, wants the machine to itself):
# figures for docs/RELIABILITY.md. SOAK_ARGS picks parts, e.g. SOAK_ARGS="crash attacks".
soak: install
	scripts/system-deps.sh test
	$(PY) -m soak $(SOAK_ARGS)

# Three nodes on PostgreSQL (database confero_cluster) and Redis behind Kamailio on one
# machine (issue 16, docs/CLUSTER.md); Ctrl-C stops them. CLUSTER_NODES=2 for two.
cluster: install
	scripts/cluster.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
