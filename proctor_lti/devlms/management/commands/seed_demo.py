"""manage.py seed_demo: the demo course on the built-in development LMS (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from proctor_lti.devlms.services import demo_seed


class Command(BaseCommand):
    help = ("Register the development LMS as a platform and seed a demo course with two "
            "proctored exams, an exam agreement and an admin account. Safe to run again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=settings.SITE_URL,
                            help="Where the tool is served, e.g. http://127.0.0.1:8000")
        parser.add_argument("--lms-url", default="",
                            help="Where the dev LMS is opened (default: the base URL). Use "
                                 "another host name to make LMS and tool different sites.")
        parser.add_argument("--admin-username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEV_LMS_ENABLED:
            raise CommandError("The development LMS is off (DEV_LMS_ENABLED); it is for "
                               "development and demos only.")
        try:
            result = demo_seed(base_url=options["base_url"], lms_url=options["lms_url"],
                               admin_username=options["admin_username"])
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        c = result.config
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Development LMS: {c.issuer}/  (issuer {c.issuer}, "
                          f"client_id {c.client_id}, deployment {c.deployment_id})")
        self.stdout.write(f"  Exams: {result.access_code_exam.title!r} (access-code gate), "
                          f"{result.proctoring_exam.title!r} (LTI Proctoring Services)")
        if result.admin_password:
            self.stdout.write(f"  Admin: user {options['admin_username']!r}, password "
                              f"{result.admin_password}  (shown once; set DEMO_ADMIN_PASSWORD "
                              "to choose it)")
        else:
            self.stdout.write(f"  Admin: user {options['admin_username']!r} already exists "
                              "(password unchanged; set DEMO_ADMIN_PASSWORD to reset it)")
