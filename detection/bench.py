"""CPU cost of decode alone vs the full analysis of the same recording."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from .analyzer import Models
from .config import DetectionConfig
from .media import decode
from .pipeline import observe, report_from_observations


def _cpu() -> float:
    return time.process_time()


def bench(
    path: Path, models: Models, config: DetectionConfig, *, repeat: int = 1
) -> dict[str, Any]:
    """Measure, in one process: model load, decode-only CPU (video + audio decode
    and 16 kHz resampling, no frame conversion, no models) and full-analysis CPU.

    The best of ``repeat`` runs is kept for each (noise from other processes
    only adds time). Peak RSS is the whole process, all models loaded.
    """
    t = _cpu()
    models.load_all()
    load_s = _cpu() - t
    decode_runs = []
    full_runs = []
    stats = None
    report = None
    for _ in range(repeat):
        t = _cpu()
        stats = decode(
            path, sample_fps=config.sample_fps, on_audio=lambda _t, _a: None, convert=False
        )
        decode_runs.append(_cpu() - t)
        t = _cpu()
        obs = observe(path, config, models=models)
        report = report_from_observations(obs, config)
        full_runs.append(_cpu() - t)
    assert stats is not None and report is not None
    dec, full = min(decode_runs), min(full_runs)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "recording": str(path),
        "duration_s": round(stats.duration_s, 2),
        "video_frames": stats.video_frames,
        "fps": round(stats.video_frames / stats.duration_s, 2) if stats.duration_s else None,
        "resolution": f"{stats.width}x{stats.height}",
        "frames_analysed": report.frames_analysed,
        "model_load_cpu_s": round(load_s, 3),
        "decode_cpu_s": round(dec, 3),
        "full_cpu_s": round(full, 3),
        "ratio_full_to_decode": round(full / dec, 3) if dec else None,
        "realtime_factor_decode": round(stats.duration_s / dec, 1) if dec else None,
        "realtime_factor_full": round(stats.duration_s / full, 1) if full else None,
        "cpu_s_per_hour_full": round(full / stats.duration_s * 3600, 1)
        if stats.duration_s
        else None,
        "peak_rss_mb": round(rss_mb, 1),
        "flags": len(report.flags),
    }
