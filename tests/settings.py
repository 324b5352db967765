"""Settings for the test suite: the real settings, in testing mode."""

import os

os.environ.setdefault("PROCTOR_TESTING", "1")
os.environ.setdefault("DEV_LMS_ENABLED", "1")
os.environ.setdefault("LTI_ALLOW_INSECURE_PLATFORMS", "1")

from proctor_lti.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = DATA_DIR / "test-media"  # noqa: F405
STORAGES["default"]["OPTIONS"] = {"location": str(MEDIA_ROOT)}  # noqa: F405
if not os.environ.get("PROCTOR_KEEP_CACHES"):  # the upload benchmark measures Redis caching
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
