import subprocess
import sys


def test_importing_detection_loads_neither_django_nor_the_ml_libraries() -> None:
    code = (
        "import sys, detection, detection.config, detection.results, detection.rules;"
        "from detection import DetectionConfig, Observations, flags_from_observations;"
        "heavy = [m for m in ('django', 'onnxruntime', 'cv2', 'av') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_whole_package_never_imports_django() -> None:
    code = (
        "import sys, detection.pipeline, detection.cli, detection.evaluate, detection.bench;"
        "import detection.synth;"
        "print('django' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_media_error_is_reachable_from_the_package() -> None:
    import detection
    from detection.media import MediaError

    assert detection.MediaError is MediaError
