# Two commands on a fresh Debian/Ubuntu machine with Python 3.11+:
#   make demo   - set up and run the tool with a built-in development LMS
#   make test   - set up and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PLATFORM_VENV := .venv-platform
SHARED ?= ../shared
MODEL_DIR ?= var/models
export PROCTOR_MODEL_DIR ?= $(abspath $(MODEL_DIR))
PORT ?= 8000

.PHONY: demo test venv models browser-deps platform-venv services-env lint bench bench-lti \
        bench-detection bench-upload bench-review evaluate-detection migrate clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# Model weights are never in git: copy them from a local folder (air-gapped installs) and
# verify each sha256; without the folder, download from the pinned upstream addresses.
models: venv
	@if [ -d "$(SHARED)/models" ]; then \
	  $(PY) -m detection fetch-models --from "$(SHARED)/models" --dest "$(PROCTOR_MODEL_DIR)"; \
	else \
	  $(PY) -m detection fetch-models --dest "$(PROCTOR_MODEL_DIR)" || \
	  echo "!! Detection models are not installed: analysis will be unavailable until 'make models' succeeds."; \
	fi

# Debian's Chromium and ChromeDriver for the browser tests (never a downloaded browser),
# and axe-core from npm for the accessibility checks.
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium chromium-driver >/dev/null; fi; \
	fi
	@test -f node_modules/axe-core/axe.min.js || npm ci --no-audit --no-fund --silent

# Open edX's LTI consumer as an independent LTI 1.3 platform, in its own environment.
$(PLATFORM_VENV)/.installed: tests/platform/requirements.txt
	@test -d $(PLATFORM_VENV) || $(PYTHON) -m venv $(PLATFORM_VENV)
	$(PLATFORM_VENV)/bin/pip install -q -r tests/platform/requirements.txt
	@touch $@

platform-venv: $(PLATFORM_VENV)/.installed

migrate: venv
	DEBUG=1 $(PY) manage.py migrate --noinput

# The suite runs against the real PostgreSQL and Redis when they answer on 127.0.0.1;
# with CI=true their absence fails the run instead of skipping those tests.
test: venv models browser-deps platform-venv
	@source scripts/services-env.sh && \
	  $(PY) manage.py makemigrations --check --dry-run >/dev/null && \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy detection

# SITE_URL follows PORT, so deep links and /lti/canvas.json name the port the demo runs on.
demo: venv models migrate
	@DEBUG=1 $(PY) manage.py seed_demo --base-url http://127.0.0.1:$(PORT)
	@DEBUG=1 PORT=$(PORT) SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} scripts/run-demo.sh

bench: bench-lti bench-detection bench-upload bench-review

# Server time of OIDC login + launch with a cached platform key set (aim: median < 25 ms).
bench-lti: venv
	$(PY) scripts/bench_lti.py -n 300 $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL))

# Overview of 500 attempts x 20 flags (aim < 200 ms) and the attempt timeline (aim < 300 ms).
bench-review: venv
	$(PY) scripts/bench_review.py

# Decode-only vs full-analysis CPU time of 3-minute 640x480 30 fps VP8 webcam clips made from
# the evaluation photos (aim: full <= 1.5x decode, >= 40x real time, < 500 MB with every model):
# a quiet exam (one student, room noise), one student talking throughout, and a stress mix
# (one face, empty room, a man at a table; speech throughout); then the talking and stress
# clips as the browser sends them, 6 s segments analysed one by one. Figures in docs/detection.md.
BENCH_FACE = $(SHARED)/data/eval/images/fr/examples__obama-480p.jpg
BENCH_SPEECH = $(SHARED)/data/eval/audio/english.wav
bench-detection: venv models
	@mkdir -p var/bench/segments
	@test -f var/bench/quiet.webm || $(PY) -m detection make-clip var/bench/quiet.webm \
	  $(BENCH_FACE) --seconds 180 --fps 30 --audio silence
	@test -f var/bench/talking.webm || $(PY) -m detection make-clip var/bench/talking.webm \
	  $(BENCH_FACE) --seconds 180 --fps 30 --audio $(BENCH_SPEECH)
	@test -f var/bench/webcam.webm || $(PY) -m detection make-clip var/bench/webcam.webm \
	  $(BENCH_FACE) empty $(SHARED)/data/eval/images/coco/000000050811.jpg --seconds 180 \
	  --fps 30 --audio $(BENCH_SPEECH)
	@test -f var/bench/segments/talking-029.webm || $(PY) -m detection make-clip \
	  var/bench/segments/talking.webm $(BENCH_FACE) --seconds 180 --fps 30 \
	  --audio $(BENCH_SPEECH) --segment-seconds 6 >/dev/null
	@test -f var/bench/segments/webcam-029.webm || $(PY) -m detection make-clip \
	  var/bench/segments/webcam.webm $(BENCH_FACE) empty \
	  $(SHARED)/data/eval/images/coco/000000050811.jpg --seconds 180 --fps 30 \
	  --audio $(BENCH_SPEECH) --segment-seconds 6 >/dev/null
	@for clip in quiet talking webcam; do echo "== $$clip"; \
	  $(PY) -m detection bench var/bench/$$clip.webm --repeat 3 || exit 1; done
	@for clip in talking webcam; do echo "== $$clip, as 30 segments of 6 s (production)"; \
	  $(PY) -m detection bench var/bench/segments/$$clip-*.webm --repeat 3 || exit 1; done

# Face/person counting accuracy on the labelled images, also under degraded conditions.
evaluate-detection: venv models
	$(PY) -m detection evaluate $(SHARED)/data/eval/manifest.csv

# N simulated students against gunicorn + PostgreSQL + Redis + a worker (needs both servers).
bench-upload: venv
	@source scripts/services-env.sh && $(PY) scripts/bench_upload.py --students 100 300 500 --duration 60

clean:
	rm -rf $(VENV) $(PLATFORM_VENV) var/test-media node_modules
