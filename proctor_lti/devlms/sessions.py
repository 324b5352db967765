"""LTI Proctoring Services, platform side: attempts, LtiStartAssessment and the ACS log."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .models import DevAcsAction, DevCourseLink, DevProctoringSession
from .platform import LTI, LTI_AP, Config, PlatformError
from .verify import use_once, verify_tool_jwt

ACS_STATUS = {"pause": DevProctoringSession.Status.PAUSED,
              "resume": DevProctoringSession.Status.RUNNING,
              "terminate": DevProctoringSession.Status.TERMINATED}


def proctoring_session_start(*, link: DevCourseLink, user_key: str) -> DevProctoringSession:
    """Open the next attempt for this learner (what LtiStartProctoring will carry)."""
    for _ in range(3):
        last = (DevProctoringSession.objects.filter(link=link, user_key=user_key)
                .aggregate(n=Max("attempt_number"))["n"]) or 0
        try:
            with transaction.atomic():
                return DevProctoringSession.objects.create(
                    link=link, user_key=user_key, attempt_number=last + 1,
                    session_data=secrets.token_urlsafe(32))
        except IntegrityError:
            continue
    raise PlatformError("Could not open a new attempt; try again.", status=409)


def start_assessment_verify(config: Config, token: str) -> DevProctoringSession:
    """Check an LtiStartAssessment the way Open edX does and mark the attempt running."""
    claims = verify_tool_jwt(config, token, audience=config.issuer)
    if claims.get(LTI + "message_type") != "LtiStartAssessment":
        raise PlatformError("message_type must be LtiStartAssessment.")
    if claims.get(LTI + "version") != "1.3.0":
        raise PlatformError("version must be 1.3.0.")
    if claims.get(LTI + "deployment_id") != config.deployment_id:
        raise PlatformError("Unknown deployment_id.")
    use_once("nonce", str(claims.get("nonce") or ""))
    session = DevProctoringSession.objects.select_related("link").filter(
        session_data=str(claims.get(LTI_AP + "session_data") or "")).first()
    if session is None:
        raise PlatformError("session_data does not match any attempt this LMS started.")
    if claims.get(LTI_AP + "attempt_number") != session.attempt_number:
        raise PlatformError("attempt_number does not match the attempt.")
    if (claims.get(LTI + "resource_link") or {}).get("id") != session.link.resource_link_id:
        raise PlatformError("resource_link.id does not match the attempt.")
    if session.status not in (DevProctoringSession.Status.LAUNCHED,
                              DevProctoringSession.Status.RUNNING):
        raise PlatformError(f"This attempt is {session.status}; it cannot start again.",
                            status=409)
    session.status = DevProctoringSession.Status.RUNNING
    session.started_at = session.started_at or timezone.now()
    session.end_assessment_return = bool(claims.get(LTI_AP + "end_assessment_return"))
    session.verified_user = claims.get(LTI_AP + "verified_user") or {}
    session.save()
    return session


def proctoring_session_end(*, session: DevProctoringSession) -> DevProctoringSession:
    if session.status != DevProctoringSession.Status.TERMINATED:
        session.status = DevProctoringSession.Status.COMPLETE
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at"])
    return session


def acs_record(payload: Any) -> tuple[DevAcsAction, str]:
    """Record an Assessment Control Service request; returns it and the attempt's status."""
    if not isinstance(payload, dict):
        raise PlatformError("The body must be a JSON object.")
    action = payload.get("action")
    if action not in ("pause", "resume", "terminate", "update", "flag"):
        raise PlatformError("action must be one of pause, resume, terminate, update, flag.")
    user, link = payload.get("user"), payload.get("resource_link")
    if not isinstance(user, dict) or not user.get("sub"):
        raise PlatformError("user.sub is required.")
    if not isinstance(link, dict) or not link.get("id"):
        raise PlatformError("resource_link.id is required.")
    attempt = payload.get("attempt_number")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise PlatformError("attempt_number must be a positive integer.")
    severity = payload.get("incident_severity")
    if severity is not None and not (isinstance(severity, int | float) and 0 <= severity <= 1):
        raise PlatformError("incident_severity must be between 0 and 1.")
    user_key = str(user["sub"]).removeprefix("devlms-")
    session = DevProctoringSession.objects.filter(
        link__resource_link_id=link["id"], user_key=user_key, attempt_number=attempt).first()
    if session is None:
        raise PlatformError("No such attempt for this user and resource link.", status=404,
                            code="not_found")
    with transaction.atomic():
        record = DevAcsAction.objects.create(session=session, action=action, payload=payload)
        if action in ACS_STATUS and session.status not in (
            DevProctoringSession.Status.TERMINATED, DevProctoringSession.Status.COMPLETE
        ):
            session.status = ACS_STATUS[action]
            session.save(update_fields=["status"])
    status = session.status if session.status != DevProctoringSession.Status.LAUNCHED else "none"
    return record, str(status)
