# Sourced by `make test`: point the suite at the real PostgreSQL and Redis when they run.
_up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
if [ -z "${DATABASE_URL:-}" ]; then
  if _up 127.0.0.1 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  elif [ "${CI:-}" = "true" ]; then
    echo "CI=true but PostgreSQL is not answering on 127.0.0.1:5432" >&2; return 1
  else
    echo "PostgreSQL is not running: the suite uses SQLite and skips PostgreSQL-only tests." >&2
  fi
fi
if [ -z "${REDIS_URL:-}" ] && ! _up 127.0.0.1 6379; then
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true but Redis is not answering on 127.0.0.1:6379" >&2; return 1
  fi
  echo "Redis is not running: tests that need it skip with a reason." >&2
fi
export PROCTOR_TESTING=1
