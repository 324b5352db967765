"""Seeding the demo: the dev LMS registered as a platform, a course, two exams, an agreement
and an admin account. Idempotent: running it again updates instead of duplicating."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import transaction

from proctor_lti.exams import services as exam_services
from proctor_lti.exams.models import AgreementVersion, Exam
from proctor_lti.lti.models import Context, ResourceLink
from proctor_lti.lti.services import platform_register

from . import platform, roster
from .models import DevCourseLink, DevQuiz

DEMO_AGREEMENT = (
    "I will take this exam alone, in a quiet and well-lit room, without notes, phones or other "
    "people unless my instructor allowed them. I understand that my webcam, microphone and "
    "screen (as listed on the Before you Begin page) are recorded during the exam, kept for the "
    "retention period shown, and seen only by my instructors and the service administrators. "
    "A person, never the software alone, decides whether anything was wrong."
)


@dataclass(frozen=True)
class SeedResult:
    config: platform.Config
    access_code_exam: Exam
    proctoring_exam: Exam
    admin_password: str | None  # set only when the admin account was created or reset


def _normalise_base(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _exam_for(*, context: Context, link_id: str, title: str, delivery: str, preset: str,
              exam_url: str = "", access_code: str = "") -> Exam:
    resource_link, _ = ResourceLink.objects.update_or_create(
        context=context, resource_link_id=link_id, defaults={"title": title})
    exam = Exam.objects.filter(resource_link=resource_link).first()
    if exam is None:
        return exam_services.exam_create(
            context=context, title=title, delivery=delivery, resource_link=resource_link,
            preset=preset, exam_url=exam_url, access_code=access_code)
    exam.title, exam.delivery = title, delivery
    if delivery == Exam.Delivery.ACCESS_CODE:
        exam.exam_url, exam.access_code = exam_url, access_code
    exam.save(update_fields=["title", "delivery", "exam_url", "access_code", "updated_at"])
    return exam


@transaction.atomic
def demo_seed(*, base_url: str, lms_url: str = "", admin_username: str = "admin",
              admin_password: str | None = None) -> SeedResult:
    """Register the dev LMS with the tool at `base_url` and fill the demo course.

    `lms_url` is where the dev LMS is opened (defaults to `base_url`); giving it another host
    (e.g. http://localhost:8000 for a tool at http://127.0.0.1:8000) makes the LMS and the
    tool different sites, as in production.
    """
    tool_url = _normalise_base(base_url)
    lms_base = _normalise_base(lms_url or base_url)
    issuer = f"{lms_base}/dev-lms"
    config = platform.config_save(issuer=issuer, tool_url=tool_url,
                                  client_id=platform.DEFAULT_CLIENT_ID,
                                  deployment_id=platform.DEFAULT_DEPLOYMENT_ID)
    platform.signing_key()
    registered, _ = platform_register(
        name="Development LMS", issuer=config.issuer, client_id=config.client_id,
        auth_login_url=config.url("auth"), auth_token_url=config.token_url,
        key_set_url=config.url("jwks"), deployment_ids=[config.deployment_id],
        frame_origins=[platform.origin(issuer)])
    deployment = registered.deployments.get(deployment_id=config.deployment_id)
    context, _ = Context.objects.update_or_create(
        platform=registered, context_id=roster.COURSE_ID,
        defaults={"deployment": deployment, "title": roster.COURSE_TITLE,
                  "label": roster.COURSE_LABEL,
                  "nrps_url": config.url(f"nrps/{roster.COURSE_ID}/memberships")})

    quiz = DevQuiz.objects.filter(slug=roster.DEMO_QUIZ_SLUG).first()
    if quiz is None:
        quiz = DevQuiz.objects.create(slug=roster.DEMO_QUIZ_SLUG, title="PSY 101 Midterm quiz",
                                      access_code=f"PSY-{secrets.randbelow(10**6):06d}")
    access_exam = _exam_for(
        context=context, link_id=roster.ACCESS_CODE_LINK_ID, title="Midterm (proctored)",
        delivery=Exam.Delivery.ACCESS_CODE, preset="recommended",
        exam_url=config.url(f"quiz/{quiz.slug}/"), access_code=quiz.access_code)
    proctoring_exam = _exam_for(
        context=context, link_id=roster.PROCTORING_LINK_ID,
        title="Final (LTI Proctoring Services)",
        delivery=Exam.Delivery.PROCTORING_SERVICES, preset="minimal")
    for exam, kind in ((access_exam, DevCourseLink.Kind.RESOURCE),
                       (proctoring_exam, DevCourseLink.Kind.PROCTORING)):
        DevCourseLink.objects.update_or_create(
            resource_link_id=exam.resource_link.resource_link_id,
            defaults={"title": exam.title, "kind": kind})

    if not AgreementVersion.objects.filter(is_current=True).exists():
        version = (AgreementVersion.objects.order_by("-version").values_list("version", flat=True)
                   .first() or 0) + 1
        AgreementVersion.objects.create(version=version, text=DEMO_AGREEMENT, is_current=True)

    password = _admin_ensure(admin_username, admin_password)
    return SeedResult(config, access_exam, proctoring_exam, password)


def _admin_ensure(username: str, password: str | None) -> str | None:
    """Create the superuser with a random password (printed once), or reset it when given."""
    User = get_user_model()  # noqa: N806
    password = password or os.environ.get("DEMO_ADMIN_PASSWORD") or None
    user = User.objects.filter(username=username).first()
    if user is not None and password is None:
        return None
    password = password or secrets.token_urlsafe(12)
    if user is None:
        User.objects.create_superuser(username=username, email="", password=password)
    else:
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
    return password
