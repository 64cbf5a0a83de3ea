# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test test-fast lint clean-demo

install:
	bash tools/install_env.sh

demo: install
	$(PY) -m dwpose.cli demo

test: install
	$(PY) -m pytest -q -rs -p no:cacheprovider tests

test-fast: install
	$(PY) -m pytest -q -rs -p no:cacheprovider -m "not slow" tests

lint: install
	$(VENV)/bin/ruff check dwpose tools tests *.py

clean-demo:
	rm -rf work_dirs/demo
