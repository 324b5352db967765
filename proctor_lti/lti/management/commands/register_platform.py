"""manage.py register_platform: create or update an LMS registration (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from proctor_lti.lti.services import platform_register


class Command(BaseCommand):
    help = (
        "Register an LTI 1.3 platform (LMS) or update its registration. Running it again with "
        "the same --issuer and --client-id updates the existing registration."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="A name people recognise.")
        parser.add_argument("--issuer", required=True, help="The platform's iss, e.g. "
                            "https://canvas.instructure.com")
        parser.add_argument("--client-id", required=True, help="The client_id the LMS gave us.")
        parser.add_argument("--auth-login-url", required=True,
                            help="The platform's OIDC authorization endpoint.")
        parser.add_argument("--auth-token-url", required=True,
                            help="The platform's OAuth2 token endpoint (services).")
        parser.add_argument("--key-set-url", required=True,
                            help="The platform's public key set (JWKS) URL.")
        parser.add_argument("--deployment-id", action="append", default=[],
                            help="A deployment id; repeat for several.")
        parser.add_argument("--auth-audience", default="",
                            help="Audience of service-token assertions when not the token URL.")
        parser.add_argument("--frame-origin", action="append", default=None,
                            help="An extra origin allowed to frame the tool (repeatable).")
        parser.add_argument("--auto-add-deployments", action="store_true", default=None,
                            help="Accept and record unknown deployment ids at first launch.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            platform, created = platform_register(
                name=options["name"],
                issuer=options["issuer"],
                client_id=options["client_id"],
                auth_login_url=options["auth_login_url"],
                auth_token_url=options["auth_token_url"],
                key_set_url=options["key_set_url"],
                deployment_ids=options["deployment_id"],
                auth_audience=options["auth_audience"],
                frame_origins=options["frame_origin"],
                auto_add_deployments=options["auto_add_deployments"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        deployments = ", ".join(platform.deployments.values_list("deployment_id", flat=True))
        self.stdout.write(self.style.SUCCESS(
            f"{'Registered' if created else 'Updated'} platform {platform.name!r} "
            f"(issuer {platform.issuer}, client_id {platform.client_id}); "
            f"deployments: {deployments or 'none yet'}"
        ))
