"""Attempts with real recordings and flags for the review browser test, built through the
services the pipeline itself uses (chunk_store, flags_replace_from_detection, scoring)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from proctor_lti.devlms import roster
from proctor_lti.exams.models import Attempt, Exam
from proctor_lti.lti.models import LtiIdentity, Membership

# Flags per demo student: (type, start_s, end_s, confidence). Ada's are the worst.
FLAGS = {
    "ada": [("multiple_faces", 6.0, 9.0, 0.93), ("head_movement", 12.0, 15.0, 0.71)],
    "grace": [("head_movement", 4.0, 5.5, 0.55)],
    "alan": [],
}


def clip(folder: Path, portrait: Path, seconds: float = 18.0) -> bytes:
    from detection.synth import make_webm

    path = make_webm(folder / "review-clip.webm", [(portrait, seconds)], audio="silence",
                     fps=10, size=(320, 240), bitrate=200_000)
    return path.read_bytes()


def review_attempts(*, exam: Exam, media: bytes) -> dict[str, Attempt]:
    """One reviewable attempt per demo student, with webcam + screen and detection flags."""
    from proctor_lti.recordings.services import chunk_store
    from proctor_lti.review.scoring_service import scores_recalculate_for_exam
    from proctor_lti.review.services import flags_replace_from_detection

    User = get_user_model()  # noqa: N806
    sha = hashlib.sha256(media).hexdigest()
    now = timezone.now()
    attempts: dict[str, Attempt] = {}
    for key, flags in FLAGS.items():
        person = roster.USERS[key]
        user, _ = User.objects.get_or_create(username=f"review-{key}",
                                             defaults={"first_name": person.given_name,
                                                       "last_name": person.family_name})
        LtiIdentity.objects.get_or_create(platform=exam.context.platform, sub=person.sub,
                                          defaults={"user": user, "name": person.name,
                                                    "email": person.email})
        Membership.objects.get_or_create(context=exam.context, user=user,
                                         defaults={"role": Membership.Role.LEARNER})
        attempt = Attempt.objects.create(exam=exam, user=user, status=Attempt.Status.REVIEWABLE,
                                         started_at=now - timedelta(minutes=30),
                                         ended_at=now - timedelta(minutes=29, seconds=42))
        for kind in ("webcam", "screen"):
            chunk_store(attempt=attempt, kind=kind, seq=0, body=media,
                        content_type="video/webm;codecs=vp8,opus", sha256=sha,
                        segment_index=0, start_s=0.0, final=True)
        flags_replace_from_detection(attempt=attempt, flags=[
            {"type": t, "start_s": s, "end_s": e, "confidence": c,
             "explanation": {"rule": f"{t} for at least 1 s", "model": "test data",
                             "threshold": 0.5, "duration_s": e - s}}
            for t, s, e, c in flags])
        attempts[key] = attempt
    scores_recalculate_for_exam(exam=exam)
    return attempts
