"""Typed exam settings: the groups instructors set, their presets, and validation.

Each group is stored as a JSON object on Exam (recording, verification, lockdown, tools,
behaviour_weights). `normalise_group` turns instructor input (a form or an API payload) into a
complete, valid group or raises SettingsError with one clear message per bad field, so the
stored JSON always has every key with an allowed value.
"""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext_lazy as _

from .vocabulary import BEHAVIOUR_METRICS

ROOM_SCAN = ("off", "start", "start_and_random")
FULL_SCREEN = ("off", "lenient", "moderate", "severe")
REENTRY = ("allowed", "approval", "none")
CALCULATOR = ("off", "basic", "scientific")

# Seconds away from full screen (cumulative over the attempt) before the exit counts as a
# violation that ends full-screen grace; severe allows none.
FULL_SCREEN_GRACE_S = {"off": None, "lenient": 30, "moderate": 15, "severe": 0}

# field -> allowed values (a tuple) or bool
SCHEMA: dict[str, dict[str, Any]] = {
    "recording": {"webcam": bool, "microphone": bool, "screen": bool, "room_scan": ROOM_SCAN},
    "verification": {
        "camera": bool,
        "microphone": bool,
        "screen_share": bool,
        "photo_id": bool,
        "agreement": bool,
    },
    "lockdown": {
        "full_screen": FULL_SCREEN,
        "one_screen": bool,
        "no_clipboard": bool,
        "no_right_click": bool,
        "no_printing": bool,
        "reentry": REENTRY,
    },
    "tools": {"calculator": CALCULATOR, "whiteboard": bool},
}
GROUPS = (*SCHEMA.keys(), "behaviour_weights")
# Groups that freeze when the first student starts: changing what is recorded or checked
# mid-exam would make attempts of one exam incomparable and break what students were told.
LOCKABLE_GROUPS = ("recording", "verification")
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650

# Checks a student can be exempted from (accommodations). Keys match precheck names.
EXEMPTABLE_CHECKS: dict[str, Any] = {
    "camera": _("Camera test"),
    "microphone": _("Microphone test"),
    "screen_share": _("Screen share"),
    "photo_id": _("Photo ID"),
    "room_scan": _("Room scan"),
    "full_screen": _("Full screen"),
    "one_screen": _("Only one screen"),
    "upload_speed": _("Upload speed test"),
}

_ALL_WEIGHTS_3 = {metric: 3 for metric in BEHAVIOUR_METRICS}

PRESETS: dict[str, dict[str, Any]] = {
    # Default: the least data that still supports a review (events + webcam), kept briefly.
    "minimal": {
        "recording": {"webcam": True, "microphone": False, "screen": False, "room_scan": "off"},
        "verification": {
            "camera": True,
            "microphone": False,
            "screen_share": False,
            "photo_id": False,
            "agreement": True,
        },
        "lockdown": {
            "full_screen": "off",
            "one_screen": False,
            "no_clipboard": False,
            "no_right_click": False,
            "no_printing": False,
            "reentry": "allowed",
        },
        "tools": {"calculator": "off", "whiteboard": False},
        "behaviour_weights": {
            **_ALL_WEIGHTS_3,
            "browser_resize": 1,
            "audio_level": 0,
            "speaking": 0,
        },
        "retention_days": 14,
    },
    "recommended": {
        "recording": {"webcam": True, "microphone": True, "screen": True, "room_scan": "off"},
        "verification": {
            "camera": True,
            "microphone": True,
            "screen_share": True,
            "photo_id": False,
            "agreement": True,
        },
        "lockdown": {
            "full_screen": "lenient",
            "one_screen": True,
            "no_clipboard": False,
            "no_right_click": False,
            "no_printing": True,
            "reentry": "allowed",
        },
        "tools": {"calculator": "off", "whiteboard": False},
        "behaviour_weights": {**_ALL_WEIGHTS_3, "browser_resize": 1},
        "retention_days": 30,
    },
    "high_stakes": {
        "recording": {"webcam": True, "microphone": True, "screen": True, "room_scan": "start"},
        "verification": {
            "camera": True,
            "microphone": True,
            "screen_share": True,
            "photo_id": True,
            "agreement": True,
        },
        "lockdown": {
            "full_screen": "moderate",
            "one_screen": True,
            "no_clipboard": True,
            "no_right_click": True,
            "no_printing": True,
            "reentry": "approval",
        },
        "tools": {"calculator": "off", "whiteboard": False},
        "behaviour_weights": {
            **_ALL_WEIGHTS_3,
            "navigating_away": 4,
            "multiple_faces": 5,
            "multiple_persons": 5,
            "leaving_room": 4,
        },
        "retention_days": 90,
    },
}
PRESET_LABELS = {
    "minimal": _("Minimal data"),
    "recommended": _("Recommended"),
    "high_stakes": _("High stakes"),
}
DEFAULT_PRESET = "minimal"


class SettingsError(ValueError):
    """Invalid settings; `errors` maps "group.field" to a message for the form."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def preset_values(name: str) -> dict[str, Any]:
    """A deep copy of one preset's groups; SettingsError for an unknown name."""
    if name not in PRESETS:
        raise SettingsError(
            {
                "preset": str(
                    _("Unknown preset “%(name)s”. Choose one of: %(all)s.")
                    % {"name": name, "all": ", ".join(PRESETS)}
                )
            }
        )
    return copy.deepcopy(PRESETS[name])


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in (1, 0):
        return bool(value)
    if isinstance(value, str) and value.lower() in (
        "true",
        "on",
        "1",
        "yes",
        "false",
        "off",
        "0",
        "no",
        "",
    ):
        return value.lower() in ("true", "on", "1", "yes")
    return None


def normalise_group(group: str, data: Any, *, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate one group; missing keys keep their `base` value (else the default preset's)."""
    if group not in GROUPS:
        raise SettingsError({group: str(_("Unknown settings group."))})
    defaults = base if base is not None else PRESETS[DEFAULT_PRESET][group]
    if not isinstance(data, dict):
        raise SettingsError({group: str(_("Expected an object of settings."))})
    if group == "behaviour_weights":
        return _normalise_weights(data, defaults)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for field, kind in SCHEMA[group].items():
        value = data.get(field, defaults.get(field))
        if kind is bool:
            parsed = _as_bool(value)
            if parsed is None:
                errors[f"{group}.{field}"] = str(_("Must be on or off."))
            else:
                out[field] = parsed
        elif value not in kind:
            errors[f"{group}.{field}"] = str(
                _("“%(value)s” is not allowed; choose one of: %(all)s.")
                % {"value": value, "all": ", ".join(kind)}
            )
        else:
            out[field] = value
    for unknown in set(data) - set(SCHEMA[group]):
        errors[f"{group}.{unknown}"] = str(_("Unknown setting."))
    if errors:
        raise SettingsError(errors)
    return out


def _normalise_weights(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, int]:
    errors: dict[str, str] = {}
    out: dict[str, int] = {}
    for metric in BEHAVIOUR_METRICS:
        value = data.get(metric, defaults.get(metric, 0))
        try:
            weight = int(value)
            if str(weight) != str(value).strip() and not isinstance(value, int):
                raise ValueError
        except (TypeError, ValueError):
            errors[f"behaviour_weights.{metric}"] = str(
                _("Weight must be a whole number from 0 to 5.")
            )
            continue
        if not 0 <= weight <= 5:
            errors[f"behaviour_weights.{metric}"] = str(_("Weight must be from 0 (off) to 5."))
            continue
        out[metric] = weight
    for unknown in set(data) - set(BEHAVIOUR_METRICS):
        errors[f"behaviour_weights.{unknown}"] = str(_("Unknown behaviour metric."))
    if errors:
        raise SettingsError(errors)
    return out


def normalise_retention(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise SettingsError(
            {
                "retention_days": str(
                    _("Retention must be a number of days from %(lo)s to %(hi)s.")
                    % {"lo": MIN_RETENTION_DAYS, "hi": MAX_RETENTION_DAYS}
                )
            }
        )
    return days


def cross_check(values: dict[str, dict[str, Any]]) -> None:
    """Rules across groups: a check for a stream that is not recorded makes no sense."""
    rec, ver = values["recording"], values["verification"]
    errors = {}
    if ver["screen_share"] and not rec["screen"]:
        errors["verification.screen_share"] = str(
            _("The screen-share check needs screen recording on.")
        )
    if ver["microphone"] and not rec["microphone"]:
        errors["verification.microphone"] = str(
            _("The microphone check needs microphone recording on.")
        )
    if ver["camera"] and not rec["webcam"]:
        errors["verification.camera"] = str(_("The camera check needs webcam recording on."))
    if ver["photo_id"] and not rec["webcam"]:
        errors["verification.photo_id"] = str(_("Photo ID needs the webcam on."))
    if rec["room_scan"] != "off" and not rec["webcam"]:
        errors["recording.room_scan"] = str(_("A room scan needs the webcam on."))
    if errors:
        raise SettingsError(errors)


def normalise_exempt_checks(checks: Any) -> list[str]:
    if not isinstance(checks, list | tuple):
        raise SettingsError({"exempt_checks": str(_("Expected a list of checks."))})
    unknown = [c for c in checks if c not in EXEMPTABLE_CHECKS]
    if unknown:
        raise SettingsError(
            {
                "exempt_checks": str(
                    _("Unknown checks: %(names)s.") % {"names": ", ".join(map(str, unknown))}
                )
            }
        )
    return sorted(set(checks))
