"""Settings for the proctoring tool, driven entirely by the environment.

Every variable is listed in `.env.example` and the README. Secrets may be given as
`NAME` or as `NAME_FILE` (a path whose content is the secret), so container secrets work.
Defaults are safe: DEBUG is off unless asked, and production (DEBUG off) refuses to start
without a SECRET_KEY, ALLOWED_HOSTS and a DATABASE_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the content of the file named by NAME_FILE."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str = "False") -> bool:
    return (env(name, default) or "").strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(env(name, str(default)) or default)


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = envbool("DEBUG")
# The built-in development LMS and the demo seed data; never on in production.
DEV_LMS_ENABLED = envbool("DEV_LMS_ENABLED", "True" if DEBUG else "False")
TESTING = envbool("PROCTOR_TESTING")

SECRET_KEY = env("SECRET_KEY") or ""
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
DATABASE_URL = env("DATABASE_URL")

if not DEBUG and not TESTING:
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY),
            ("ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("DATABASE_URL", DATABASE_URL),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "Production mode (DEBUG off) needs " + ", ".join(missing)
            + ". Set them in the environment (or NAME_FILE), or set DEBUG=True for local use."
        )
if not SECRET_KEY:
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105

SITE_URL = (env("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
DATA_DIR = Path(env("PROCTOR_DATA_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")
MODEL_DIR = Path(env("PROCTOR_MODEL_DIR", str(DATA_DIR / "models")) or DATA_DIR / "models")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "proctor_lti.core",
    "proctor_lti.lti",
    "proctor_lti.exams",
    "proctor_lti.recordings",
    "proctor_lti.review",
    # The built-in development LMS; its routes exist only when DEV_LMS_ENABLED.
    "proctor_lti.devlms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "proctor_lti.lti.middleware.FrameAncestorsMiddleware",
]

ROOT_URLCONF = "proctor_lti.urls"
WSGI_APPLICATION = "proctor_lti.wsgi.application"
ASGI_APPLICATION = "proctor_lti.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite is only the embedded default for the demo and quick local runs.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{DATA_DIR / 'proctor.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The demo's web server and worker write at once. IMMEDIATE transactions wait for the
    # write lock (up to the timeout) instead of failing with "database is locked" when a
    # read inside a transaction would have to become a write; WAL lets reads go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # The upload hot path (recordings/sql.py, a few statements per chunk, hundreds of chunks
    # a second) binds its parameters on the server, so psycopg prepares those statements on
    # their second run and PostgreSQL stops planning them on every request. The ORM keeps
    # Django's client-side binding and is never prepared. (Behind PgBouncer in transaction
    # mode, use PgBouncer 1.21+ with max_prepared_statements.)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2)
# Lets parallel test runs on one PostgreSQL server keep to their own database.
if env("TEST_DATABASE_NAME") and not DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        # Shared by every process on the machine (web workers, Celery): launch state must be.
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
              "LOCATION": str(DATA_DIR / "cache")}
    )
}

# Sessions stay in the database even with Redis: a cached session backend would make every
# upload fail while Redis is down, and uploads must keep succeeding then (the sweep catches up).
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")) or DATA_DIR / "media")

# Media storage: local files by default; S3-compatible object storage when a bucket is set.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
STORAGES = {
    "default": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": AWS_STORAGE_BUCKET_NAME,
                "endpoint_url": env("AWS_S3_ENDPOINT_URL"),
                "access_key": env("AWS_ACCESS_KEY_ID"),
                "secret_key": env("AWS_SECRET_ACCESS_KEY"),
                "file_overwrite": False,
            },
        }
        if AWS_STORAGE_BUCKET_NAME
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT)},
        }
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Master key that wraps each attempt's data key (AES-GCM). Base64 of 32 bytes.
# Several keys may be listed (newest first) during a rotation.
MEDIA_MASTER_KEYS = envlist("MEDIA_MASTER_KEYS")
if not MEDIA_MASTER_KEYS:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("MEDIA_MASTER_KEYS (or MEDIA_MASTER_KEYS_FILE) is required.")
    MEDIA_MASTER_KEYS = ["ZGV2ZWxvcG1lbnQtb25seS1tYXN0ZXIta2V5LTMyYiE="]

UPLOAD_MAX_CHUNK_BYTES = envint("UPLOAD_MAX_CHUNK_BYTES", 8 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_CHUNK_BYTES + 1024 * 1024
DEFAULT_RETENTION_DAYS = envint("DEFAULT_RETENTION_DAYS", 30)

# Cookies live inside the LMS iframe: they must be cross-site.
SESSION_COOKIE_SAMESITE = "None"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SAMESITE = "None"
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_PROXY") else None
X_FRAME_OPTIONS = "SAMEORIGIN"  # replaced by CSP frame-ancestors on LTI pages
# LMSs open the tool in pop-ups and registration dialogs that message their opener window;
# Django's default COOP (same-origin) would cut that link.
SECURE_CROSS_ORIGIN_OPENER_POLICY = None

LTI_CLOCK_LEEWAY_SECONDS = envint("LTI_CLOCK_LEEWAY_SECONDS", 60)
LTI_MAX_TOKEN_AGE_SECONDS = envint("LTI_MAX_TOKEN_AGE_SECONDS", 600)
LTI_KEYSET_REFETCH_INTERVAL_SECONDS = envint("LTI_KEYSET_REFETCH_INTERVAL_SECONDS", 60)
LTI_HTTP_TIMEOUT_SECONDS = envint("LTI_HTTP_TIMEOUT_SECONDS", 10)
# Platforms reached over plain http:// (only the development LMS and tests).
LTI_ALLOW_INSECURE_PLATFORMS = envbool("LTI_ALLOW_INSECURE_PLATFORMS", "True" if DEBUG else "False")

# Celery: Redis when REDIS_URL is set; otherwise kombu's filesystem transport, so the demo
# runs a real worker process with no broker server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    # kombu does not create its folders; without them every publish fails.
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # Otherwise kombu writes its fanout bindings to ./control in whatever the cwd is.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Above the ml task hard time limit, so a killed worker's task is redelivered, not lost.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3 * 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = envint("CELERY_WORKER_MAX_TASKS_PER_CHILD", 200)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"proctor_lti.*.tasks.ml_*": {"queue": "ml"}}
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "proctor_lti.core.errors.api_exception_handler",
}

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# --- LTI launch (proctor_lti.lti) -----------------------------------------------------------
# The session and CSRF cookies live inside LMS iframes: browsers that block third-party
# cookies keep them only with the CHIPS `Partitioned` attribute, which Django cannot set.
# This middleware adds it; it must sit above SessionMiddleware to see the session cookie.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
    "proctor_lti.lti.middleware.PartitionedCookiesMiddleware",
)
# How long a validated launch stays retrievable by launch_id (deep linking, LtiStartAssessment).
LTI_LAUNCH_CACHE_SECONDS = envint("LTI_LAUNCH_CACHE_SECONDS", 4 * 3600)

# --- Exam session (proctor_lti.exams) ------------------------------------------------------
# The browser records independently playable WebM segments of this many seconds; shorter
# segments lose less on a crash and reach analysis sooner, longer ones cost fewer requests.
EXAM_SEGMENT_SECONDS = envint("EXAM_SEGMENT_SECONDS", 6)
# 0 sends each segment whole; N > 0 also sends MediaRecorder timeslices of N seconds.
EXAM_CHUNK_SECONDS = envint("EXAM_CHUNK_SECONDS", 0)
# Launching again within this many seconds of the last heartbeat is a reload of the running
# session; later, it is a re-entry and the exam's re-entry rule applies. Also gates the access code.
EXAM_HEARTBEAT_FRESH_SECONDS = envint("EXAM_HEARTBEAT_FRESH_SECONDS", 45)
# An in-progress attempt whose page has been silent this long is ended (and analysed) by beat.
EXAM_ABANDONED_MINUTES = envint("EXAM_ABANDONED_MINUTES", 120)

# --- Recordings (proctor_lti.recordings) ----------------------------------------------------
# Upload tokens live 15 minutes; a browser may keep uploading for 30 minutes after the end.
UPLOAD_TOKEN_TTL_SECONDS = envint("UPLOAD_TOKEN_TTL_SECONDS", 900)
UPLOAD_GRACE_SECONDS = envint("UPLOAD_GRACE_SECONDS", 1800)
# A segment queued (or analysing) this long without news is sent again by the sweep.
RECORDINGS_SWEEP_STALE_SECONDS = envint("RECORDINGS_SWEEP_STALE_SECONDS", 900)
CELERY_BEAT_SCHEDULE = {
    "recordings-sweep": {"task": "proctor_lti.recordings.tasks.recordings_sweep",
                         "schedule": 60.0},
    "recordings-purge-expired": {"task": "proctor_lti.recordings.tasks.recordings_purge_expired",
                                 "schedule": 3600.0},
    # Canvas quiz access codes set by the tool are changed once each exam window closes.
    "exams-rotate-access-codes": {"task": "proctor_lti.exams.tasks.rotate_access_codes",
                                  "schedule": 300.0},
    "exams-end-abandoned-attempts": {"task": "proctor_lti.exams.tasks.end_abandoned_attempts",
                                     "schedule": 300.0},
}
if "visibility_timeout" in CELERY_BROKER_TRANSPORT_OPTIONS:
    # Tests of worker loss shorten it; production keeps it above the ml hard time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = envint(
        "CELERY_VISIBILITY_TIMEOUT", 3 * 3600)
