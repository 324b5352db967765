"""Encryption at rest: AES-GCM with a random data key per attempt, wrapped by a master key.

Master keys come from settings.MEDIA_MASTER_KEYS (see core.sealing; newest first). Each
vault remembers the fingerprint of the master key that wrapped it, so a rotation re-wraps
the small data keys and never rewrites media. Keys are never logged or put in exceptions.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, transaction

# CryptoError and master_keys live with the sealing of small secrets; callers use crypto.*.
from proctor_lti.core.sealing import CryptoError, master_keys

from .models import AttemptVault

MAGIC = b"PLE1"  # file format version: MAGIC + 12-byte nonce + ciphertext + 16-byte tag
NONCE_BYTES = 12
OVERHEAD = len(MAGIC) + NONCE_BYTES + 16


def _vault_aad(attempt_id: int) -> bytes:
    return f"proctor-vault:{attempt_id}".encode()


def wrap_key(data_key: bytes, *, attempt_id: int) -> tuple[bytes, str]:
    key_id, master = master_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _vault_aad(attempt_id)), key_id


def unwrap_key(wrapped: bytes, *, key_id: str, attempt_id: int) -> bytes:
    keys = dict(master_keys())
    master = keys.get(key_id)
    if master is None:
        raise CryptoError(f"master key {key_id} (which wrapped this key) is not configured")
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                                      _vault_aad(attempt_id))
    except InvalidTag:
        raise CryptoError("the attempt's data key does not authenticate") from None


# Unwrapped keys are cached per process: unwrapping on every 5-second chunk is wasted work.
_cache: dict[tuple[int, bytes], bytes] = {}
_cache_lock = threading.Lock()


def vault_for(attempt_id: int, *, retain_until=None) -> AttemptVault:  # type: ignore[no-untyped-def]
    """The attempt's vault, created with a fresh data key on first use (race-safe)."""
    vault = AttemptVault.objects.filter(attempt_id=attempt_id).first()
    if vault is not None:
        return vault
    wrapped, key_id = wrap_key(AESGCM.generate_key(bit_length=256), attempt_id=attempt_id)
    try:
        with transaction.atomic():
            return AttemptVault.objects.create(attempt_id=attempt_id, wrapped_key=wrapped,
                                               master_key_id=key_id, retain_until=retain_until)
    except IntegrityError:
        return AttemptVault.objects.get(attempt_id=attempt_id)


def data_key(vault: AttemptVault) -> bytes:
    if not vault.wrapped_key:
        raise CryptoError("this attempt's media has been purged (its key was destroyed)")
    cache_key = (vault.attempt_id, bytes(vault.wrapped_key))
    with _cache_lock:
        found = _cache.get(cache_key)
    if found is not None:
        return found
    key = unwrap_key(bytes(vault.wrapped_key), key_id=vault.master_key_id,
                     attempt_id=vault.attempt_id)
    with _cache_lock:
        if len(_cache) > 4096:
            _cache.clear()
        _cache[cache_key] = key
    return key


def aad_for(attempt_id: int, label: str) -> bytes:
    """Authenticated data binding a ciphertext to its place, e.g. '12/webcam/7'."""
    return f"proctor-media:{attempt_id}/{label}".encode()


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if not blob.startswith(MAGIC) or len(blob) < OVERHEAD:
        raise CryptoError("not an encrypted media file")
    nonce = blob[len(MAGIC):len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES:], aad)
    except InvalidTag:
        raise CryptoError("media does not authenticate (tampered or wrong key)") from None


def vaults_rewrap(*, dry_run: bool = False) -> dict[str, int]:
    """Re-wrap every data key not wrapped by the current master key (`rotate_master_key`).

    Media files are untouched: only the 60-byte wrapped keys change. Vaults whose master key
    is no longer configured are counted as `missing` and left alone.
    """
    current_id = master_keys()[0][0]
    counts = {"rewrapped": 0, "current": 0, "missing": 0, "purged": 0}
    for vault in AttemptVault.objects.exclude(master_key_id=current_id).iterator():
        if not vault.wrapped_key:
            counts["purged"] += 1
            continue
        try:
            key = unwrap_key(bytes(vault.wrapped_key), key_id=vault.master_key_id,
                             attempt_id=vault.attempt_id)
        except CryptoError:
            counts["missing"] += 1
            continue
        if not dry_run:
            wrapped, key_id = wrap_key(key, attempt_id=vault.attempt_id)
            AttemptVault.objects.filter(pk=vault.pk, master_key_id=vault.master_key_id).update(
                wrapped_key=wrapped, master_key_id=key_id)
        counts["rewrapped"] += 1
    counts["current"] = AttemptVault.objects.filter(master_key_id=current_id).count()
    return counts
