"""The upload hot path's writes as a few plain SQL statements (PostgreSQL and SQLite 3.35+).

Every student sends two chunks and an event batch every few seconds, so these statements run
hundreds of times a second on one machine. Through the ORM a chunk took ~18 statements and
most of its CPU went into building them (profiled: over half of a request in the ORM); here
a chunk is one INSERT ... ON CONFLICT DO NOTHING, one UPDATE and one upsert of its segment
(which also locks the segment row, as select_for_update did), plus a completeness count when
the segment may be complete. The INSERT column lists and values come from the models
(defaults and auto_now included), so a field added to a model is picked up here; only the
upsert's merge rules are written out, and they are the rules of services._segment_note.

Only identifiers (quoted table and column names from the models) are put into the SQL text;
every value is a query parameter.
"""
# ruff: noqa: S608  (see above: the formatted parts are quoted identifiers, never values)

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.utils import timezone

from proctor_lti.exams.models import AttemptEvent

from .models import Chunk, Recording, Segment

OPEN, STORED = Segment.Status.OPEN.value, Segment.Status.STORED.value


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _insert_fields(model: type[models.Model]) -> tuple[list[models.Field], str]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(_q(f.column) for f in fields)
    return fields, f"INSERT INTO {_q(model._meta.db_table)} ({columns}) VALUES "


def _insert(objs: Sequence[models.Model], tail: str, params: Sequence[Any] = ()) -> list[tuple]:
    """INSERT the unsaved model instances in one statement, then `tail` (ON CONFLICT ...)."""
    fields, head = _insert_fields(type(objs[0]))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values: list[Any] = []
    for obj in objs:
        values += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(head + ", ".join([row] * len(objs)) + " " + tail, [*values, *params])
        return cursor.fetchall()


def chunk_insert(chunk: Chunk) -> bool:
    """Insert the chunk's row unless its (recording, seq) exists; sets chunk.pk when it did."""
    rows = _insert([chunk], f"ON CONFLICT ({_q('recording_id')}, {_q('seq')}) DO NOTHING "
                            f"RETURNING {_q('id')}")
    if not rows:
        return False
    chunk.pk = rows[0][0]
    chunk._state.adding = False
    return True


def recording_add_bytes(recording_id: int, size: int) -> None:
    table = _q(Recording._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {_q('bytes_stored')} = {_q('bytes_stored')} + %s "
                       f"WHERE {_q('id')} = %s", [size, recording_id])


class SegmentState(NamedTuple):
    id: int
    index: int
    status: str
    first_seq: int | None
    final_seq: int | None


_SEGMENT_COLUMNS = ", ".join(_q(c) for c in ("id", "index", "status", "first_seq", "final_seq"))


@cache
def _segment_upsert_tail() -> str:
    t = _q(Segment._meta.db_table)
    first, final, status = _q("first_seq"), _q("final_seq"), _q("status")
    # Earlier header chunk wins first_seq (and its start time); a later final chunk wins
    # final_seq; a segment already analysed (or being analysed) is reopened as STORED with its
    # observations dropped, so the late chunk is analysed with the rest.
    lower_header = (f"excluded.{first} IS NOT NULL AND "
                    f"({t}.{first} IS NULL OR excluded.{first} < {t}.{first})")
    still_open = f"{t}.{status} IN (%s, %s)"
    return (
        f"ON CONFLICT ({_q('recording_id')}, {_q('index')}) DO UPDATE SET "
        f"{first} = CASE WHEN {lower_header} THEN excluded.{first} ELSE {t}.{first} END, "
        f"{_q('start_s')} = CASE WHEN {lower_header} AND %s = 1 THEN excluded.{_q('start_s')} "
        f"ELSE {t}.{_q('start_s')} END, "
        f"{final} = CASE WHEN excluded.{final} IS NOT NULL AND "
        f"({t}.{final} IS NULL OR excluded.{final} > {t}.{final}) "
        f"THEN excluded.{final} ELSE {t}.{final} END, "
        f"{status} = CASE WHEN {still_open} THEN {t}.{status} ELSE %s END, "
        f"{_q('observations')} = CASE WHEN {still_open} THEN {t}.{_q('observations')} "
        f"ELSE NULL END, "
        f"{_q('updated_at')} = excluded.{_q('updated_at')} "
        f"RETURNING {_SEGMENT_COLUMNS}"
    )


def segment_upsert(*, recording_id: int, index: int, seq: int, header: bool, final: bool,
                   start_s: float | None) -> SegmentState:
    """Create or update (and lock, until the transaction ends) the chunk's segment."""
    segment = Segment(recording_id=recording_id, index=index,
                      first_seq=seq if header else None, final_seq=seq if final else None)
    if header and start_s is not None:
        segment.start_s = start_s
    has_start = int(header and start_s is not None)
    [row] = _insert([segment], _segment_upsert_tail(),
                    [has_start, OPEN, STORED, STORED, OPEN, STORED])
    return SegmentState(*row)


def segment_previous_open(*, recording_id: int, index: int) -> SegmentState | None:
    """The nearest OPEN segment before `index` (a new header chunk may complete it)."""
    t = _q(Segment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_SEGMENT_COLUMNS} FROM {t} WHERE {_q('recording_id')} = %s "
                       f"AND {_q('index')} < %s AND {_q('status')} = %s "
                       f"ORDER BY {_q('index')} DESC LIMIT 1", [recording_id, index, OPEN])
        row = cursor.fetchone()
    return SegmentState(*row) if row else None


def segment_is_complete(*, recording_id: int, segment: SegmentState) -> bool:
    """Header chunk and last chunk known, and every seq between them present.

    The last chunk is the one marked final, or else the one before the next segment's header.
    One statement: the end and the count of chunks up to it.
    """
    if segment.first_seq is None:
        return False
    s, c = _q(Segment._meta.db_table), _q(Chunk._meta.db_table)
    rec, idx, first, seq = _q("recording_id"), _q("index"), _q("first_seq"), _q("seq")
    sql = (
        f"SELECT e.last, (SELECT COUNT(*) FROM {c} WHERE {c}.{rec} = %s "
        f"AND {c}.{_q('segment_index')} = %s AND {c}.{seq} >= %s AND {c}.{seq} <= e.last) "
        f"FROM (SELECT COALESCE(%s, (SELECT {s}.{first} - 1 FROM {s} WHERE {s}.{rec} = %s "
        f"AND {s}.{idx} > %s AND {s}.{first} IS NOT NULL ORDER BY {s}.{idx} LIMIT 1)) AS last) e"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [recording_id, segment.index, segment.first_seq, segment.final_seq,
                             recording_id, segment.index])
        last, have = cursor.fetchone()
    if last is None or last < segment.first_seq:
        return False
    return have == last - segment.first_seq + 1


def segment_close(segment_id: int) -> None:
    """OPEN -> STORED (a no-op if something else moved it meanwhile)."""
    t = _q(Segment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {t} SET {_q('status')} = %s, {_q('updated_at')} = %s "
                       f"WHERE {_q('id')} = %s AND {_q('status')} = %s",
                       [STORED, connection.ops.adapt_datetimefield_value(timezone.now()),
                        segment_id, OPEN])


def events_insert(events: list[AttemptEvent]) -> int:
    """Insert the events whose (attempt, client_event_id) is new; returns how many were."""
    fields, _ = _insert_fields(AttemptEvent)
    batch = max(1, (connection.features.max_query_params or 30_000) // len(fields))
    tail = (f"ON CONFLICT ({_q('attempt_id')}, {_q('client_event_id')}) DO NOTHING "
            f"RETURNING {_q('id')}")
    if len(events) <= batch:  # one statement: atomic on its own
        return len(_insert(events, tail))
    with transaction.atomic():
        return sum(len(_insert(events[i:i + batch], tail)) for i in range(0, len(events), batch))
