# Multi-stage image for the web process and the Celery workers (same image, other command).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=proctor_lti.settings PROCTOR_DATA_DIR=/data \
    PROCTOR_MODEL_DIR=/models OMP_NUM_THREADS=1
# libgomp1 for onnxruntime; curl for the health check.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 proctor && mkdir -p /data /models \
    && chown proctor:proctor /data /models
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=proctor:proctor . /app
# Collect static files at build time with throwaway settings (no secrets in the image).
RUN DEBUG=1 SECRET_KEY=build python manage.py collectstatic --noinput
USER proctor
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# Sync workers, about three per core: a request mostly waits on fsync and PostgreSQL (the
# README's sizing was measured with 6 on 2 cores). Set WEB_CONCURRENCY to change it.
ENV WEB_CONCURRENCY=6
CMD ["gunicorn", "proctor_lti.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--timeout", "60", "--access-logfile", "-"]
