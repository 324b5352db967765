"""Fixtures shared with the LTI tests (a registered platform, its fake key set edge)."""

from tests.lti.conftest import _fresh_cache, edge, handed_launches, platform  # noqa: F401
