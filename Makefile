# Quick start: `make run` (the dashboard) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
# this machine only; ADDRESS=0.0.0.0 serves the network (the Docker image does)
ADDRESS ?= 127.0.0.1

.PHONY: run test test-docker bench dask clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# the optional Dask extra (sweeps on a cluster); `make test` runs its tests when it is installed
$(VENV)/.installed-dask: $(VENV)/.installed requirements-dask.txt
	$(PY) -m pip install --quiet -r requirements-dask.txt
	touch $@

dask: $(VENV)/.installed-dask

run: $(VENV)/.installed
	$(PY) -m scansnap_app.serve --server.address $(ADDRESS) --server.port $(PORT)

test: $(VENV)/.installed-dev
	$(PY) -m pytest

# the image for real: needs a Docker engine (or root to start one), see tests/test_docker_image.py
test-docker: $(VENV)/.installed-dev
	$(PY) -m pytest -m docker -s tests/test_docker_image.py

bench: $(VENV)/.installed-dev
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
