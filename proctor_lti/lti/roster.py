"""The course roster from NRPS, mirrored into Membership rows (review: "who has not started")."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Context, LtiIdentity, Membership
from .service_clients import Member, nrps_fetch_members

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RosterSyncResult:
    added: int
    updated: int
    removed: int
    members: int


def _username_for(platform_pk: int, sub: str) -> str:
    return f"lti{platform_pk}-{hashlib.sha256(sub.encode()).hexdigest()[:24]}"


def _display_name(member: Member) -> str:
    name = member.name or " ".join(p for p in (member.given_name, member.family_name) if p)
    return name[:255]


def _identities_for(context: Context, members: list[Member]) -> dict[str, LtiIdentity]:
    """sub -> identity for every member, creating the missing ones in bulk.

    A launch is the better source for names; the roster only fills gaps of known identities.
    """
    platform = context.platform
    found = {
        i.sub: i
        for i in LtiIdentity.objects.filter(platform=platform, sub__in=[m.user_id for m in members])
    }
    fill: list[LtiIdentity] = []
    for member in members:
        identity = found.get(member.user_id)
        if identity is None:
            continue
        changed = False
        for name, value in (("name", _display_name(member)), ("email", member.email)):
            if value and not getattr(identity, name):
                setattr(identity, name, value)
                changed = True
        if changed:
            fill.append(identity)
    if fill:
        LtiIdentity.objects.bulk_update(fill, ["name", "email"])
    new = [m for m in members if m.user_id not in found]
    if new:
        user_model = get_user_model()
        users = []
        for member in new:
            user = user_model(
                username=_username_for(platform.pk, member.user_id),
                email=member.email,
                first_name=member.given_name[:150],
                last_name=member.family_name[:150],
            )
            user.set_unusable_password()
            users.append(user)
        users = user_model.objects.bulk_create(users)
        created = LtiIdentity.objects.bulk_create(
            [
                LtiIdentity(
                    platform=platform, sub=m.user_id, user=u, name=_display_name(m), email=m.email
                )
                for m, u in zip(new, users, strict=True)
            ]
        )
        found.update({i.sub: i for i in created})
    return found


def _apply(context: Context, members: list[Member]) -> tuple[int, int, int]:
    identities = _identities_for(context, members)
    existing = {m.user_id: m for m in Membership.objects.filter(context=context)}
    add: list[Membership] = []
    change: list[Membership] = []
    keep: set[int] = set()
    for member in members:
        user_id = identities[member.user_id].user_id
        keep.add(user_id)
        membership = existing.get(user_id)
        if membership is None:
            add.append(
                Membership(
                    context=context, user_id=user_id, role=member.role, lti_roles=list(member.roles)
                )
            )
        elif membership.role != member.role or membership.lti_roles != list(member.roles):
            membership.role = member.role
            membership.lti_roles = list(member.roles)
            membership.updated_at = timezone.now()  # bulk_update skips auto_now
            change.append(membership)
    Membership.objects.bulk_create(add)
    Membership.objects.bulk_update(change, ["role", "lti_roles", "updated_at"])
    stale = [
        m.pk for uid, m in existing.items() if uid not in keep and m.role != Membership.Role.ADMIN
    ]
    Membership.objects.filter(pk__in=stale).delete()
    return len(add), len(change), len(stale)


def roster_sync(context: Context) -> RosterSyncResult:
    """Refresh the Membership rows of `context` from the platform's NRPS roster.

    Active members are added or updated (role from their LTI roles); memberships of people the
    roster no longer lists as active are removed, except administrators (institution admins
    are rarely enrolled, and their next launch restores them anyway). Raises LtiServiceError.
    Bulk queries: a 1,000-person course is a handful of statements.
    """
    members = nrps_fetch_members(context)
    active = [m for m in members if m.is_active and m.role]
    for attempt in range(2):
        try:
            with transaction.atomic():
                added, updated, removed = _apply(context, active)
            break
        except IntegrityError:
            # A launch created the same identity or membership meanwhile: once more sees it.
            if attempt:
                raise
    cache.set(_synced_key(context.pk), timezone.now().isoformat(), None)
    logger.info(
        "roster of context %s: %d members, +%d ~%d -%d",
        context.pk,
        len(members),
        added,
        updated,
        removed,
    )
    return RosterSyncResult(added=added, updated=updated, removed=removed, members=len(members))


def _synced_key(context_pk: int) -> str:
    return f"lti:roster-synced:{context_pk}"


def roster_synced_at(context: Context) -> datetime | None:
    """When the roster of `context` was last refreshed from NRPS (None: never, or forgotten)."""
    value = cache.get(_synced_key(context.pk))
    return datetime.fromisoformat(value) if value else None


def roster_sync_enqueue(context: Context, *, max_age_s: int = 900) -> bool:
    """Queue a background roster refresh when the last one is older than `max_age_s`.

    Cheap enough to call on every dashboard view: at most one refresh is queued per context
    and period (cache lock), and only for courses whose platform offers NRPS.
    """
    if not context.nrps_url:
        return False
    synced = roster_synced_at(context)
    if synced and (timezone.now() - synced).total_seconds() < max_age_s:
        return False
    if not cache.add(f"lti:roster-queued:{context.pk}", 1, max_age_s):
        return False
    from .tasks import lti_roster_sync

    transaction.on_commit(lambda: lti_roster_sync.delay(context.pk))
    return True


def roster_refresh_in_background(context: Context) -> None:
    """For pages that list the class (review overview, accommodations): queue a refresh when
    stale, never block, never fail the page (a broker outage keeps the last known roster)."""
    try:
        roster_sync_enqueue(context)
    except Exception:
        logger.warning("could not queue a roster refresh for context %s", context.pk,
                       exc_info=True)
