# One entry point for people and CI. Every target creates what it needs, so a fresh clone works.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.9.9
UV := .tools/bin/uv
VENV := .venv
LM := $(VENV)/bin/livelihood-monitor
export LM_WAREHOUSE ?= $(CURDIR)/warehouse/livelihood.duckdb
export LM_DATA_DIR ?= $(CURDIR)/var
PORT ?= 8501

.PHONY: install demo serve test lint typecheck pytest test-fast dashboard clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# The lock file pins every version; --frozen refuses to drift from it.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.installed

demo: install
	$(LM) init
	$(LM) demo-load
	@$(LM) users ensure-demo
	@echo "仪表盘：http://127.0.0.1:$(PORT)  （按 Ctrl+C 停止）"
	$(VENV)/bin/streamlit run dashboards/app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

serve: install
	$(LM) init
	$(LM) serve

dashboard: install
	$(VENV)/bin/streamlit run dashboards/app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest

test: lint typecheck pytest

test-fast: install
	$(VENV)/bin/pytest -m "not slow"

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache var test-artifacts
