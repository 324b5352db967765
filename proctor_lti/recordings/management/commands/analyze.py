"""`python manage.py analyze RECORDING`: detection inside the Django project, as JSON.

RECORDING is a media file (as for `python -m detection analyze`), a Recording id, or
`attempt:<id>` (that attempt's webcam). Stored recordings are decrypted and reassembled
segment by segment, as the workers see them. Either way the thresholds are the project's
(`DETECTION_CONFIG`) and the models those in `MODEL_DIR`; the output has the shape of
`python -m detection analyze --json`.
"""

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from proctor_lti.recordings.analysis import detection_config, segment_plaintext_chunks
from proctor_lti.recordings.models import Recording


class Command(BaseCommand):
    help = ("Analyse a media file or a stored recording (decrypted on the fly) and print the "
            "report as JSON.")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("recording",
                            help="a media file, a Recording id, or attempt:<attempt id>")
        parser.add_argument("--sample-fps", type=float,
                            help="video frames analysed per second (default: the project's)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        from detection.analyzer import get_models
        from detection.media import MediaError
        from detection.pipeline import observe, report_from_observations
        from detection.results import Observations

        cfg = detection_config()
        if options["sample_fps"] is not None:
            if not options["sample_fps"] > 0:
                raise CommandError("--sample-fps must be a positive number")
            cfg = replace(cfg, sample_fps=options["sample_fps"])
        models = get_models(settings.MODEL_DIR, cfg.face_model)
        ref = options["recording"]
        if Path(ref).is_file():
            try:
                parts = [observe(ref, cfg, models=models)]
            except MediaError as exc:
                raise CommandError(str(exc)) from None
        else:
            parts = self._stored(ref, cfg, models, observe, MediaError)
        report = report_from_observations(Observations.merge(parts), cfg)
        self.stdout.write(json.dumps(report.to_dict()))

    def _stored(self, ref, cfg, models, observe, media_error):  # type: ignore[no-untyped-def]
        query = Recording.objects.all()
        if ref.startswith("attempt:") and ref[8:].isdigit():
            recording = query.filter(attempt_id=int(ref[8:]), kind="webcam").first()
        elif ref.isdigit():
            recording = query.filter(pk=int(ref)).first()
        else:
            raise CommandError(f"{ref}: no such file; RECORDING is a media file, a recording "
                               "id or attempt:<id>")
        if recording is None:
            raise CommandError(f"no recording {ref}")
        parts = []
        for segment in recording.segments.order_by("index"):
            fd, path = tempfile.mkstemp(suffix=".webm")
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in segment_plaintext_chunks(segment):
                        fh.write(chunk)
                parts.append(observe(path, cfg, time_offset_s=segment.start_s, models=models,
                                     strict=False))
            except media_error as exc:
                self.stderr.write(f"segment {segment.index}: {exc}")
            finally:
                os.unlink(path)
        if not parts:
            raise CommandError("no decodable segment in this recording")
        return parts
