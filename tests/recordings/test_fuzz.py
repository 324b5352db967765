"""Hypothesis throws arbitrary requests at the chunk endpoint: never a 500."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proctor_lti.recordings.models import Chunk

from .conftest import bearer

pytestmark = [pytest.mark.django_db]

HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
BODIES = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=200).map(lambda b: b"\x1a\x45\xdf\xa3" + b),
    st.binary(max_size=200).map(lambda b: b"\x1f\x43\xb6\x75" + b),
    st.binary(max_size=200).map(lambda b: b"\xff\xd8\xff" + b),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["webcam", "screen", "photo_id", "camera_test", "nope", "web%20cam"]),
    seq=st.one_of(st.integers(-5, 2_000_000).map(str), HEADER_TEXT.filter(lambda s: "/" not in s
                                                                          and s)),
    body=BODIES,
    content_type=st.one_of(st.sampled_from(["video/webm", "video/webm;codecs=vp8", "image/jpeg",
                                            "image/png", "video/mp4", "audio/webm"]),
                           HEADER_TEXT),
    sha=st.one_of(st.none(), HEADER_TEXT, st.just("good")),
    segment=st.one_of(st.none(), HEADER_TEXT, st.integers(-3, 10**12).map(str)),
    start=st.one_of(st.none(), HEADER_TEXT, st.floats(allow_nan=True).map(str)),
    final=st.one_of(st.none(), HEADER_TEXT),
    token=st.one_of(st.just("valid"), HEADER_TEXT),
)
def test_the_chunk_endpoint_never_answers_500(alice_client, attempt, media_root, memory_broker,
                                              kind, seq, body, content_type, sha, segment,
                                              start, final, token):
    headers = {"HTTP_AUTHORIZATION": bearer(attempt, alice_client) if token == "valid" else token}
    if sha is not None:
        headers["HTTP_X_CHUNK_SHA256"] = (hashlib.sha256(body).hexdigest() if sha == "good"
                                          else sha)
    for name, value in (("HTTP_X_SEGMENT_INDEX", segment), ("HTTP_X_CHUNK_START", start),
                        ("HTTP_X_SEGMENT_FINAL", final)):
        if value is not None:
            headers[name] = value
    before = Chunk.objects.count()
    response = alice_client.post(f"/api/attempts/{attempt.pk}/streams/{kind}/chunks/{seq}",
                                 data=body, content_type=content_type, **headers)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert Chunk.objects.count() == before
        if response["Content-Type"] == "application/json":
            assert response.json().get("detail")
