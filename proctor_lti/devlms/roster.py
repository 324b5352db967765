"""The demo course and its made-up people (no real PII)."""

from __future__ import annotations

from dataclasses import dataclass

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INST = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
LEARNER_ROLES = (f"{LIS}Learner", f"{INST}Student")
INSTRUCTOR_ROLES = (f"{LIS}Instructor", f"{INST}Faculty")

COURSE_ID = "demo-course-101"
COURSE_LABEL = "PSY 101"
COURSE_TITLE = "Introduction to Psychology (demo course)"

ACCESS_CODE_LINK_ID = "demo-midterm-access-code"
PROCTORING_LINK_ID = "demo-final-proctoring-services"
DEMO_QUIZ_SLUG = "midterm"


@dataclass(frozen=True)
class DemoUser:
    key: str
    given_name: str
    family_name: str
    roles: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def sub(self) -> str:
        return f"devlms-{self.key}"

    @property
    def email(self) -> str:
        return f"{self.key}@demo.example.edu"

    @property
    def is_instructor(self) -> bool:
        return f"{LIS}Instructor" in self.roles


USERS: dict[str, DemoUser] = {
    u.key: u
    for u in (
        DemoUser("ada", "Ada", "Lovelace", LEARNER_ROLES),
        DemoUser("grace", "Grace", "Hopper", LEARNER_ROLES),
        DemoUser("alan", "Alan", "Turing", LEARNER_ROLES),
        DemoUser("katherine", "Katherine", "Johnson", INSTRUCTOR_ROLES),
    )
}


def students() -> list[DemoUser]:
    return [u for u in USERS.values() if not u.is_instructor]


def instructors() -> list[DemoUser]:
    return [u for u in USERS.values() if u.is_instructor]
