"""`python manage.py analyze RECORDING`: the attempt's webcam through detection, as JSON.

RECORDING is a Recording id (or `attempt:<id>`). The output has the shape of
`python -m detection analyze --json`, computed from the decrypted, reassembled segments.
"""

import json
import os
import tempfile

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from proctor_lti.recordings.analysis import detection_config, segment_plaintext_chunks
from proctor_lti.recordings.models import Recording


class Command(BaseCommand):
    help = "Analyse one stored recording (decrypted on the fly) and print the report as JSON."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("recording", help="Recording id, or attempt:<attempt id>")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        from detection.analyzer import get_models
        from detection.media import MediaError
        from detection.pipeline import observe, report_from_observations
        from detection.results import Observations

        ref = options["recording"]
        query = Recording.objects.all()
        if ref.startswith("attempt:") and ref[8:].isdigit():
            recording = query.filter(attempt_id=int(ref[8:]), kind="webcam").first()
        elif ref.isdigit():
            recording = query.filter(pk=int(ref)).first()
        else:
            raise CommandError("RECORDING must be a recording id or attempt:<id>")
        if recording is None:
            raise CommandError(f"no recording {ref}")
        cfg = detection_config()
        models = get_models(settings.MODEL_DIR, cfg.face_model)
        parts = []
        for segment in recording.segments.order_by("index"):
            fd, path = tempfile.mkstemp(suffix=".webm")
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in segment_plaintext_chunks(segment):
                        fh.write(chunk)
                parts.append(observe(path, cfg, time_offset_s=segment.start_s, models=models,
                                     strict=False))
            except MediaError as exc:
                self.stderr.write(f"segment {segment.index}: {exc}")
            finally:
                os.unlink(path)
        if not parts:
            raise CommandError("no decodable segment in this recording")
        report = report_from_observations(Observations.merge(parts), cfg)
        self.stdout.write(json.dumps(report.to_dict()))
