"""The counting targets on the eval manifest (deterministic, so a test and a benchmark)."""

from __future__ import annotations

from pathlib import Path

from detection.analyzer import Models
from detection.config import DetectionConfig
from detection.evaluate import evaluate


def test_counting_meets_the_targets_on_images_with_at_most_five_faces(
    models: Models, eval_dir: Path
) -> None:
    result = evaluate(
        eval_dir / "manifest.csv",
        models,
        DetectionConfig(),
        conditions=("original", "dark35", "backlit", "blur", "jpeg30"),
    )
    orig = result["conditions"]["original"]["all"]
    assert orig["images"] >= 90
    assert orig["exact_count_accuracy"] >= 0.97, orig["misses"]
    assert orig["zero_faces"]["precision"] >= 0.97
    assert orig["zero_faces"]["recall"] >= 0.95
    assert orig["two_plus_persons"]["precision"] >= 0.95
    assert orig["two_plus_persons"]["recall"] >= 0.95
    for cond in ("dark35", "backlit", "blur", "jpeg30"):
        assert result["conditions"][cond]["all"]["single_face_recall"] >= 0.90, cond
