"""Platform public keys: fetched from the registered key set URL, cached per HTTP headers.

A platform rotates its key by publishing a new kid. A token whose kid we do not know triggers
ONE refetch of the key set, at most once per LTI_KEYSET_REFETCH_INTERVAL_SECONDS per platform,
so a flood of forged kids cannot make us hammer the platform.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import jwt
import requests
import urllib3
from django.conf import settings
from django.core.cache import cache

from .errors import ADMIN_HINT, launch_error
from .models import Platform

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 3600
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 24 * 3600
MAX_KEYSET_BYTES = 256 * 1024  # real key sets are a few kB, even with dozens of keys
MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.I)

# Parsed public keys by their JWK JSON: parsing RSA numbers costs more than the whole check.
_parsed: dict[str, Any] = {}


def _cache_key(platform: Platform) -> str:
    return f"lti:keyset:{platform.pk}:{platform.key_set_url}"


def cache_ttl(cache_control: str) -> int:
    """Seconds to keep a key set: its max-age, bounded to [1 min, 1 day]; 1 h if absent.

    no-store/no-cache still keeps it a minute: refetching on every launch would make each
    login depend on a slow round trip, and the unknown-kid refetch covers rotations.
    """
    if re.search(r"no-store|no-cache", cache_control or "", re.I):
        return MIN_TTL_SECONDS
    match = MAX_AGE.search(cache_control or "")
    ttl = int(match.group(1)) if match else DEFAULT_TTL_SECONDS
    return max(MIN_TTL_SECONDS, min(MAX_TTL_SECONDS, ttl))


def _read_bounded(response: requests.Response) -> bytes:
    """The body, refused past MAX_KEYSET_BYTES or the overall timeout.

    The fetch runs inside a launch request: a platform endpoint that sends an endless or
    trickling body must not hold a web worker or its memory (`timeout` alone bounds only the
    wait between two reads).
    """
    deadline = time.monotonic() + settings.LTI_HTTP_TIMEOUT_SECONDS
    body = bytearray()
    raw = response.raw
    while piece := raw.read1(16384, decode_content=True):  # returns what has arrived
        body += piece
        if len(body) > MAX_KEYSET_BYTES:
            raise ValueError("key set too large")
        if time.monotonic() > deadline:
            raise ValueError("key set too slow")
    return bytes(body)


def keyset_fetch(*, platform: Platform) -> dict[str, dict[str, Any]]:
    """GET the key set, keep its RSA signing keys by kid, and cache it."""
    try:
        response = requests.get(
            platform.key_set_url,
            timeout=settings.LTI_HTTP_TIMEOUT_SECONDS,
            headers={"Accept": "application/json"},
            stream=True,
        )
        with response:
            response.raise_for_status()
            body = json.loads(_read_bounded(response))
    # urllib3's errors: read1() on the raw stream is not wrapped by requests.
    # RecursionError: absurdly nested JSON.
    except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError,
            RecursionError) as exc:
        logger.warning("key set of platform %s unreachable: %s", platform.pk, type(exc).__name__)
        raise launch_error(
            "platform_keyset_unavailable",
            "The LMS did not answer when we asked for its signing keys.",
            hint=ADMIN_HINT, status=502,
        ) from None
    keys = {
        str(jwk["kid"]): jwk
        for jwk in (body.get("keys") or [] if isinstance(body, dict) else [])
        if isinstance(jwk, dict) and jwk.get("kid") and jwk.get("kty") == "RSA"
        and jwk.get("use", "sig") == "sig"
    }
    cache.set(_cache_key(platform), keys, cache_ttl(response.headers.get("Cache-Control", "")))
    return keys


def keyset_forget(*, platform: Platform) -> None:
    cache.delete(_cache_key(platform))


def platform_public_key(*, platform: Platform, kid: str) -> Any:
    """The platform's RSA public key for `kid`; refetches once (rate-limited) on a miss."""
    keys = cache.get(_cache_key(platform))
    if keys is None or kid not in keys and cache.add(
        f"lti:keyset-refetch:{platform.pk}", 1, settings.LTI_KEYSET_REFETCH_INTERVAL_SECONDS
    ):
        keys = keyset_fetch(platform=platform)
    jwk = keys.get(kid)
    if jwk is None:
        raise launch_error(
            "unknown_kid",
            "The launch was signed with a key the LMS does not publish.",
            hint=ADMIN_HINT, status=401,
        )
    raw = json.dumps(jwk, sort_keys=True)
    key = _parsed.get(raw)
    if key is None:
        try:
            key = jwt.algorithms.RSAAlgorithm.from_jwk(raw)
        except (ValueError, KeyError, TypeError, jwt.InvalidKeyError):
            raise launch_error("bad_platform_key", "The LMS publishes a key we cannot read.",
                               hint=ADMIN_HINT, status=401) from None
        if len(_parsed) > 256:
            _parsed.clear()
        _parsed[raw] = key
    return key
