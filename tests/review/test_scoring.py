"""Pure scoring functions: weights, dismissed flags, bands, peers."""

from __future__ import annotations

from proctor_lti.review import scoring
from proctor_lti.review.scoring import Span


def test_it_scores_zero_without_flags():
    score = scoring.compute([], {"head_movement": 5}, 1800)
    assert score.value == 0 and score.band == "green"


def test_a_metric_at_weight_five_filling_a_fifth_of_the_exam_reaches_one_hundred():
    spans = [Span("multiple_faces", 0, 360)]  # 6 of 30 minutes
    score = scoring.compute(spans, {"multiple_faces": 5}, 1800)
    part = next(p for p in score.parts if p.metric == "multiple_faces")
    assert part.contribution == 100.0 and part.minutes == 6 and part.weight == 5
    assert score.value == 100.0 and score.band == "red"


def test_contributions_scale_with_weight_and_time():
    spans = [Span("looking_away", 0, 180)]  # a tenth of the exam
    assert scoring.compute(spans, {"head_movement": 3}, 1800).value == 30.0
    assert scoring.compute(spans, {"head_movement": 1}, 1800).value == 10.0
    assert scoring.compute(spans, {"head_movement": 3}, 3600).value == 15.0


def test_a_weight_of_zero_turns_a_metric_off_but_keeps_it_visible():
    score = scoring.compute([Span("looking_away", 0, 600)], {"head_movement": 0}, 1800)
    assert score.value == 0
    assert score.parts[0].metric == "head_movement" and score.parts[0].minutes == 10


def test_overlapping_flags_of_one_metric_count_their_time_once():
    spans = [Span("no_face", 0, 100), Span("camera_obscured", 50, 150)]
    assert scoring.metric_seconds(spans)["leaving_room"] == (150.0, 2)


def test_point_lockdown_events_count_at_least_ten_seconds():
    spans = [Span("paste", 30, 30, point_event=True), Span("paste", 300, 300, point_event=True)]
    assert scoring.metric_seconds(spans)["copy_paste"] == (20.0, 2)


def test_the_score_is_capped_at_one_hundred_and_banded_red():
    spans = [Span(t, 0, 1800) for t in ("multiple_faces", "looking_away", "no_face",
                                         "speech", "multiple_persons", "audio_level")]
    weights = dict.fromkeys(scoring.BEHAVIOUR_METRICS, 5)
    score = scoring.compute(spans, weights, 1800)
    assert score.value == 100 and score.band == "red"


def test_bands_have_their_thresholds():
    assert [scoring.band(v) for v in (0, 24.9, 25, 59.9, 60, None)] == [
        "green", "green", "yellow", "yellow", "red", None]


def test_junk_weights_are_clamped_and_ignored():
    weights = scoring.clean_weights({"head_movement": "9", "speaking": "x", "bogus": 5,
                                     "copy_paste": -3})
    assert weights["head_movement"] == 5 and weights["speaking"] == 0
    assert weights["copy_paste"] == 0 and "bogus" not in weights


def test_parts_add_up_to_the_score():
    spans = [Span("multiple_faces", 0, 100), Span("looking_away", 200, 400),
             Span("tab_hidden", 500, 560, point_event=True)]
    weights = {"multiple_faces": 5, "head_movement": 2, "navigating_away": 3}
    score = scoring.compute(spans, weights, 3600)
    assert abs(sum(p.contribution for p in score.parts) - score.value) < 0.2


def test_peer_signal_marks_an_outlier_and_needs_enough_peers():
    assert scoring.peer_signal("head_movement", "", 0.5, [0.01, 0.02]) is None
    signal = scoring.peer_signal("head_movement", "", 0.5, [0.01, 0.02, 0.03, 0.02, 0.01, 0.04])
    assert signal is not None and signal.much_more and signal.z >= 2
    calm = scoring.peer_signal("head_movement", "", 0.02, [0.01, 0.02, 0.03, 0.02, 0.01, 0.04])
    assert calm is not None and not calm.much_more


def test_the_batch_peer_z_scores_match_the_one_by_one_definition():
    values = {i: v for i, v in enumerate([0.01, 0.02, 0.5, 0.03, 0.02, 0.01, 0.04])}
    batch = scoring.peer_z_scores(values)
    for key, value in values.items():
        others = [v for k, v in values.items() if k != key]
        single = scoring.peer_signal("m", "", value, others)
        assert single is not None and abs(single.z - batch[key]) < 0.02
    assert batch[2] >= scoring.PEER_Z
    assert scoring.peer_z_scores({1: 0.1, 2: 0.2}) == {}
