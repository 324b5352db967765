"""Launch errors: each one a 4xx page with an error id and a plain-language hint.

Codes are stable (tests and help desks use them); messages are translatable.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from proctor_lti.core.errors import UserFacingError

RESTART_HINT = _("Go back to your course and open the exam link again.")
ADMIN_HINT = _("Ask the administrator of this proctoring tool to check the LMS registration.")


class LaunchError(UserFacingError):
    """A refused LTI login or launch."""

    status = 400
    code = "lti_launch_refused"


def launch_error(code: str, message: str, *, hint: str = "", status: int = 400) -> LaunchError:
    return LaunchError(str(message), hint=str(hint or RESTART_HINT), code=code, status=status)
