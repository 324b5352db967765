from __future__ import annotations

import pytest

from proctor_lti.exams import settings_schema as schema
from proctor_lti.exams.vocabulary import BEHAVIOUR_METRICS


@pytest.mark.parametrize("name", list(schema.PRESETS))
def test_every_preset_is_complete_and_consistent(name: str) -> None:
    values = schema.preset_values(name)
    for group in schema.SCHEMA:
        assert schema.normalise_group(group, values[group]) == values[group]
    assert set(values["behaviour_weights"]) == set(BEHAVIOUR_METRICS)
    schema.cross_check(values)
    assert schema.normalise_retention(values["retention_days"]) == values["retention_days"]


def test_minimal_preset_records_only_the_webcam_and_keeps_it_briefly() -> None:
    minimal = schema.preset_values("minimal")
    assert minimal["recording"] == {
        "webcam": True,
        "microphone": False,
        "screen": False,
        "room_scan": "off",
    }
    assert minimal["retention_days"] < schema.preset_values("recommended")["retention_days"]
    assert schema.DEFAULT_PRESET == "minimal"


def test_it_rejects_an_unknown_preset_with_the_choices_named() -> None:
    with pytest.raises(schema.SettingsError) as err:
        schema.preset_values("paranoid")
    assert "minimal" in err.value.errors["preset"]


def test_it_rejects_values_outside_the_allowed_options() -> None:
    with pytest.raises(schema.SettingsError) as err:
        schema.normalise_group(
            "lockdown",
            {
                "full_screen": "extreme",
                "reentry": "maybe",
                "one_screen": "perhaps",
                "teleport": True,
            },
        )
    errors = err.value.errors
    assert "lenient" in errors["lockdown.full_screen"]
    assert "approval" in errors["lockdown.reentry"]
    assert errors["lockdown.one_screen"] == "Must be on or off."
    assert errors["lockdown.teleport"] == "Unknown setting."


def test_missing_keys_keep_the_base_values() -> None:
    base = schema.preset_values("high_stakes")["lockdown"]
    out = schema.normalise_group("lockdown", {"no_clipboard": False}, base=base)
    assert out == {**base, "no_clipboard": False}


@pytest.mark.parametrize("weight", [-1, 6, "three", 2.5, None])
def test_behaviour_weights_must_be_whole_numbers_from_0_to_5(weight: object) -> None:
    with pytest.raises(schema.SettingsError) as err:
        schema.normalise_group("behaviour_weights", {"speaking": weight})
    assert "behaviour_weights.speaking" in err.value.errors


def test_weights_accept_form_strings() -> None:
    out = schema.normalise_group("behaviour_weights", {"speaking": "4"})
    assert out["speaking"] == 4


@pytest.mark.parametrize("days", [0, 3651, "x", None])
def test_retention_outside_1_to_3650_days_is_refused(days: object) -> None:
    with pytest.raises(schema.SettingsError):
        schema.normalise_retention(days)


def test_a_check_for_a_stream_that_is_not_recorded_is_refused() -> None:
    values = schema.preset_values("recommended")
    values["recording"]["screen"] = False
    with pytest.raises(schema.SettingsError) as err:
        schema.cross_check(values)
    assert "screen recording" in err.value.errors["verification.screen_share"]


def test_exempt_checks_must_be_known() -> None:
    assert schema.normalise_exempt_checks(["room_scan", "photo_id", "room_scan"]) == [
        "photo_id",
        "room_scan",
    ]
    with pytest.raises(schema.SettingsError):
        schema.normalise_exempt_checks(["telepathy"])
