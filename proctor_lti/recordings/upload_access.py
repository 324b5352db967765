"""Who may upload: the session, the attempt's owner, the upload token and the window, in one query.

Every student sends two chunks and an event batch every few seconds. Through the session and
auth middleware plus the ORM, each request loaded the session, the user and the attempt (and
then the stream and the chunk) in five queries before doing any work. Here one SELECT reads
the attempt, its owner's active flag and password hash, the session row named by the cookie,
the attempt's vault and, for a chunk, its stream and any chunk already stored under that seq.

The session is then verified exactly as django.contrib.auth.get_user does for ModelBackend
(session row not expired, user id, backend, session auth hash, active user). Anything else
(another backend, a hash made with a SECRET_KEY_FALLBACKS key, somebody else's session, no
such attempt) is handed to Django's own request.user, so the answer is always Django's: the
fast path only ever accepts what Django would accept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
    get_user_model,
)
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError
from proctor_lti.exams.models import Attempt

from . import services, sql, tokens
from .models import AttemptVault, Chunk, Recording
from .services import StreamState

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
MAX_ID = 2**63 - 1

_ATTEMPT = ("id", "exam_id", "user_id", "status", "status_changed_at", "started_at", "ended_at",
            "upload_secret")
_VAULT = ("id", "attempt_id", "wrapped_key", "master_key_id", "purged_at")
_CHUNK = ("id", "recording_id", "seq", "segment_index", "size", "sha256", "storage_name")


@dataclass
class UploadAccess:
    """A checked upload request: the attempt (its vault cached on it) and, for a chunk, its
    stream."""

    attempt: Attempt
    session_key: str
    stream: StreamState | None = None


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _select_sql(with_stream: bool) -> str:
    user = get_user_model()._meta
    a, u, s, v = (_q(m._meta.db_table) for m in (Attempt, get_user_model(), Session,
                                                AttemptVault))
    r, c = _q(Recording._meta.db_table), _q(Chunk._meta.db_table)
    columns = [f"a.{_q(n)}" for n in _ATTEMPT]
    columns += [f"u.{_q('is_active')}", f"u.{_q('password')}", f"s.{_q('session_data')}"]
    columns += [f"v.{_q(n)}" for n in _VAULT]
    joins = (f" FROM {a} a JOIN {u} u ON u.{_q(user.pk.column)} = a.{_q('user_id')}"
             f" LEFT JOIN {s} s ON s.{_q('session_key')} = %s AND s.{_q('expire_date')} > %s"
             f" LEFT JOIN {v} v ON v.{_q('attempt_id')} = a.{_q('id')}")
    if with_stream:
        columns += [f"r.{_q('id')}", f"r.{_q('finalised_at')}"]
        columns += [f"c.{_q(n)}" for n in _CHUNK]
        joins += (f" LEFT JOIN {r} r ON r.{_q('attempt_id')} = a.{_q('id')} AND r.{_q('kind')} = %s"
                  f" LEFT JOIN {c} c ON c.{_q('recording_id')} = r.{_q('id')} "
                  f"AND c.{_q('seq')} = %s")
    return "SELECT " + ", ".join(columns) + joins + f" WHERE a.{_q('id')} = %s"  # noqa: S608


def _aware(value: Any) -> Any:
    # SQLite hands back naive UTC datetimes (the ORM makes them aware; raw SQL does not).
    if isinstance(value, datetime) and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


def _instance(model: type[models.Model], names: tuple[str, ...], values: list[Any]):  # type: ignore[no-untyped-def]
    """A model instance with only `names` loaded (the rest deferred, so a save() writes only
    those and any other attribute is read from the database on access)."""
    given = dict(zip(names, values, strict=True))
    ordered = [f.attname for f in model._meta.concrete_fields if f.attname in given]
    return model.from_db(connection.alias, ordered, [_aware(given[n]) for n in ordered])


@cache
def _session_store_class():  # type: ignore[no-untyped-def]
    return import_module(settings.SESSION_ENGINE).SessionStore


# (session_data, password hash, user id) -> verified. A pure function of its key (for fixed
# settings), so caching it is exact: a changed session, password or user is a new key.
_verified: dict[tuple[str, str, int], bool] = {}
_verified_lock = threading.Lock()


def _verified_user_id(attempt: Attempt, session_data: str | None, is_active: bool,
                      password: str) -> int | None:
    """The attempt's owner id when the session is verifiably theirs, else None (ask Django)."""
    if not session_data or not is_active or MODEL_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return None
    key = (session_data, password, attempt.user_id)
    ok = _verified.get(key)
    if ok is None:
        session = _session_store_class()().decode(session_data)
        owner = get_user_model()(pk=attempt.user_id, password=password)
        ok = (session.get(SESSION_KEY) == str(attempt.user_id)
              and session.get(BACKEND_SESSION_KEY) == MODEL_BACKEND
              and constant_time_compare(session.get(HASH_SESSION_KEY) or "",
                                        owner.get_session_auth_hash()))
        with _verified_lock:
            if len(_verified) > 20_000:
                _verified.clear()
            _verified[key] = ok
    return attempt.user_id if ok else None


def upload_access(request: Any, attempt_id: int, *, kind: str | None = None,
                  seq: int | None = None, need_token: bool = True) -> UploadAccess:
    """Check an upload request and return the attempt (and the stream, given kind and seq).

    401 when not signed in or without a valid token for this session, 404 for an attempt that
    is not the student's, 403 outside the attempt's upload window (services).
    """
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME) or ""
    row = None
    if 0 < attempt_id <= MAX_ID:
        with_stream = kind is not None and seq is not None
        params: list[Any] = [session_key[:100],
                             connection.ops.adapt_datetimefield_value(timezone.now())]
        if with_stream:
            params += [kind, seq]
        with sql._cursor() as cursor:
            cursor.execute(_select_sql(with_stream), [*params, attempt_id])
            row = cursor.fetchone()
    attempt = stream = None
    user_id = None
    if row is not None:
        values = list(row)
        attempt = _instance(Attempt, _ATTEMPT, values[:8])
        is_active, password, session_data = values[8:11]
        vault = (_instance(AttemptVault, _VAULT, values[11:16]) if values[11] is not None
                 else None)
        attempt._state.fields_cache["vault"] = vault  # attempt.vault: no query, none if None
        if len(values) > 16:
            existing = (_instance(Chunk, _CHUNK, values[18:25]) if values[18] is not None
                        else None)
            stream = StreamState(recording_id=values[16], finalised=values[17] is not None,
                                 existing=existing)
        user_id = _verified_user_id(attempt, session_data, bool(is_active), password)
    if user_id is None:
        # Django decides (not request.user: DRF replaced it with its own, unauthenticated).
        user = get_user(request)
        if not user.is_authenticated:
            raise UserFacingError(_("Your session has ended. Open the exam again from your "
                                    "course."), code="not_signed_in", status=401)
        if attempt is None or attempt.user_id != user.pk:
            raise UserFacingError(_("There is no attempt of yours with this number."),
                                  code="no_such_attempt", status=404)
        user_id = user.pk
    assert attempt is not None
    if need_token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            raise UserFacingError(_("An upload token is required (Authorization: Bearer)."),
                                  code="token_required", status=401)
        reason = tokens.token_check(header[7:].strip(), attempt=attempt, user_id=user_id,
                                    session_key=session_key)
        if reason:
            raise UserFacingError(_("The upload token is %(reason)s: ask for a fresh one.")
                                  % {"reason": reason}, code=f"token_{reason}", status=401)
    services.attempt_upload_check(attempt=attempt)
    return UploadAccess(attempt=attempt, session_key=session_key, stream=stream)
