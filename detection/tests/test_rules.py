"""Persistence rules and segment merging on synthetic observations."""

from __future__ import annotations

from detection.config import DetectionConfig
from detection.results import AudioObservation, FrameObservation, Observations
from detection.rules import Sample, episodes, flags_from_observations

MODELS = {
    "yunet_n_dynamic.onnx": "104ee26c71d5",
    "yolox_nano.onnx": "4903c9058f6e",
    "silero_vad.onnx": "1a153a22f450",
}


def frame(
    t: float,
    faces: int = 1,
    persons: int | None = None,
    yaw: float = 0.0,
    brightness: float = 120.0,
) -> FrameObservation:
    return FrameObservation(
        t=t,
        faces=faces,
        persons=persons,
        face_boxes=[[0, 0, 10, 10]] * faces,
        face_scores=[0.9] * faces,
        person_scores=[0.8] * (persons or 0),
        yaw=yaw if faces else None,
        pitch=0.0 if faces else None,
        brightness=brightness,
        contrast=40.0,
        obscured=brightness < 15,
        full_pass=faces != 1,
    )


def timeline(
    spec: list[tuple[float, dict[str, object]]], start: float = 0.0, fps: float = 2.0
) -> Observations:
    """spec: (seconds, frame kwargs) pieces."""
    frames = []
    t = start
    for seconds, kw in spec:
        for _ in range(round(seconds * fps)):
            frames.append(frame(round(t, 3), **kw))  # type: ignore[arg-type]
            t += 1 / fps
    return Observations(start, round(t, 3), fps, frames, [], dict(MODELS))


def types(obs: Observations) -> list[tuple[str, float, float]]:
    return [(f.type, f.start_s, f.end_s) for f in flags_from_observations(obs, DetectionConfig())]


def test_a_single_frame_never_makes_a_flag() -> None:
    obs = timeline(
        [
            (10, {}),
            (0.5, {"faces": 0}),
            (0.5, {"faces": 2}),
            (0.5, {"yaw": 80.0}),
            (0.5, {"brightness": 2.0}),
            (10, {}),
        ]
    )
    assert types(obs) == []


def test_no_face_needs_five_seconds() -> None:
    assert types(timeline([(5, {}), (4.5, {"faces": 0}), (5, {})])) == []
    assert types(timeline([(5, {}), (6, {"faces": 0}), (5, {})])) == [("no_face", 5.0, 11.0)]


def test_one_missed_frame_does_not_split_an_episode() -> None:
    obs = timeline([(5, {}), (3, {"faces": 0}), (0.5, {}), (3, {"faces": 0}), (5, {})])
    assert types(obs) == [("no_face", 5.0, 11.5)]


def test_multiple_faces_also_counts_as_multiple_persons() -> None:
    got = types(timeline([(5, {}), (2, {"faces": 2, "persons": 2}), (5, {})]))
    assert got == [("multiple_faces", 5.0, 7.0), ("multiple_persons", 5.0, 7.0)]


def test_a_second_body_without_a_face_is_a_multiple_persons_flag() -> None:
    got = types(timeline([(5, {"persons": 1}), (3, {"persons": 2}), (5, {"persons": 1})]))
    assert got == [("multiple_persons", 5.0, 8.0)]


def test_frames_where_the_person_detector_did_not_run_do_not_break_an_episode() -> None:
    spec: list[tuple[float, dict[str, object]]] = [(2, {"persons": 1})]
    for _ in range(3):
        spec += [(0.5, {"persons": 2}), (1.5, {"persons": None})]
    spec += [(0.5, {"persons": 2}), (4, {"persons": 1})]
    got = types(timeline(spec))
    assert got == [("multiple_persons", 2.0, 8.5)]


def test_looking_away_needs_sustained_yaw_beyond_the_threshold() -> None:
    assert types(timeline([(5, {}), (4, {"yaw": 60.0}), (5, {})])) == []
    assert types(timeline([(5, {}), (6, {"yaw": 25.0}), (5, {})])) == []
    got = flags_from_observations(
        timeline([(5, {}), (6, {"yaw": -60.0}), (5, {})]), DetectionConfig()
    )
    assert [(f.type, f.start_s, f.end_s) for f in got] == [("looking_away", 5.0, 11.0)]
    assert got[0].explanation["threshold"]["yaw_deg"] == 35.0


def test_a_dark_camera_is_obscured_not_no_face() -> None:
    assert types(timeline([(5, {}), (4, {"faces": 0, "brightness": 3.0}), (5, {})])) == [
        ("camera_obscured", 5.0, 9.0)
    ]


def test_every_flag_explains_itself() -> None:
    obs = timeline([(5, {}), (6, {"faces": 0}), (5, {})])
    obs.thumbnail_times = [5.0, 7.5, 10.0, 20.0]
    obs.thumbnail_reasons = {
        "5.000": "faces",
        "7.500": "faces",
        "10.000": "faces",
        "20.000": "faces",
    }
    (flag,) = flags_from_observations(obs, DetectionConfig())
    e = flag.explanation
    assert "No face" in e["rule"]
    assert e["threshold"]["min_duration_s"] == 5.0
    assert e["observed_duration_s"] == 6.0
    assert e["models"] == [{"name": "yunet_n_dynamic.onnx", "version": "104ee26c71d5"}]
    assert e["confidence"] == flag.confidence == 1.0
    assert e["evidence_timestamps"] == [5.0, 7.5, 10.0]


def test_thresholds_come_from_the_config() -> None:
    obs = timeline([(5, {}), (3, {"faces": 0}), (5, {})])
    cfg = DetectionConfig.from_dict({"persistence_s": {"no_face": 2.0}})
    assert [f.type for f in flags_from_observations(obs, cfg)] == ["no_face"]


def test_a_flag_spanning_two_segments_is_one_flag_after_merge() -> None:
    first = timeline([(5, {}), (3, {"faces": 0})])
    second = timeline([(3, {"faces": 0}), (5, {})], start=first.end_s)
    assert types(first) == [] and types(second) == []
    merged = Observations.merge([second, first])
    assert types(merged) == [("no_face", 5.0, 11.0)]
    assert merged.start_s == 0.0 and merged.end_s == 16.0


def test_observations_round_trip_through_json() -> None:
    import json

    obs = timeline([(2, {}), (1, {"faces": 2, "persons": 3})])
    obs.audio = [AudioObservation(0.0, 0.512, 0.9, 1.0, -20.0)]
    again = Observations.from_dict(json.loads(json.dumps(obs.to_dict())))
    assert again == obs


def test_config_round_trips_and_rejects_unknown_fields() -> None:
    import json

    import pytest

    cfg = DetectionConfig(sample_fps=1.0)
    assert DetectionConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError):
        DetectionConfig.from_dict({"sampel_fps": 3})


def speech_obs(pattern: list[tuple[float, bool]]) -> Observations:
    audio = []
    t = 0.0
    for seconds, speaking in pattern:
        for _ in range(round(seconds / 0.512)):
            audio.append(
                AudioObservation(
                    round(t, 3),
                    0.512,
                    0.9 if speaking else 0.02,
                    0.8 if speaking else 0.0,
                    -25.0 if speaking else -60.0,
                )
            )
            t += 0.512
    return Observations(0.0, t, 2.0, [], audio, dict(MODELS))


def test_speech_needs_three_seconds_above_the_room_baseline() -> None:
    assert types(speech_obs([(20, False), (2, True), (20, False)])) == []
    got = flags_from_observations(
        speech_obs([(20, False), (5, True), (20, False)]), DetectionConfig()
    )
    assert [f.type for f in got] == ["speech"]
    assert got[0].explanation["observed"]["room_baseline_dbfs"] == -60.0
    assert got[0].explanation["models"][0]["name"] == "silero_vad.onnx"


def test_episode_grouping_handles_unknown_and_false_gaps() -> None:
    samples = [
        Sample(0, True),
        Sample(1, None),
        Sample(2, True),
        Sample(3, False),
        Sample(4, False),
        Sample(5, False),
        Sample(6, True),
    ]
    eps = episodes(samples, 1.0, 1.0)
    assert [(e.start, e.end) for e in eps] == [(0, 3), (6, 7)]
