import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL",
                          "PROCTOR_TESTING", "MEDIA_MASTER_KEYS"}}
    return subprocess.run(
        [sys.executable, "-c", "import proctor_lti.settings"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=False,
    )


def test_production_refuses_to_start_without_secrets():
    result = _import_settings({})
    assert result.returncode != 0
    assert "SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL" in result.stderr


def test_production_starts_with_secrets_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-a-file\n")
    master = tmp_path / "master"
    master.write_text("ZGV2ZWxvcG1lbnQtb25seS1tYXN0ZXIta2V5LTMyYiE=")
    result = _import_settings({
        "SECRET_KEY_FILE": str(secret), "ALLOWED_HOSTS": "proctor.example.edu",
        "DATABASE_URL": "postgres://u@db/proctor", "MEDIA_MASTER_KEYS_FILE": str(master),
    })
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_asked(settings):
    assert settings.DEBUG is False
