#!/usr/bin/env bash
# Runs the demo: a real Celery worker process (default and ml queues) and the web server.
# The broker is kombu's filesystem transport unless REDIS_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
export DEBUG="${DEBUG:-1}"
mkdir -p var/broker/out var/broker/processed var/log
.venv/bin/celery -A proctor_lti worker -Q default,ml -c 1 --loglevel INFO \
  --logfile var/log/worker.log &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
echo
echo "  Proctoring tool running. Open the development LMS:"
echo "    http://127.0.0.1:${PORT}/dev-lms/"
echo "  Admin: http://127.0.0.1:${PORT}/admin/  (user 'admin', password printed by seed_demo)"
echo "  Worker log: var/log/worker.log. Stop with Ctrl+C."
echo
.venv/bin/python manage.py runserver "127.0.0.1:${PORT}"
