"""Accuracy of the face/person counters on a labelled manifest (see data README).

A predicted count is correct when it lies in the row's [min, max] range (an empty
max means unbounded). Flag metrics ignore rows whose range straddles the flag's
boundary (e.g. "0-1 faces" for the "0 faces" flag): their truth is unknown.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .analyzer import Models, analyze_image
from .config import DetectionConfig
from .imageops import DEGRADATIONS, U8


@dataclass(frozen=True)
class Row:
    """One labelled image."""

    file: str
    group: str
    faces_min: int
    faces_max: int | None
    persons_min: int
    persons_max: int | None


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def load_manifest(path: Path) -> list[Row]:
    """Rows of a manifest CSV (columns file, faces_min/max, persons_min/max)."""
    rows = []
    with Path(path).open(newline="") as fh:
        for rec in csv.DictReader(fh):
            rows.append(
                Row(
                    rec["file"],
                    rec["file"].split("/")[0],
                    int(rec["faces_min"]),
                    _int_or_none(rec["faces_max"]),
                    int(rec["persons_min"]),
                    _int_or_none(rec["persons_max"]),
                )
            )
    return rows


def _in(value: int, lo: int, hi: int | None) -> bool:
    return value >= lo and (hi is None or value <= hi)


class _PR:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.tn = 0

    def add(self, truth: bool | None, pred: bool) -> None:
        if truth is None:
            return
        if truth and pred:
            self.tp += 1
        elif truth:
            self.fn += 1
        elif pred:
            self.fp += 1
        else:
            self.tn += 1

    def as_dict(self) -> dict[str, Any]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        return {
            "precision": p,
            "recall": r,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


def _truth_at_least(k: int, lo: int, hi: int | None) -> bool | None:
    if lo >= k:
        return True
    if hi is not None and hi < k:
        return False
    return None


def _metrics(rows: list[Row], preds: dict[str, tuple[int, int]]) -> dict[str, Any]:
    exact = 0
    zero, two_faces, two_persons = _PR(), _PR(), _PR()
    single_n = single_found = single_exact = 0
    misses = []
    for row in rows:
        faces, persons = preds[row.file]
        if _in(faces, row.faces_min, row.faces_max):
            exact += 1
        else:
            misses.append(
                {"file": row.file, "faces": faces, "expected": [row.faces_min, row.faces_max]}
            )
        zero_truth = None if row.faces_min == 0 and row.faces_max != 0 else row.faces_max == 0
        zero.add(zero_truth, faces == 0)
        two_faces.add(_truth_at_least(2, row.faces_min, row.faces_max), faces >= 2)
        two_persons.add(_truth_at_least(2, row.persons_min, row.persons_max), persons >= 2)
        if row.faces_min == 1 and row.faces_max == 1:
            single_n += 1
            single_found += faces >= 1
            single_exact += faces == 1
    return {
        "images": len(rows),
        "exact_count_accuracy": exact / len(rows) if rows else None,
        "zero_faces": zero.as_dict(),
        "two_plus_faces": two_faces.as_dict(),
        "two_plus_persons": two_persons.as_dict(),
        "single_face_images": single_n,
        "single_face_recall": single_found / single_n if single_n else None,
        "single_face_exact": single_exact / single_n if single_n else None,
        "misses": misses,
    }


def evaluate(
    manifest: Path,
    models: Models,
    config: DetectionConfig,
    *,
    max_faces: int | None = 5,
    conditions: tuple[str, ...] = ("original", *DEGRADATIONS),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the still-image counter over the manifest under each condition.

    Only rows whose ``faces_max`` is known and at most ``max_faces`` are used by
    default (the images closest to a webcam exam). Returns, per condition, the
    overall figures and the same by group.
    """
    root = Path(manifest).parent / "images"
    rows = [
        r
        for r in load_manifest(manifest)
        if max_faces is None or (r.faces_max is not None and r.faces_max <= max_faces)
    ]
    out: dict[str, Any] = {"manifest": str(manifest), "max_faces": max_faces, "conditions": {}}
    total = len(rows) * len(conditions)
    done = 0
    for cond in conditions:
        preds: dict[str, tuple[int, int]] = {}
        for row in rows:
            img = cv2.imread(str(root / row.file), cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(root / row.file)
            bgr: U8 = np.asarray(img, dtype=np.uint8)
            if cond != "original":
                bgr = DEGRADATIONS[cond](bgr)
            res = analyze_image(models, bgr, config)
            preds[row.file] = (len(res.faces), res.person_count or 0)
            done += 1
            if progress:
                progress(done, total)
        groups = sorted({r.group for r in rows})
        out["conditions"][cond] = {
            "all": _metrics(rows, preds),
            "groups": {g: _metrics([r for r in rows if r.group == g], preds) for g in groups},
        }
    return out


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`evaluate`'s result."""

    def f(v: Any) -> str:
        return "  -  " if v is None else f"{v:.3f}"

    lines = [f"manifest {result['manifest']} (images with at most {result['max_faces']} faces)"]
    cols = ["exact", "0f P", "0f R", "2f P", "2f R", "2p P", "2p R", "1f rec"]
    header = f"{'condition':9} {'group':8} {'n':>4} " + " ".join(f"{c:>6}" for c in cols)
    lines.append(header)
    for cond, data in result["conditions"].items():
        for name, m in [("all", data["all"]), *data["groups"].items()]:
            lines.append(
                f"{cond:9} {name:8} {m['images']:4d} {f(m['exact_count_accuracy']):>6} "
                f"{f(m['zero_faces']['precision']):>6} {f(m['zero_faces']['recall']):>6} "
                f"{f(m['two_plus_faces']['precision']):>6} {f(m['two_plus_faces']['recall']):>6} "
                f"{f(m['two_plus_persons']['precision']):>6} "
                f"{f(m['two_plus_persons']['recall']):>6} "
                f"{f(m['single_face_recall']):>6}"
            )
    return "\n".join(lines)
