"""Short-lived per-attempt upload tokens, bound to the attempt and the signed-in user.

token = "<attempt id>.<user id>.<expiry unix>.<hmac>" with the HMAC keyed by the attempt's
upload_secret and SECRET_KEY. Rotating upload_secret revokes every token of the attempt.
The token travels in `Authorization: Bearer`, so a forged cross-site request (which can
carry the LMS session cookie but not a custom header) cannot upload.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings

from proctor_lti.exams.models import Attempt


def token_ttl() -> int:
    return int(getattr(settings, "UPLOAD_TOKEN_TTL_SECONDS", 900))


def _mac(attempt: Attempt, user_id: int, expires: int) -> str:
    key = f"{settings.SECRET_KEY}:{attempt.upload_secret}".encode()
    msg = f"upload:{attempt.pk}.{user_id}.{expires}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:40]


def token_issue(*, attempt: Attempt, now: float | None = None) -> tuple[str, int]:
    """A fresh token for the attempt's own student; returns (token, expiry unix seconds)."""
    expires = int((now or time.time()) + token_ttl())
    mac = _mac(attempt, attempt.user_id, expires)
    return f"{attempt.pk}.{attempt.user_id}.{expires}.{mac}", expires


def token_check(token: str, *, attempt: Attempt, user_id: int, now: float | None = None) -> str:
    """'' when valid, else the reason ('malformed', 'expired', 'mismatch')."""
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return "malformed"
    attempt_id, token_user, expires = (int(p) for p in parts[:3])
    if attempt_id != attempt.pk or token_user != user_id or token_user != attempt.user_id:
        return "mismatch"
    if not hmac.compare_digest(parts[3], _mac(attempt, token_user, expires)):
        return "mismatch"
    if expires < (now or time.time()):
        return "expired"
    return ""
