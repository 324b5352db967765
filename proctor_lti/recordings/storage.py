"""Durable media storage on Django's default storage (local files or S3 via django-storages).

A write returns only once the bytes are safe: on the local filesystem the file is written
to a temporary name in the same folder, fsynced, atomically renamed and the folder fsynced;
on object storage the PUT has been acknowledged. A reader therefore never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

logger = logging.getLogger(__name__)

_FULL = {errno.ENOSPC, errno.EDQUOT}


class StorageFull(Exception):
    """No space left: the client should retry later (HTTP 507)."""


class StorageUnavailable(Exception):
    """Storage could not be reached or failed: the client should retry later (HTTP 503)."""


def _storage() -> Storage:
    return storages["default"]


def _local_root() -> Path | None:
    storage = _storage()
    if isinstance(storage, FileSystemStorage):
        return Path(storage.location)
    return None


def media_write(name: str, data: bytes) -> None:
    """Store `data` under `name` durably, replacing any previous file of that name."""
    try:
        root = _local_root()
        if root is not None:
            _write_local(root / name, data)
        else:
            # Object storage: a PUT is atomic and acknowledged once durable.
            if _storage().exists(name):
                _storage().delete(name)
            _storage().save(name, ContentFile(data))
    except OSError as exc:
        if exc.errno in _FULL:
            raise StorageFull(str(exc.strerror)) from exc
        logger.exception("media storage write failed for %s", name)
        raise StorageUnavailable(str(exc.strerror or exc)) from exc
    except Exception as exc:  # botocore/transport errors of object storage
        logger.exception("media storage write failed for %s", name)
        raise StorageUnavailable(type(exc).__name__) from exc


def _write_local(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def media_read(name: str) -> bytes:
    try:
        with _storage().open(name, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StorageUnavailable(str(exc.strerror or exc)) from exc


def media_delete(name: str) -> int:
    """Delete one stored file; returns the bytes freed (0 if it was already gone)."""
    try:
        size = _storage().size(name)
    except (FileNotFoundError, OSError):
        size = 0
    _storage().delete(name)
    return size
