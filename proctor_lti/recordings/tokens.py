"""Short-lived per-attempt upload tokens, bound to the attempt, its student and the session.

token = "<attempt id>.<user id>.<expiry unix>.<hmac>" with the HMAC keyed by SECRET_KEY and
the attempt's upload_secret, over the attempt, the user, the expiry and the session key the
token was issued to. So a token works only with the Django session that asked for it (a
copied token is useless with another session of the same student, and useless once that
session is logged out, since Django changes the key at every login and logout); rotating
upload_secret revokes every token of the attempt. The token travels in
`Authorization: Bearer`, so a forged cross-site request (which can carry the LMS session
cookie but not a custom header) cannot upload.

Checking a token needs no database query: the upload API reads the attempt (and its
upload_secret) in the same single query that checks the session (upload_access.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings

from proctor_lti.exams.models import Attempt


def token_ttl() -> int:
    return int(getattr(settings, "UPLOAD_TOKEN_TTL_SECONDS", 900))


def _mac(attempt: Attempt, user_id: int, expires: int, session_key: str) -> str:
    key = f"{settings.SECRET_KEY}:{attempt.upload_secret}".encode()
    msg = f"upload:{attempt.pk}.{user_id}.{expires}:{session_key}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:40]


def token_issue(*, attempt: Attempt, session_key: str,
                now: float | None = None) -> tuple[str, int]:
    """A fresh token for the attempt's own student in the session `session_key`.

    Returns (token, expiry unix seconds).
    """
    if not session_key:
        raise ValueError("an upload token is bound to a session: session_key is required")
    expires = int((now or time.time()) + token_ttl())
    mac = _mac(attempt, attempt.user_id, expires, session_key)
    return f"{attempt.pk}.{attempt.user_id}.{expires}.{mac}", expires


def token_check(token: str, *, attempt: Attempt, user_id: int, session_key: str,
                now: float | None = None) -> str:
    """'' when valid, else the reason ('malformed', 'expired', 'mismatch')."""
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 20 for p in parts[:3]):
        return "malformed"
    attempt_id, token_user, expires = (int(p) for p in parts[:3])
    if attempt_id != attempt.pk or token_user != user_id or token_user != attempt.user_id:
        return "mismatch"
    if not session_key or not hmac.compare_digest(
            parts[3].encode(), _mac(attempt, token_user, expires, session_key).encode()):
        return "mismatch"
    if expires < (now or time.time()):
        return "expired"
    return ""
