"""Silero VAD: speech probability per 32 ms window of 16 kHz mono audio."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .onnx import OnnxModel

SAMPLE_RATE = 16000
WINDOW = 512
CONTEXT = 64


class SileroVad(OnnxModel):
    """Stateful Silero VAD (v5/v6 interface: 64 samples of context + 512 new)."""

    file_name = "silero_vad.onnx"

    def probabilities(
        self,
        audio: npt.NDArray[np.float32],
        active: npt.NDArray[np.bool_] | None = None,
        *,
        piece: int = 64,
        warmup: int = 16,
        batch: int = 32,
    ) -> npt.NDArray[np.float32]:
        """Speech probability of each full 512-sample window of ``audio``.

        Only windows where ``active`` is True are scored (others get 0): the
        caller skips audio too quiet to matter. Active runs are cut into pieces
        of at most ``piece`` windows, each started ``warmup`` windows early
        with a fresh state (those outputs are discarded), and the pieces run
        as rows of one batch: the model keeps one state per row, and batching
        is several times cheaper than one window at a time.
        """
        n = len(audio) // WINDOW
        result = np.zeros(n, dtype=np.float32)
        if n == 0:
            return result
        win = np.ascontiguousarray(audio[: n * WINDOW], dtype=np.float32).reshape(n, WINDOW)
        mask = np.ones(n, dtype=bool) if active is None else np.asarray(active[:n], dtype=bool)
        pieces: list[tuple[int, int, int]] = []  # (lead-in start, own start, end)
        i = 0
        while i < n:
            if not mask[i]:
                i += 1
                continue
            j = i
            while j < n and mask[j]:
                j += 1
            for s in range(i, j, piece):
                e = min(j, s + piece)
                pieces.append((max(0, s - warmup), s, e))
            i = j
        sr = np.array(SAMPLE_RATE, dtype=np.int64)
        sess = self.session
        for b in range(0, len(pieces), batch):
            group = pieces[b : b + batch]
            rows = len(group)
            steps = max(e - lead for lead, _, e in group)
            frames = np.zeros((rows, steps, WINDOW), dtype=np.float32)
            for r, (lead, _, e) in enumerate(group):
                frames[r, : e - lead] = win[lead:e]
            state = np.zeros((2, rows, 128), dtype=np.float32)
            context = np.zeros((rows, CONTEXT), dtype=np.float32)
            probs = np.zeros((rows, steps), dtype=np.float32)
            for t in range(steps):
                x = np.concatenate([context, frames[:, t]], axis=1)
                out, state = sess.run(None, {"input": x, "state": state, "sr": sr})
                probs[:, t] = out[:, 0]
                context = frames[:, t, -CONTEXT:]
            for r, (lead, own, e) in enumerate(group):
                result[own:e] = probs[r, own - lead : e - lead]
        return result
