"""Publish a new exam agreement version from a text file (or the built-in default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from proctor_lti.exams.models import AgreementVersion
from proctor_lti.exams.services import agreement_publish

DEFAULT_TEXT = "\n\n".join(
    [
        "By starting this exam I agree that:",
        "1. I am the person named in this course, and I will take the exam alone, in a quiet "
        "place.",
        "2. I will not use notes, other people, other devices or other programs unless my "
        "instructor allows them.",
        "3. My webcam, microphone and screen are recorded as listed on the Before you Begin "
        "page, kept only for the period shown there, and seen only by my instructors and the "
        "reviewers my institution names.",
        "4. Automatic detection only points reviewers to moments worth a look; a person "
        "decides, and I can ask to see and discuss anything recorded about me.",
        "5. If my connection drops, my exam continues; I will tell my instructor about any "
        "problem.",
    ]
)


class Command(BaseCommand):
    help = "Publish a new current exam agreement version (--file PATH, or the default text)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", help="UTF-8 text file with the agreement")
        parser.add_argument("--title", default="Exam agreement")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when a current version exists (for setup scripts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_missing"] and AgreementVersion.objects.filter(is_current=True).exists():
            self.stdout.write("An agreement is already published; nothing to do.")
            return
        text = DEFAULT_TEXT
        if options["file"]:
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            text = path.read_text(encoding="utf-8").strip()
            if not text:
                raise CommandError("The agreement file is empty.")
        version = agreement_publish(title=options["title"], text=text)
        self.stdout.write(f"Published agreement version {version.version}.")
