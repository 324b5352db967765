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
from .results import Observations


def _cpu() -> float:
    return time.process_time()


def bench(
    path: Path | list[Path], models: Models, config: DetectionConfig, *, repeat: int = 1
) -> dict[str, Any]:
    """Measure, in one process: model load, decode-only CPU (video + audio decode
    and 16 kHz resampling, no frame conversion, no models) and full-analysis CPU.

    Several paths are consecutive segments of one attempt, analysed one by one as the
    workers do (each with its time offset, then merged into one report): production
    recordings arrive as 6 s segments. The best of ``repeat`` runs is kept for each (noise
    from other processes only adds time). Peak RSS is the whole process, all models loaded.
    """
    paths = [Path(p) for p in path] if isinstance(path, list) else [Path(path)]
    t = _cpu()
    models.load_all()
    load_s = _cpu() - t
    decode_runs = []
    full_runs = []
    stats = []
    report = None
    for _ in range(repeat):
        t = _cpu()
        stats = [
            decode(p, sample_fps=config.sample_fps, on_audio=lambda _t, _a: None, convert=False)
            for p in paths
        ]
        decode_runs.append(_cpu() - t)
        t = _cpu()
        parts = []
        offset = 0.0
        for p in paths:
            parts.append(observe(p, config, models=models, time_offset_s=offset))
            offset = parts[-1].end_s
        report = report_from_observations(Observations.merge(parts), config)
        full_runs.append(_cpu() - t)
    assert stats and report is not None
    dec, full = min(decode_runs), min(full_runs)
    duration = sum(s.duration_s for s in stats)
    frames = sum(s.video_frames for s in stats)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "recording": str(paths[0]) if len(paths) == 1 else f"{paths[0]} .. {paths[-1].name}",
        "segments": len(paths),
        "duration_s": round(duration, 2),
        "video_frames": frames,
        "fps": round(frames / duration, 2) if duration else None,
        "resolution": f"{stats[0].width}x{stats[0].height}",
        "frames_analysed": report.frames_analysed,
        "model_load_cpu_s": round(load_s, 3),
        "decode_cpu_s": round(dec, 3),
        "full_cpu_s": round(full, 3),
        "ratio_full_to_decode": round(full / dec, 3) if dec else None,
        "realtime_factor_decode": round(duration / dec, 1) if dec else None,
        "realtime_factor_full": round(duration / full, 1) if full else None,
        "cpu_s_per_hour_full": round(full / duration * 3600, 1) if duration else None,
        "peak_rss_mb": round(rss_mb, 1),
        "flags": len(report.flags),
    }
