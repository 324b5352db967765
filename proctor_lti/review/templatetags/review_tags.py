"""Small formatting helpers for review templates."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()

BAND_ICONS = {"red": "\u25b2", "yellow": "\u25a0", "green": "\u25cf"}


@register.filter
def mmss(seconds: float | None) -> str:
    """Seconds as m:ss (h:mm:ss past an hour)."""
    if seconds is None:
        return ""
    s = max(0, int(round(float(seconds))))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


@register.filter
def band_icon(band: str | None) -> str:
    return BAND_ICONS.get(band or "", "\u2013")


@register.filter
def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} %"


@register.filter
def decision_label(decision: str) -> str:
    return {"open": _("Not yet decided"), "confirmed": _("Confirmed"),
            "dismissed": _("Dismissed")}.get(decision, decision)


@register.filter
def plain(value: object) -> str:
    """A JSON value from an explanation as short text: dicts as `k: v; ...`, lists joined."""
    if isinstance(value, dict) and "name" in value and set(value) <= {"name", "version"}:
        return f"{value['name']} {value.get('version', '')}".strip()  # a model and its version
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


@register.filter
def person(user: object) -> str:
    """A reviewer or author as people know them (LMS name), not the internal username."""
    if user is None:
        return "?"
    from proctor_lti.review.selectors import display_name

    return display_name(user)
