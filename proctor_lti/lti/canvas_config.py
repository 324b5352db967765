"""The Canvas developer-key JSON (Admin > Developer Keys > + LTI Key > Paste JSON / Enter URL).

Built from settings.SITE_URL so one URL (/lti/canvas.json) configures the key. Canvas has no
LTI Proctoring Services: exams reach Canvas quizzes through the access-code gate, so the
placements are course navigation (instructors), assignment/link selection (deep linking:
add a proctored exam) and the quiz menu.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.templatetags.static import static

from .dynamic_registration import CUSTOM_PARAMETERS

CANVAS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]


def canvas_developer_key_json(*, title: str = "Exam proctoring") -> dict[str, Any]:
    """The developer-key configuration for this installation."""
    site = settings.SITE_URL
    launch = f"{site}/lti/launch/"
    deep_linking = "LtiDeepLinkingRequest"
    icon = static("img/icon.svg")
    icon_url = icon if icon.startswith("http") else f"{site}{icon}"
    placements: list[dict[str, Any]] = [
        {
            "placement": "course_navigation",
            "message_type": "LtiResourceLinkRequest",
            "target_link_uri": launch,
            "text": "Proctored exams",
            "icon_url": icon_url,
            "default": "disabled",
            "visibility": "admins",
        },
        # Canvas shows the picker in a modal of this size.
        {
            "placement": "assignment_selection",
            "message_type": deep_linking,
            "target_link_uri": launch,
            "text": "Proctored exam",
            "icon_url": icon_url,
            "selection_width": 800,
            "selection_height": 640,
        },
        {
            "placement": "link_selection",
            "message_type": deep_linking,
            "target_link_uri": launch,
            "text": "Proctored exam",
            "icon_url": icon_url,
            "selection_width": 800,
            "selection_height": 640,
        },
        {
            "placement": "quiz_menu",
            "message_type": "LtiResourceLinkRequest",
            "target_link_uri": launch,
            "text": "Proctor this quiz",
            "icon_url": icon_url,
        },
    ]
    return {
        "title": title,
        "description": (
            "Self-hosted remote exam proctoring: webcam, microphone and screen "
            "recording in the browser, automatic flags and instructor review. "
            "No browser extension."
        ),
        "oidc_initiation_url": f"{site}/lti/login/",
        "target_link_uri": launch,
        "scopes": list(CANVAS_SCOPES),
        "public_jwk_url": f"{site}/lti/jwks/",
        "custom_fields": {
            **CUSTOM_PARAMETERS,
            "canvas_lockdown_enabled": "$Canvas.assignment.lockdownEnabled",
            "canvas_user_login_id": "$Canvas.user.loginId",
        },
        "extensions": [
            {
                "domain": urlsplit(site).netloc,
                "tool_id": "proctor-lti",
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {"text": title, "icon_url": icon_url, "placements": placements},
            }
        ],
    }
