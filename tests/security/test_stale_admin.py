"""Platform-wide admin rights last only while the platform keeps vouching for them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from proctor_lti.lti.models import Context, LtiIdentity, Membership
from proctor_lti.lti.permissions import can_manage
from tests.lti.helpers import claims_for, rsa_key, sign

pytestmark = pytest.mark.django_db
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LOGIN = {"iss": "https://lms.example.edu", "login_hint": "u-1",
         "target_link_uri": "https://testserver/lti/launch/", "client_id": "tool-client"}


def _launch(client, platform, *, roles: list[str], course: str) -> None:  # type: ignore[no-untyped-def]
    location = client.get("/lti/login/", LOGIN, secure=True)["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    claims = claims_for(platform, deployment_id="dep-1", nonce=params["nonce"],
                        **{LTI + "roles": roles,
                           LTI + "context": {"id": course, "title": course}})
    response = client.post("/lti/launch/", {"id_token": sign(claims, rsa_key(1), "k1"),
                                            "state": params["state"]}, secure=True)
    assert response.status_code == 200


def test_a_launch_without_the_admin_role_ends_platform_wide_admin_rights(
        client, platform, edge, handed_launches):
    _launch(client, platform, roles=[LIS + "institution/person#Administrator"], course="c-a")
    user = LtiIdentity.objects.get().user
    elsewhere = Context.objects.create(platform=platform, context_id="c-z")
    assert can_manage(user, elsewhere)

    # The institution revoked the admin role: the next launch (any course) says so.
    _launch(client, platform, roles=[LIS + "membership#Learner"], course="c-b")
    assert not can_manage(user, elsewhere)
    assert not can_manage(user, Context.objects.get(context_id="c-a"))
    assert not Membership.objects.filter(user=user, role=Membership.Role.ADMIN).exists()


def test_a_launch_as_admin_keeps_the_admin_rights(client, platform, edge, handed_launches):
    admin = [LIS + "institution/person#Administrator"]
    _launch(client, platform, roles=admin, course="c-a")
    _launch(client, platform, roles=admin, course="c-b")
    user = LtiIdentity.objects.get().user
    assert Membership.objects.filter(user=user, role=Membership.Role.ADMIN).count() == 2
