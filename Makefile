# Two commands: `make run` (the app) and `make test` (the whole suite). Both create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PORT ?= 8501
HOST ?= 127.0.0.1

.PHONY: hall hall-stop system-packages run classroom test test-fast bench train-all iwae evaluate screenshots chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The project itself is installed too, editable: Streamlit finds the components it serves as files through it.
$(RUN_STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	$(PY) -c "import torch, torchvision, streamlit, plotly, numpy"
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUN_STAMP)
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

system-packages:  # Debian's chromium (browser tests) and haproxy (make hall, hall tests); Playwright's browser is not used
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	  [ -z "$$missing" ] || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; }

chromium: system-packages

# `make run` serves this computer only (HOST=127.0.0.1); `make classroom` serves the local network (HOST=0.0.0.0)
# and the app's sidebar shows the class link as text and a QR code. Either prints the address first.
run: $(RUN_STAMP)
	@$(PY) -m ui.classroom --host $(HOST) --port $(PORT)
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT)

classroom:
	$(MAKE) run HOST=0.0.0.0

# A lecture hall: REPLICAS app processes on ports PORT+1.. behind HAProxy on HOST:PORT with session affinity
# (deploy/hall.py; README "A lecture hall"). hall-stop ends exactly what hall started (pids in runs/hall/).
REPLICAS ?= 4
hall: $(RUN_STAMP)
	$(PY) -m deploy.hall start --replicas $(REPLICAS) --host $(HOST) --port $(PORT)

hall-stop:
	$(PYTHON) -m deploy.hall stop

test: $(DEV_STAMP) system-packages
	$(PY) -m pytest

test-fast: $(DEV_STAMP)  # unit tests only: no real data, no browser
	$(PY) -m pytest -m "not slow and not browser"

bench: $(RUN_STAMP)
	$(PY) -m benchmarks.train_throughput

# Retrain every shipped checkpoint with the exact commands recorded in their manifests (checkpoints/README.md).
Z2_ARGS := --hidden 512,512,256 --epochs 40 --lr-schedule cosine --seed 0 --no-progress
Z20_ARGS := --hidden 512,256 --epochs 30 --lr-schedule cosine --seed 0 --no-progress
train-all: $(RUN_STAMP)
	$(PY) -m vae.train --model vae --latent-dim 2 --beta 1 $(Z2_ARGS) --out checkpoints/vae-z2
	$(PY) -m vae.train --model ae --latent-dim 2 $(Z2_ARGS) --out checkpoints/ae-z2
	$(PY) -m vae.train --model vae --latent-dim 20 --beta 1 $(Z20_ARGS) --out checkpoints/vae-z20
	$(PY) -m vae.train --model ae --latent-dim 20 $(Z20_ARGS) --threads 1 --out checkpoints/ae-z20  # twin of vae-z20
	$(PY) -m vae.train --model ae --latent-dim 10 $(Z20_ARGS) --threads 1 --out checkpoints/ae-z10  # twin of vae-z10-beta1
	for b in 0.1 0.5 2 4; do $(PY) -m vae.train --model vae --latent-dim 2 --beta $$b $(Z2_ARGS) \
	  --out checkpoints/vae-z2-beta$$b; done
	for b in 1 4 8; do $(PY) -m vae.train --model vae --latent-dim 10 --beta $$b $(Z20_ARGS) \
	  --out checkpoints/vae-z10-beta$$b; done
	$(PY) -m vae.judge --epochs 8 --batch-size 64 --seed 0 --out checkpoints/judge
	$(PY) -m vae.gaussian  # after the judge: its manifest holds the judge's score of its samples
	$(MAKE) iwae seeds evaluate

seeds: $(RUN_STAMP)  # seeds 1 and 2 of the 2-D and 20-D AE/VAE pairs (into runs/, not shipped) -> checkpoints/SEEDS.json
	$(PY) -m vae.seeds --threads 1

evaluate: $(RUN_STAMP)  # every metric for every checkpoint -> checkpoints/RESULTS.md, RESULTS.json, README summary
	$(PY) -m vae.evaluate

iwae: $(RUN_STAMP)  # importance-weighted bounds, recorded in the manifests; then the generated table
	$(PY) -m vae.metrics iwae vae-z2 --k 1000 --record
	$(PY) -m vae.metrics iwae vae-z20 --k 1000 --record
	$(PY) -m vae.report

screenshots: $(DEV_STAMP) system-packages
	$(PY) -m tests.screenshots

clean:
	rm -rf $(VENV) .pytest_cache
