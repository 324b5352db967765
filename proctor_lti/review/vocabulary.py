"""Reviewer vocabulary: reason codes for decisions, human names for flag types."""

from django.utils.translation import gettext_lazy as _

REASON_CODES = {
    "dismissed": {
        "ordinary_behaviour": _("Ordinary behaviour (reading, thinking, stretching)"),
        "accommodation": _("Covered by an accommodation"),
        "detection_error": _("Detection error (lighting, glasses, camera angle)"),
        "permitted_material": _("Permitted material or tool"),
        "technical_issue": _("Technical issue (network, device)"),
        "other": _("Other (see notes)"),
    },
    "confirmed": {
        "unpermitted_person": _("Another person helped or was present"),
        "unpermitted_material": _("Unpermitted material or device"),
        "left_exam": _("Left the exam or the room"),
        "communication": _("Communication with someone"),
        "other": _("Other (see notes)"),
    },
}

FLAG_LABELS = {
    "no_face": _("No face visible"),
    "camera_obscured": _("Camera obscured or too dark"),
    "multiple_faces": _("More than one face"),
    "multiple_persons": _("More than one person"),
    "looking_away": _("Looking away"),
    "speech": _("Speech"),
    "audio_level": _("Loud audio"),
    "tab_hidden": _("Exam tab hidden"),
    "window_blur": _("Left the exam window"),
    "fullscreen_exit": _("Left full screen"),
    "copy": _("Copy"),
    "cut": _("Cut"),
    "paste": _("Paste"),
    "resize": _("Browser resized"),
}


def flag_label(flag_type: str) -> str:
    return str(FLAG_LABELS.get(flag_type, flag_type.replace("_", " ").capitalize()))
