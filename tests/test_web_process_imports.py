"""The web process must stay light: ONNX Runtime and OpenCV load only in Celery workers."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import django, sys
django.setup()
from django.urls import get_resolver
from django.test import Client
# Import every URLconf, view, admin and middleware the web process serves.
resolver = get_resolver()
resolver.url_patterns
from django.contrib import admin
admin.autodiscover()
from proctor_lti.wsgi import application
response = Client().get("/healthz")
heavy = sorted(m for m in ("onnxruntime", "cv2", "av", "detection.faces") if m in sys.modules)
print(",".join(heavy))
"""


def test_the_web_process_never_imports_onnxruntime_or_opencv():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1:] in ([""], []), (
        "heavy modules imported by the web process: " + result.stdout
    )
