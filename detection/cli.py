"""``python -m detection``: count, analyze, evaluate, bench, fetch-models, make-clip.

The only place in ``detection/`` that reads the environment
(``PROCTOR_MODEL_DIR``). Exit codes: 0 ok, 2 bad usage or bad input (one line on
stderr), 1 environment problems (models missing, download failed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO


class UsageError(Exception):
    """Bad input given on the command line: exit code 2."""


def model_dir_from_env(arg: str | None) -> Path:
    """--model-dir, else $PROCTOR_MODEL_DIR, else ``<repo>/var/models``."""
    if arg:
        return Path(arg)
    env = os.environ.get("PROCTOR_MODEL_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "var" / "models"


def _progress(stream: TextIO) -> Any:
    if not stream.isatty():
        return None

    def show(t: float) -> None:
        stream.write(f"\ranalysing: {t:7.1f} s of media")
        stream.flush()

    return show


def _config(args: argparse.Namespace) -> Any:
    from .config import DetectionConfig

    if getattr(args, "sample_fps", None) is not None:
        if args.sample_fps <= 0:
            raise UsageError("--sample-fps must be positive")
        return DetectionConfig(sample_fps=args.sample_fps)
    return DetectionConfig()


def cmd_fetch_models(args: argparse.Namespace) -> int:
    from .registry import fetch_models

    dest = Path(args.dest) if args.dest else model_dir_from_env(args.model_dir)
    source = Path(args.source) if args.source else None
    if source is not None and not source.is_dir():
        raise UsageError(f"--from {source}: not a directory")
    results = fetch_models(dest, source_dir=source, log=lambda m: print(m, file=sys.stderr))
    for r in results:
        print(f"{r.action:10} {r.path}")
    return 0


def _models(args: argparse.Namespace, config: Any) -> Any:
    from .analyzer import Models

    return Models(model_dir_from_env(args.model_dir), face_model=config.face_model)


def cmd_count(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from .pipeline import count_image

    config = _config(args)
    models = _models(args, config)
    out = []
    for name in args.images:
        img = cv2.imread(name, cv2.IMREAD_COLOR) if Path(name).is_file() else None
        if img is None:
            raise UsageError(f"{name}: not a readable image")
        faces, persons = count_image(np.asarray(img, dtype=np.uint8), config, models=models)
        out.append({"path": name, "faces": faces, "persons": persons})
    if args.json:
        print(json.dumps(out))
    else:
        for row in out:
            print(f"{row['path']}: {row['faces']} faces, {row['persons']} persons")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import analyze

    config = _config(args)
    report = analyze(
        Path(args.recording), config, models=_models(args, config), progress=_progress(sys.stderr)
    )
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    data = report.to_dict()
    if args.json:
        print(json.dumps(data))
    else:
        print(
            f"duration {data['duration_s']} s, {data['frames_analysed']} frames analysed, "
            f"{len(data['flags'])} flags"
        )
        for f in data["flags"]:
            print(
                f"  {f['type']:17} {f['start_s']:8.1f}-{f['end_s']:8.1f} s  "
                f"confidence {f['confidence']:.2f}  {f['explanation']['rule']}"
            )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_report

    config = _config(args)
    manifest = Path(args.manifest)
    if not manifest.is_file():
        raise UsageError(f"{manifest}: no such manifest")
    conditions = (
        tuple(args.conditions.split(","))
        if args.conditions
        else ("original", "dark35", "backlit", "blur", "jpeg30")
    )
    result = evaluate(
        manifest,
        _models(args, config),
        config,
        max_faces=None if args.max_faces < 0 else args.max_faces,
        conditions=conditions,
    )
    print(json.dumps(result, indent=1) if args.json else format_report(result))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench

    config = _config(args)
    paths = [Path(r) for r in args.recordings]
    result = bench(paths, _models(args, config), config, repeat=args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:24} {v}")
    return 0


def cmd_make_clip(args: argparse.Namespace) -> int:
    from .synth import load_image, make_webm, split_plan, write_y4m

    images = [None if name == "empty" else load_image(name) for name in args.images]
    out = Path(args.output)
    if out.suffix == ".y4m":
        write_y4m(out, images, args.seconds, fps=args.fps)
    else:
        per = args.seconds / len(images)
        plan = [(img, per) for img in images]
        if not args.segment_seconds:
            make_webm(out, plan, audio=args.audio, fps=args.fps)
        else:
            # As the browser records: MediaRecorder restarted every segment, each a WebM of
            # its own, named OUT-000.webm, OUT-001.webm, ...
            for i, part in enumerate(split_plan(plan, args.segment_seconds)):
                name = out.with_name(f"{out.stem}-{i:03d}{out.suffix}")
                make_webm(name, part, audio=args.audio, fps=args.fps)
                print(name)
            return 0
    print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for --help in the docs)."""
    p = argparse.ArgumentParser(
        prog="python -m detection", description="Proctoring detection tools."
    )
    p.add_argument(
        "--model-dir", help="model folder (default $PROCTOR_MODEL_DIR or <repo>/var/models)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("count", help="count faces and persons in images")
    s.add_argument("images", nargs="+")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_count)

    s = sub.add_parser("analyze", help="flags for one recording")
    s.add_argument("recording")
    s.add_argument("--sample-fps", type=float)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_analyze)

    s = sub.add_parser("evaluate", help="accuracy on a labelled manifest")
    s.add_argument("manifest")
    s.add_argument(
        "--max-faces", type=int, default=5, help="only rows with faces_max <= N (-1: all)"
    )
    s.add_argument("--conditions", help="comma list of original,dark35,backlit,blur,jpeg30")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("bench", help="decode-only vs full-analysis CPU time")
    s.add_argument(
        "recordings", nargs="+", help="one recording, or the consecutive segments of one attempt"
    )
    s.add_argument("--sample-fps", type=float)
    s.add_argument("--repeat", type=int, default=1)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("fetch-models", help="install the pinned model files")
    s.add_argument("--from", dest="source", help="copy from this folder instead of downloading")
    s.add_argument("--dest", help="target folder (default: the model dir)")
    s.set_defaults(func=cmd_fetch_models)

    s = sub.add_parser("make-clip", help="encode a test clip (.webm or .y4m) from photos")
    s.add_argument("output")
    s.add_argument("images", nargs="+", help="image paths, or 'empty' for an empty room")
    s.add_argument("--seconds", type=float, default=10.0)
    s.add_argument("--fps", type=int, default=15)
    s.add_argument("--audio", help="'silence', 'beep' or an audio file (webm only)")
    s.add_argument(
        "--segment-seconds",
        type=float,
        help="write consecutive segments of this length (OUT-000.webm, ...), as the browser does",
    )
    s.set_defaults(func=cmd_make_clip)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from .media import MediaError
    from .registry import ModelError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (UsageError, MediaError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
