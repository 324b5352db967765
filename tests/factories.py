"""factory_boy factories for the Django side. Alice/Bob/Charlie live in tests/fixtures.py."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from proctor_lti.exams.models import Attempt, Exam
from proctor_lti.lti.models import (
    Context,
    Deployment,
    LtiIdentity,
    Membership,
    Platform,
    ResourceLink,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")


class PlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Platform

    name = factory.Sequence(lambda n: f"LMS {n}")
    issuer = factory.Sequence(lambda n: f"https://lms{n}.example.edu")
    client_id = factory.Sequence(lambda n: f"client-{n}")
    auth_login_url = factory.LazyAttribute(lambda o: f"{o.issuer}/auth")
    auth_token_url = factory.LazyAttribute(lambda o: f"{o.issuer}/token")
    key_set_url = factory.LazyAttribute(lambda o: f"{o.issuer}/jwks")


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    platform = factory.SubFactory(PlatformFactory)
    deployment_id = factory.Sequence(lambda n: f"deployment-{n}")


class ContextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Context

    platform = factory.SubFactory(PlatformFactory)
    context_id = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"Course {n}")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LtiIdentity

    platform = factory.SubFactory(PlatformFactory)
    user = factory.SubFactory(UserFactory)
    sub = factory.Sequence(lambda n: f"sub-{n}")
    name = factory.Sequence(lambda n: f"Person {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    context = factory.SubFactory(ContextFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.LEARNER


class ResourceLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceLink

    context = factory.SubFactory(ContextFactory)
    resource_link_id = factory.Sequence(lambda n: f"rl-{n}")


class ExamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exam

    context = factory.SubFactory(ContextFactory)
    title = factory.Sequence(lambda n: f"Exam {n}")


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    exam = factory.SubFactory(ExamFactory)
    user = factory.SubFactory(UserFactory)
