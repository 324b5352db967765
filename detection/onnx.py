"""Lazily-loaded onnxruntime sessions with explicit thread options."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .registry import spec_for, verified_path

if TYPE_CHECKING:
    import onnxruntime as ort


class OnnxModel:
    """Base class: the session is created on first use, once per process.

    One intra-op and one inter-op thread: on the 2-core workers two threads made
    every detector slower; scale with worker processes instead.
    """

    file_name: str = ""

    def __init__(self, model_dir: Path, file_name: str | None = None) -> None:
        self.model_dir = Path(model_dir)
        if file_name is not None:
            self.file_name = file_name
        self.spec = spec_for(self.file_name)
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Model file name."""
        return self.spec.name

    @property
    def version(self) -> str:
        """sha256 prefix of the pinned file."""
        return self.spec.version

    @property
    def session(self) -> ort.InferenceSession:
        """The onnxruntime session, loaded (and hash-checked) on first access."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime as ort

                    path = verified_path(self.model_dir, self.file_name)
                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = 1
                    opts.inter_op_num_threads = 1
                    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                    opts.log_severity_level = 3
                    self._session = ort.InferenceSession(
                        str(path), sess_options=opts, providers=["CPUExecutionProvider"]
                    )
        return self._session

    def load(self) -> None:
        """Load the session now (e.g. at worker start)."""
        _ = self.session
