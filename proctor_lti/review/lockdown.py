"""Lockdown events -> flag spans. Pure: takes event rows, returns specs.

"Away" events (tab hidden, window blur, full-screen exit) last until the matching return
event (or the duration the browser reported); point events (copy, paste, resize) that come
in a burst within BURST_GAP_S are joined into one flag with a count, so fifty pastes are one
line for the reviewer, not fifty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from proctor_lti.exams.vocabulary import EVENT_METRIC

RETURN_EVENTS = {
    "tab_hidden": ("tab_visible", "visibility_visible"),
    "window_blur": ("window_focus", "focus"),
    "fullscreen_exit": ("fullscreen_enter", "fullscreen_enter_ok"),
}
BURST_GAP_S = 5.0
# The proctoring page hides or loses focus because the exam's own window is in front.
WHILE_IN_EXAM_WINDOW = frozenset({"tab_hidden", "window_blur"})

RULES = {
    "tab_hidden": "The exam tab was hidden (another tab or application was in front).",
    "window_blur": "The exam window lost focus.",
    "fullscreen_exit": "The exam left full-screen mode.",
    "copy": "Text was copied in the exam page.",
    "cut": "Text was cut in the exam page.",
    "paste": "Text was pasted into the exam page.",
    "resize": "The browser window was resized.",
}


@dataclass
class FlagSpec:
    type: str
    start_s: float
    end_s: float
    explanation: dict[str, Any] = field(default_factory=dict)


def _offset(event: Any, started_at: datetime | None) -> float:
    if event.offset_s is not None:
        return max(0.0, float(event.offset_s))
    if started_at is not None:
        return max(0.0, (event.occurred_at - started_at).total_seconds())
    return 0.0


def _reported_duration(event: Any) -> float | None:
    data = event.data or {}
    for key in ("duration_s", "away_s"):
        try:
            value = float(data[key])
        except (KeyError, TypeError, ValueError):
            continue
        if value >= 0:
            return value
    return None


def lockdown_flag_specs(events: list[Any], started_at: datetime | None) -> list[FlagSpec]:
    """Flag specs for the scored lockdown events, in time order."""
    specs: list[FlagSpec] = []
    bursts: dict[str, FlagSpec] = {}
    last_away: dict[str, FlagSpec] = {}
    for i, event in enumerate(events):
        if EVENT_METRIC.get(event.type) is None:
            continue
        t = _offset(event, started_at)
        data = event.data or {}
        if data.get("exam_opened") and event.type in WHILE_IN_EXAM_WINDOW:
            # Access-code exams run in a window of their own: once the student has opened
            # it, the proctoring page losing focus is where they are meant to be. The event
            # stays in the log; the screen recording shows what they did.
            continue
        previous = last_away.get(event.type)
        if data.get("over_grace") and previous is not None and (
                previous.end_s >= t or previous.explanation["ended_by"].startswith("no return")):
            # The exam page reports crossing the full-screen allowance as a second event of
            # the same absence: note it on that absence instead of counting it twice.
            previous.explanation["over_grace"] = True
            previous.explanation["event_ids"].append(event.client_event_id)
            continue
        if event.type in RETURN_EVENTS:
            duration = _reported_duration(event)
            ended_by = "reported duration"
            if duration is None:
                ended_by = "no return event (counted as a moment)"
                duration = 0.0
                for later in events[i + 1:]:
                    if later.type in RETURN_EVENTS[event.type]:
                        duration = max(0.0, _offset(later, started_at) - t)
                        ended_by = f"returned ({later.type})"
                        break
            spec = FlagSpec(event.type, round(t, 3), round(t + duration, 3), {
                "rule": RULES.get(event.type, event.type),
                "threshold": {"min_counted_s": 10},
                "observed_duration_s": round(duration, 3),
                "ended_by": ended_by,
                "event_ids": [event.client_event_id],
                "source": "browser lockdown event",
            })
            if "grace_s" in data:
                spec.explanation["threshold"]["full_screen_allowance_s"] = data["grace_s"]
            specs.append(spec)
            last_away[event.type] = spec
            continue
        burst = bursts.get(event.type)
        if burst is not None and t - burst.end_s <= BURST_GAP_S:
            burst.end_s = round(t, 3)
            burst.explanation["count"] += 1
            burst.explanation["event_ids"].append(event.client_event_id)
            burst.explanation["observed_duration_s"] = round(burst.end_s - burst.start_s, 3)
            continue
        burst = FlagSpec(event.type, round(t, 3), round(t, 3), {
            "rule": RULES.get(event.type, event.type),
            "threshold": {"min_counted_s": 10, "burst_gap_s": BURST_GAP_S},
            "observed_duration_s": 0.0,
            "count": 1,
            "event_ids": [event.client_event_id],
            "source": "browser lockdown event",
        })
        bursts[event.type] = burst
        specs.append(burst)
    return sorted(specs, key=lambda s: (s.start_s, s.type))
