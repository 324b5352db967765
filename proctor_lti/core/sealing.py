"""Master keys, and small secrets sealed with them (AES-GCM) before they reach the database.

Master keys come from settings.MEDIA_MASTER_KEYS (base64 of 32 bytes, newest first; also
`MEDIA_MASTER_KEYS_FILE`). They wrap each attempt's media key (recordings.crypto) and seal the
tool's private signing keys, so a database dump alone gives neither media nor the power to
sign as the tool. A sealed value names the master key that sealed it (its fingerprint), so a
rotation re-seals without guessing. Keys and plaintexts are never logged or put in errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

SEALED_PREFIX = "sealed:v1:"  # then <master key fingerprint>:<base64(nonce + ciphertext + tag)>
NONCE_BYTES = 12


class CryptoError(Exception):
    """A master key is missing or malformed, or data does not authenticate (never says why)."""


def _decode_master(value: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("MEDIA_MASTER_KEYS holds a value that is not base64") from None
    if len(key) != 32:
        raise CryptoError("MEDIA_MASTER_KEYS values must be base64 of exactly 32 bytes")
    return key


def fingerprint(key: bytes) -> str:
    """A public name for a master key (sha256 prefix): safe to store and print."""
    return hashlib.sha256(b"proctor-master-key:" + key).hexdigest()[:16]


def master_keys() -> list[tuple[str, bytes]]:
    """(fingerprint, key) for every configured master key, current first."""
    return [(fingerprint(k), k) for k in map(_decode_master, settings.MEDIA_MASTER_KEYS)]


def _aad(purpose: str) -> bytes:
    # Binds a sealed value to its place: tool key A's blob cannot stand in for tool key B's.
    return f"proctor-sealed:{purpose}".encode()


def seal(plaintext: str, *, purpose: str) -> str:
    """Seal with the current master key; `purpose` names the place, e.g. 'tool-key:<kid>'."""
    key_id, master = master_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(master).encrypt(nonce, plaintext.encode(), _aad(purpose))
    return f"{SEALED_PREFIX}{key_id}:{base64.b64encode(blob).decode()}"


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def sealed_by(value: str) -> str:
    """The fingerprint of the master key that sealed `value`."""
    return value[len(SEALED_PREFIX):].split(":", 1)[0]


def unseal(value: str, *, purpose: str) -> str:
    if not is_sealed(value):
        raise CryptoError("the value is not sealed")
    key_id, _, encoded = value[len(SEALED_PREFIX):].partition(":")
    master = dict(master_keys()).get(key_id)
    if master is None:
        raise CryptoError(f"master key {key_id} (which sealed this secret) is not configured: "
                          "keep it in MEDIA_MASTER_KEYS")
    try:
        blob = base64.b64decode(encoded, validate=True)
        return AESGCM(master).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                      _aad(purpose)).decode()
    except (binascii.Error, ValueError, InvalidTag):
        raise CryptoError("a sealed secret does not authenticate (tampered or moved)") from None


def reseal_all(rows: Iterable[tuple[Any, str, str]], save: Callable[[Any, str], None], *,
               dry_run: bool = False) -> dict[str, int]:
    """Re-seal (row, sealed value, purpose) with the current master key (key rotation).

    Plain values written before sealing existed are sealed too. `save(row, new_value)` writes
    one row. Counts: resealed, current, missing (sealed by a master key no longer configured).
    """
    current = master_keys()[0][0]
    counts = {"resealed": 0, "current": 0, "missing": 0}
    for row, value, purpose in rows:
        if is_sealed(value) and sealed_by(value) == current:
            counts["current"] += 1
            continue
        try:
            plain = unseal(value, purpose=purpose) if is_sealed(value) else value
        except CryptoError:
            counts["missing"] += 1
            continue
        if not dry_run:
            save(row, seal(plain, purpose=purpose))
        counts["resealed"] += 1
    return counts
