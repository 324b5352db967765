"""Reading an evidence thumbnail: decrypted with the attempt's data key, never cached."""

from __future__ import annotations

from proctor_lti.recordings import crypto
from proctor_lti.recordings.models import AttemptVault
from proctor_lti.recordings.storage import media_read

from .models import Evidence


def evidence_bytes(*, evidence: Evidence) -> bytes:
    """The decrypted image. Raises CryptoError (purged or tampered) or FileNotFoundError."""
    attempt_id = evidence.flag.attempt_id
    vault = AttemptVault.objects.filter(attempt_id=attempt_id).first()
    if vault is None:
        raise FileNotFoundError("no vault for this attempt")
    key = crypto.data_key(vault)
    label = evidence.aad_label or f"evidence/{evidence.storage_name}"
    return crypto.decrypt(key, media_read(evidence.storage_name),
                          crypto.aad_for(attempt_id, label))
