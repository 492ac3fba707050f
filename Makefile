# tunerig: every target sets itself up idempotently (Debian packages when missing, a pinned .venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Cross toolchain + emulator for the firmware; cmake for the firmware build; speech for PercepNet data
# (TTS voices and klettres recordings); Speex's echo canceller for the evaluation.
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake make gcc \
	espeak-ng flite festival festvox-kallpc16k festvox-us-slt-hts klettres-data libspeexdsp1
PYTEST_ARGS ?=

.PHONY: setup apt venv demo test bench clean

setup: apt venv

apt:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -e '.[nn,boards,dev]'
	@touch $@

demo: setup
	$(BIN)/tunerig demo --out $(OUT)

test: setup
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

BENCHES ?= design mbdp hil nn pn_pipeline percepnet evaluate

bench: setup
	@mkdir -p $(OUT)
	@for b in $(BENCHES); do echo "== tunerig bench $$b"; $(BIN)/tunerig bench $$b --json $(OUT)/bench_$$b.json || exit 1; done

clean:
	rm -rf build $(OUT)
