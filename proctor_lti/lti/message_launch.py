"""LTI 1.3 launch validation through pylti1p3's MessageLaunch, extended where it falls short.

pylti1p3 (the maintained fork `pylti1p3next`, same import name) runs the launch in its order:
state, JWT format, nonce, registration, signature, deployment, message, save. Run against an
independent platform it falls short on several points (../shared/LTI.md), so this subclass
keeps its steps and adds, each in the step it belongs to:

- format: RS256 only, and the token must name its key (`kid`);
- nonce: compared with the nonce of *this* login (not any nonce in a session), and used up
  atomically at the end, so a replayed id_token is refused (pylti1p3 never uses it up);
- registration: our own Platform/Deployment models (no lti1p3_tool_config app); `azp` is
  honoured when `aud` has several values (pylti1p3 takes aud[0]);
- signature: keys from our HTTP-cached key set with ONE rate-limited refetch on an unknown kid
  (pylti1p3 never refetches, so a platform key rotation broke launches); `exp` and `iat`
  required with leeway, a maximum token age, iss/aud/azp verified on the signed payload;
- message: LtiStartProctoring and LtiEndAssessment validators beside pylti1p3's resource-link
  and deep-linking ones (which it keeps: e.g. deep linking must accept ltiResourceLink);
- errors: every refusal is a LaunchError with a stable code (a 4xx page with an error id),
  never pylti1p3's bare exception (a 500).

The rules themselves live in `validation.py`, one small function each.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.message_validators import get_validators
from pylti1p3.message_validators.abstract import MessageValidatorAbstract
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract

from .errors import ADMIN_HINT, launch_error
from .keyset import platform_public_key
from .launch_data import MSG_END_ASSESSMENT, MSG_START_PROCTORING
from .models import Platform
from .oidc import STATE_COOKIE_PREFIX
from .validation import (
    LTI,
    claims_verify,
    deployment_lookup,
    message_check,
    nonce_consume,
    token_header,
    unknown_deployment,
)

logger = logging.getLogger(__name__)


class ProctoringMessageValidator(MessageValidatorAbstract):
    """LtiStartProctoring / LtiEndAssessment: pylti1p3 calls them "Unrecognized".

    Like its own validators, minus the roles claim, which proctoring messages may omit. The
    proctoring claims themselves are checked by `validation.message_check`.
    """

    def __init__(self, message_type: str) -> None:
        self.message_type = message_type

    def can_validate(self, jwt_body: dict[str, Any]) -> bool:
        return jwt_body.get(LTI + "message_type") == self.message_type

    def validate(self, jwt_body: dict[str, Any]) -> bool:
        if not jwt_body.get("sub"):
            raise LtiException("Must have a user (sub)")
        if jwt_body.get(LTI + "version") != "1.3.0":
            raise LtiException("Incorrect version, expected 1.3.0")
        return True


MESSAGE_VALIDATORS: list[MessageValidatorAbstract] = [
    *get_validators(),
    ProctoringMessageValidator(MSG_START_PROCTORING),
    ProctoringMessageValidator(MSG_END_ASSESSMENT),
]


class PlatformToolConf(ToolConfAbstract):
    """pylti1p3's view of the one registration the login chose (its state names it).

    A token claiming another issuer or client finds no registration: it was not meant for
    the login that started this launch.
    """

    def __init__(self, platform: Platform) -> None:
        super().__init__()
        self.platform = platform

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False  # always look up by (issuer, client_id): several clients per issuer work

    def _registration(self, iss: str, client_id: str | None) -> Registration | None:
        if iss != self.platform.issuer or (client_id is not None
                                           and client_id != self.platform.client_id):
            return None
        return (Registration().set_issuer(self.platform.issuer)
                .set_client_id(self.platform.client_id)
                .set_auth_login_url(self.platform.auth_login_url)
                .set_auth_token_url(self.platform.auth_token_url)
                .set_key_set_url(self.platform.key_set_url))

    def find_registration_by_issuer(self, iss: str, *args: Any,
                                    **kwargs: Any) -> Registration | None:
        return self._registration(iss, None)

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any,
                                    **kwargs: Any) -> Registration | None:
        return self._registration(iss, client_id)

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        return self.find_deployment_by_params(iss, deployment_id, self.platform.client_id)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str,
                                  *args: Any, **kwargs: Any) -> LtiDeployment | None:
        if self._registration(iss, client_id) is None:
            return None
        found = deployment_lookup(platform=self.platform, deployment_id=deployment_id)
        return LtiDeployment().set_deployment_id(found.deployment_id) if found else None


class LaunchPost(Request):
    """The platform's form post (id_token, state), as pylti1p3 reads request parameters."""

    def __init__(self, params: dict[str, str], *, secure: bool = True) -> None:
        self._params, self._secure = params, secure

    @property
    def session(self) -> None:
        return None  # state and nonce live with the login (oidc.py), not in a session

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._params.get(key, "")


class LoginSession(SessionService):
    """The login this launch answers: its nonce, and whether the browser confirmed its state.

    pylti1p3 looks the nonce up among every nonce the session ever saved; here a launch can
    only use the nonce minted for its own login (oidc.login_start).
    """

    def __init__(self, *, nonce: str, state_confirmed: bool) -> None:
        self._nonce, self._state_confirmed = nonce, state_confirmed

    def check_nonce(self, nonce: str) -> bool:
        return bool(self._nonce) and nonce == self._nonce

    def check_state_is_valid(self, state: str, id_token_hash: str) -> bool:
        # Confirmed by LTI Platform Storage (lti.get_data) when no cookie came back.
        return self._state_confirmed


class StateCookies(CookieService):
    """The state cookie oidc.state_cookie_set wrote (SameSite=None; Secure; Partitioned)."""

    def __init__(self, cookies: dict[str, str]) -> None:
        self._cookies = cookies

    def get_cookie(self, name: str) -> str | None:
        return self._cookies.get(STATE_COOKIE_PREFIX + name)

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        raise NotImplementedError("the login view sets the state cookie (oidc.py)")


def _refuse(code: str, message: str, *, hint: str = "", status: int = 401) -> Exception:
    return launch_error(code, message, hint=hint, status=status)


class ProctorMessageLaunch(MessageLaunch):
    """pylti1p3's MessageLaunch with the checks it lacks (see the module docstring)."""

    def __init__(self, *, platform: Platform, id_token: str, state: str, nonce: str,
                 cookies: dict[str, str] | None = None, state_confirmed: bool = False) -> None:
        super().__init__(
            LaunchPost({"id_token": id_token, "state": state}),
            PlatformToolConf(platform),
            session_service=LoginSession(nonce=nonce, state_confirmed=state_confirmed),
            cookie_service=StateCookies(cookies or {}),
        )
        self.platform = platform

    def _get_request_param(self, key: str) -> str:
        return str(self._request.get_param(key))

    def validate(self) -> ProctorMessageLaunch:
        try:
            super().validate()
        except LtiException as exc:
            # A rule of pylti1p3's own that none of ours pre-empted: still a clear 4xx.
            logger.info("launch refused by pylti1p3: %s", str(exc)[:200])
            raise _refuse("invalid_launch",
                          _("The LMS sent a launch that does not follow the LTI standard."),
                          hint=_("Details for the administrator: %(detail)s")
                          % {"detail": str(exc)[:200]}, status=400) from None
        return self

    def validate_state(self) -> ProctorMessageLaunch:
        try:
            super().validate_state()
        except LtiException:
            raise _refuse("state_mismatch",
                          _("The sign-in could not be confirmed by your LMS.")) from None
        return self

    def validate_jwt_format(self) -> ProctorMessageLaunch:
        try:
            super().validate_jwt_format()
        except LtiException:
            raise _refuse("malformed_token", _("The launch token is malformed."),
                          status=400) from None
        if not isinstance(self._jwt.get("body"), dict):
            raise _refuse("malformed_token", _("The launch token is malformed."), status=400)
        token_header(self._get_id_token())  # RS256 only, with a kid
        return self

    def validate_nonce(self) -> ProctorMessageLaunch:
        if not isinstance(self._jwt["body"].get("nonce"), str) or not self._jwt["body"]["nonce"]:
            raise _refuse("missing_nonce",
                          _("The launch token lacks its required “%(claim)s” claim.")
                          % {"claim": "nonce"})
        try:
            super().validate_nonce()
        except LtiException:
            raise _refuse("nonce_mismatch",
                          _("This launch does not belong to this sign-in.")) from None
        return self

    def get_client_id(self) -> str | None:
        """Which client the token is for: `azp` when present (OIDC), else the one `aud`.

        pylti1p3 takes aud[0], so a token for [other-tool, us] looked like other-tool's.
        """
        body = self._jwt.get("body", {})
        if "azp" in body:
            return str(body["azp"])
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud] if aud else []
        if len(audiences) > 1:
            raise _refuse("missing_azp", _("The launch names several audiences but no azp."))
        return str(audiences[0]) if audiences else None

    def validate_registration(self) -> ProctorMessageLaunch:
        body = self._jwt["body"]
        for claim in ("iss", "aud"):
            if not body.get(claim):
                raise _refuse(f"missing_{claim}",
                              _("The launch token lacks its required “%(claim)s” claim.")
                              % {"claim": claim})
        if body["iss"] != self.platform.issuer:
            raise _refuse("wrong_issuer", _("This launch comes from an unexpected LMS."))
        try:
            super().validate_registration()
        except LtiException:
            if "azp" in body:
                raise _refuse("wrong_azp",
                              _("This launch was authorised for another tool (azp).")) from None
            raise _refuse("wrong_audience",
                          _("This launch was meant for another tool.")) from None
        return self

    def get_public_key(self) -> tuple[Any, str]:
        """The platform key for the token's kid, refetched once (rate-limited) on a miss."""
        return platform_public_key(platform=self.platform,
                                   kid=self._jwt["header"]["kid"]), "RS256"

    def validate_jwt_signature(self) -> ProctorMessageLaunch:
        key, _alg = self.get_public_key()
        self._jwt["body"] = claims_verify(id_token=self._get_id_token(), key=key,
                                          platform=self.platform)
        return self

    def validate_deployment(self) -> ProctorMessageLaunch:
        deployment_id = self._jwt["body"].get(LTI + "deployment_id")
        if not isinstance(deployment_id, str) or not deployment_id:
            raise _refuse("missing_deployment_id", _("The launch does not name its deployment."),
                          status=400)
        try:
            super().validate_deployment()
        except LtiException:
            raise unknown_deployment(platform=self.platform,
                                     deployment_id=deployment_id) from None
        return self

    def validate_message(self) -> ProctorMessageLaunch:
        body = self._jwt["body"]
        message_check(body)  # precise codes for what the tool needs of each message type
        validators = [v for v in MESSAGE_VALIDATORS if v.can_validate(body)]
        if len(validators) != 1:
            raise _refuse("wrong_message_type",
                          _("This kind of launch is not supported by the proctoring tool."),
                          hint=ADMIN_HINT, status=400)
        validators[0].validate(body)  # pylti1p3's LtiException becomes invalid_launch
        return self

    def save_launch_data(self) -> ProctorMessageLaunch:
        """Last step, so only a token valid in every other way uses its nonce up.

        The launch itself is cached by launch.launch_complete (with the user and context it
        created), not in pylti1p3's session storage.
        """
        body = self._jwt["body"]
        nonce_consume(issuer=self.platform.issuer, nonce=body["nonce"],
                      expires_at=float(body["exp"]) + settings.LTI_CLOCK_LEEWAY_SECONDS)
        return self


def id_token_validate(*, id_token: str, platform: Platform, nonce: str, state: str,
                      cookies: dict[str, str] | None = None,
                      state_confirmed: bool = False) -> dict[str, Any]:
    """Validate one launch; return its verified claims or raise LaunchError.

    `state_confirmed`: the browser proved the state through LTI Platform Storage; otherwise
    the state cookie in `cookies` must match.
    """
    launch = ProctorMessageLaunch(platform=platform, id_token=id_token, state=state,
                                  nonce=nonce, cookies=cookies, state_confirmed=state_confirmed)
    launch.validate()
    return dict(launch.get_launch_data())
