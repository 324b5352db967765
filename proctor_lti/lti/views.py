"""LTI 1.3 login, launch and key set. Thin: the work is in oidc, message_launch and launch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from proctor_lti.core.errors import UserFacingError, error_page

from .errors import launch_error
from .keys import tool_jwks
from .launch import launch_complete
from .message_launch import id_token_validate
from .models import Platform
from .oidc import (
    login_start,
    login_state_forget,
    login_state_get,
    platform_origins,
    state_cookie_matches,
    state_cookie_set,
    storage_check_issue,
    storage_check_take,
)

logger = logging.getLogger(__name__)
JWKS_MAX_AGE_SECONDS = 3600


def lti_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """CSRF-exempt (the platform posts cross-site), never cached, errors as 4xx pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "POST"):
            return error_page(request, launch_error("method_not_allowed",
                                                    _("This address accepts GET or POST."),
                                                    status=405))
        try:
            return view(request, *args, **kwargs)
        except UserFacingError as error:
            return error_page(request, error)

    return csrf_exempt(never_cache(wrapper))


@lti_endpoint
def login(request: HttpRequest) -> HttpResponse:
    """OIDC third-party login initiation (GET or POST from the platform)."""
    params = {k: v for k, v in (request.POST if request.method == "POST" else request.GET).items()}
    start = login_start(params=params,
                        redirect_uri=request.build_absolute_uri(reverse("lti:launch")))
    if start.storage_target:
        response = render(request, "lti/platform_storage.html", {
            "storage": {
                "mode": "put",
                "target": start.storage_target,
                "state": start.state,
                "nonce": start.nonce,
                "next": start.auth_url,
                "origins": platform_origins(start.platform),
            },
            "next_url": start.auth_url,
        })
    else:
        response = HttpResponseRedirect(start.auth_url)
    state_cookie_set(response, start.state)
    return response


@lti_endpoint
def launch(request: HttpRequest) -> HttpResponse:
    """The platform's form_post of id_token + state: validate, then hand to the exam flow."""
    if request.method != "POST":
        raise launch_error("method_not_allowed",
                           _("Launches must be posted by the LMS."), status=405)
    id_token = request.POST.get("id_token", "")
    state = request.POST.get("state", "")
    if not id_token or not state:
        raise launch_error("bad_launch_request",
                           _("The LMS sent an incomplete launch (id_token or state missing)."))
    entry = login_state_get(state)
    if entry is None:
        raise launch_error("unknown_state",
                           _("This launch does not match a sign-in we started, or it expired."),
                           status=401)
    storage_confirmed = False
    if not state_cookie_matches(request.COOKIES, state):
        check = request.POST.get("lti_storage_check", "")
        if check:
            if not (storage_check_take(check, state)
                    and request.POST.get("lti_storage_value") == state):
                raise launch_error("state_mismatch",
                                   _("The sign-in could not be confirmed by your LMS."),
                                   status=401)
            storage_confirmed = True
        elif entry["storage_target"]:
            return _storage_get_page(request, entry, id_token=id_token, state=state)
        else:
            return _cookies_blocked_page(request, entry)
    login_state_forget(state)
    platform = Platform.objects.filter(pk=entry["platform_id"], is_active=True).first()
    if platform is None:
        raise launch_error("unknown_platform", _("This LMS is no longer registered."))
    # One transaction for the used nonce and the launch's writes: one commit per launch. The
    # nonce still cannot be replayed if the writes fail: its state was used up above.
    with transaction.atomic():
        claims = id_token_validate(id_token=id_token, platform=platform, nonce=entry["nonce"],
                                   state=state, cookies=request.COOKIES,
                                   state_confirmed=storage_confirmed)
        launch_data = launch_complete(request=request, platform=platform, claims=claims)
    logger.info("lti launch %s platform=%s type=%s", launch_data.launch_id, platform.pk,
                launch_data.message_type)
    from proctor_lti.exams import entry as exam_entry

    response = exam_entry.handle_launch(request, launch_data)
    state_cookie_set(response, state, max_age=0)  # used up: let the browser drop it
    return response


def _relaunch_url(request: HttpRequest, entry: dict[str, Any]) -> str:
    return f"{reverse('lti:login')}?{urlencode(entry['relaunch'])}" if entry["relaunch"] else ""


def _storage_get_page(request: HttpRequest, entry: dict[str, Any], *, id_token: str,
                      state: str) -> HttpResponse:
    """No cookie came back: ask the platform's storage frame for the state (lti.get_data)."""
    platform = Platform.objects.filter(pk=entry["platform_id"]).first()
    return render(request, "lti/platform_storage.html", {
        "storage": {
            "mode": "get",
            "target": entry["storage_target"],
            "state": state,
            "origins": platform_origins(platform) if platform else [],
        },
        "post_fields": {"id_token": id_token, "state": state,
                        "lti_storage_check": storage_check_issue(state)},
        "relaunch_url": _relaunch_url(request, entry),
    })


def _cookies_blocked_page(request: HttpRequest, entry: dict[str, Any]) -> HttpResponse:
    error = launch_error(
        "missing_state_cookie",
        _("Your browser did not keep the sign-in cookie for this exam tool."),
        hint=_("Browsers that block third-party cookies stop tools embedded in your course. "
               "Open the exam in a new window, or allow cookies for this site."),
        status=401,
    )
    logger.warning("user-facing error %s code=%s status=%s path=%s", error.error_id,
                   error.code, error.status, request.path)
    return render(request, "lti/cookies_blocked.html", {
        "error": error, "error_id": error.error_id,
        "relaunch_url": _relaunch_url(request, entry),
    }, status=error.status)


@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """The tool's public keys (active and next), cacheable for an hour."""
    response = JsonResponse(tool_jwks())
    response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
