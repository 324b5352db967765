"""The upload hot path's writes as a few plain SQL statements (PostgreSQL and SQLite 3.35+).

Every student sends two chunks and an event batch every few seconds, so these statements run
hundreds of times a second on one machine. Through the ORM a chunk took ~18 statements and
most of its CPU went into building them (profiled: over half of a request in the ORM). Here,
on PostgreSQL, a chunk is recorded by one statement (the chunk's INSERT ... ON CONFLICT DO
NOTHING, the stream's byte count and the upsert of its segment, in CTEs), then one
completeness count; on SQLite the same steps run as separate statements in a transaction.
The INSERT column lists and values come from the models (defaults and auto_now included),
so a field added to a model is picked up here; only the upsert's merge rules are written
out (_segment_upsert_tail; services._segments_close decides what closes).

Only identifiers (quoted table and column names from the models) are put into the SQL text;
every value is a query parameter.
"""
# ruff: noqa: S608  (see above: the formatted parts are quoted identifiers, never values)

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone

from proctor_lti.exams.models import AttemptEvent

from .models import Chunk, Recording, Segment

OPEN, STORED = Segment.Status.OPEN.value, Segment.Status.STORED.value


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _cursor():  # type: ignore[no-untyped-def]
    """A cursor for these statements: on PostgreSQL one that binds parameters on the server,
    so that psycopg prepares the statements (settings: prepare_threshold) and PostgreSQL
    stops planning them again on every request; the ORM keeps Django's client-side binding.
    Still wrapped by Django (query logging, errors as django.db errors)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    return db._prepare_cursor(_preparing_cursor_class()(db.connection))


@cache
def _preparing_cursor_class():  # type: ignore[no-untyped-def]
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        def _send_query_prepared(self, name, pgq, *, binary=None):  # type: ignore[no-untyped-def]
            # psycopg remembers the query it sent only on the unprepared path; Django's
            # query log (last_executed_query) reads it, so remember prepared ones too.
            self._query = pgq
            super()._send_query_prepared(name, pgq, binary=binary)

    return PreparingCursor


_NOW = object()
# (field, default, plain type): see _insert_plan and _plain_type
Plan = list[tuple[models.Field, Any, type | None]]


# Fields whose database value is the Python value itself when it already has this exact type
# (get_db_prep_save would only call int(), str() or float() on it again, and the backends'
# adapt_*field_value return these unchanged): a chunk's row skips Django's conversion chain,
# which was a tenth of the Python time of recording it. Any other type, or field, converts.
_PLAIN_TYPES: tuple[tuple[type[models.Field], type], ...] = (
    (models.BooleanField, bool), (models.IntegerField, int), (models.FloatField, float),
    (models.CharField, str), (models.TextField, str))


def _plain_type(field: models.Field) -> type | None:
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    for field_class, python_type in _PLAIN_TYPES:
        if isinstance(target, field_class):
            return python_type
    return None


@cache
def _insert_plan(model: type[models.Model]) -> tuple[Plan, str]:
    """(field, default, plain type) for every column and the INSERT head. Defaults that are
    the same on every row (constants, empty lists or dicts) are prepared once; auto_now
    fields get now."""
    plan: Plan = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default = _NOW
        elif not callable(field.default) or field.default in (list, dict):
            default = field.get_db_prep_save(field.get_default(), connection)
        else:
            default = None  # a callable default: called for each row
        plan.append((field, default, _plain_type(field)))
    columns = ", ".join(_q(f.column) for f, *_ in plan)
    return plan, f"INSERT INTO {_q(model._meta.db_table)} ({columns}) VALUES "


def _values(plan: Plan, row: dict[str, Any], now: Any) -> list[Any]:
    values: list[Any] = []
    for field, default, python_type in plan:
        if field.attname in row:
            value = row[field.attname]
            if python_type is not None and (value is None or type(value) is python_type):
                values.append(value)
            else:
                values.append(field.get_db_prep_save(value, connection))
        elif default is _NOW:
            values.append(now)
        elif default is None and callable(field.default):
            values.append(field.get_db_prep_save(field.get_default(), connection))
        else:
            values.append(default)
    return values


def _insert(model: type[models.Model], rows: Sequence[dict[str, Any]], tail: str,
            params: Sequence[Any] = ()) -> list[tuple]:
    """INSERT rows ({attname: value}, the model's defaults for the rest) in one statement,
    followed by `tail` (ON CONFLICT ...)."""
    plan, head = _insert_plan(model)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    values: list[Any] = []
    for row in rows:
        values += _values(plan, row, now)
    placeholders = "(" + ", ".join(["%s"] * len(plan)) + ")"
    with _cursor() as cursor:
        cursor.execute(head + ", ".join([placeholders] * len(rows)) + " " + tail,
                       [*values, *params])
        return cursor.fetchall()


def _chunk_row(chunk: Chunk) -> dict[str, Any]:
    return {name: getattr(chunk, name) for name in (
        "recording_id", "seq", "segment_index", "size", "sha256", "storage_name", "start_s")}


@cache
def _chunk_insert_tail() -> str:
    return f"ON CONFLICT ({_q('recording_id')}, {_q('seq')}) DO NOTHING RETURNING {_q('id')}"


def chunk_insert(chunk: Chunk) -> bool:
    """Insert the chunk's row unless its (recording, seq) exists; sets chunk.pk when it did."""
    rows = _insert(Chunk, [_chunk_row(chunk)], _chunk_insert_tail())
    if not rows:
        return False
    chunk.pk = rows[0][0]
    chunk._state.adding = False
    return True


@cache
def _statement(name: str) -> str:
    """The hot path's other statements, built once (quoted names from the models)."""
    s, c, r = (_q(m._meta.db_table) for m in (Segment, Chunk, Recording))
    rec, idx, first, seq = _q("recording_id"), _q("index"), _q("first_seq"), _q("seq")
    status, updated = _q("status"), _q("updated_at")
    return {
        "recording_add_bytes": f"UPDATE {r} SET {_q('bytes_stored')} = {_q('bytes_stored')} + %s "
                               f"WHERE {_q('id')} = %s",
        "segment_previous_open": f"SELECT {_segment_columns()} FROM {s} WHERE {rec} = %s "
                                 f"AND {idx} < %s AND {status} = %s ORDER BY {idx} DESC LIMIT 1",
        # The end (the final chunk, or the one before the next segment's header) and the
        # number of the segment's chunks from its header to that end.
        "segment_end_and_count": (
            f"SELECT e.last, (SELECT COUNT(*) FROM {c} WHERE {c}.{rec} = %s "
            f"AND {c}.{_q('segment_index')} = %s AND {c}.{seq} >= %s AND {c}.{seq} <= e.last) "
            f"FROM (SELECT COALESCE(%s, (SELECT {s}.{first} - 1 FROM {s} WHERE {s}.{rec} = %s "
            f"AND {s}.{idx} > %s AND {s}.{first} IS NOT NULL ORDER BY {s}.{idx} LIMIT 1)) "
            f"AS last) e"),
        "segment_set_status": f"UPDATE {s} SET {status} = %s, {updated} = %s "
                              f"WHERE {_q('id')} = %s AND {status} = %s",
        "segment_mark_queued": f"UPDATE {s} SET {status} = %s, {_q('queued_at')} = %s, "
                               f"{updated} = %s WHERE {_q('id')} = %s AND {status} = %s",
    }[name]


def _run(name: str, params: Sequence[Any]) -> tuple | None:
    with _cursor() as cursor:
        cursor.execute(_statement(name), params)
        return cursor.fetchone() if cursor.description else None


def recording_add_bytes(recording_id: int, size: int) -> None:
    _run("recording_add_bytes", [size, recording_id])


class SegmentState(NamedTuple):
    id: int
    index: int
    status: str
    first_seq: int | None
    final_seq: int | None


@cache
def _segment_columns() -> str:
    return ", ".join(_q(c) for c in SegmentState._fields)


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
        f"RETURNING {_segment_columns()}"
    )


def _segment_row(chunk: Chunk, *, header: bool, final: bool) -> tuple[dict[str, Any], list]:
    """The segment row a chunk implies and the upsert tail's parameters."""
    has_start = header and chunk.start_s is not None
    segment = {"recording_id": chunk.recording_id, "index": chunk.segment_index,
               "first_seq": chunk.seq if header else None,
               "final_seq": chunk.seq if final else None}
    if has_start:
        segment["start_s"] = chunk.start_s
    return segment, [int(has_start), OPEN, STORED, STORED, OPEN, STORED]


def segment_upsert(chunk: Chunk, *, header: bool, final: bool) -> SegmentState:
    """Create or update (and lock, until the transaction ends) the chunk's segment."""
    segment, params = _segment_row(chunk, header=header, final=final)
    [row] = _insert(Segment, [segment], _segment_upsert_tail(), params)
    return SegmentState(*row)


@cache
def _chunk_record_sql() -> str:
    chunk_plan, chunk_head = _insert_plan(Chunk)
    segment_plan, _ = _insert_plan(Segment)
    r, s = _q(Recording._meta.db_table), _q(Segment._meta.db_table)
    chunk_values = ", ".join(["%s"] * len(chunk_plan))
    # Typed, because a SELECT list does not take its types from the target columns.
    segment_values = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f, *_ in segment_plan)
    segment_columns = ", ".join(_q(f.column) for f, *_ in segment_plan)
    return (
        f"WITH c AS ({chunk_head}({chunk_values}) {_chunk_insert_tail()}), "
        f"r AS (UPDATE {r} SET {_q('bytes_stored')} = {_q('bytes_stored')} + %s "
        f"WHERE {_q('id')} = %s AND EXISTS (SELECT 1 FROM c)), "
        f"s AS (INSERT INTO {s} ({segment_columns}) SELECT {segment_values} "
        f"WHERE EXISTS (SELECT 1 FROM c) {_segment_upsert_tail()}) "
        f"SELECT c.{_q('id')}, s.* FROM c LEFT JOIN s ON true"
    )


def chunk_record(chunk: Chunk, *, header: bool, final: bool) -> SegmentState | None:
    """PostgreSQL: chunk_insert, recording_add_bytes and segment_upsert as one statement,
    atomic on its own (no BEGIN/COMMIT round trips). None when the seq was already stored
    (a concurrent upload won), and then nothing changed; else sets chunk.pk."""
    plan, _ = _insert_plan(Chunk)
    segment_plan, _ = _insert_plan(Segment)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    segment, tail_params = _segment_row(chunk, header=header, final=final)
    params = [*_values(plan, _chunk_row(chunk), now), chunk.size, chunk.recording_id,
              *_values(segment_plan, segment, now), *tail_params]
    with _cursor() as cursor:
        cursor.execute(_chunk_record_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    chunk.pk = row[0]
    chunk._state.adding = False
    return SegmentState(*row[1:])


def segment_previous_open(*, recording_id: int, index: int) -> SegmentState | None:
    """The nearest OPEN segment before `index` (a new header chunk may complete it)."""
    row = _run("segment_previous_open", [recording_id, index, OPEN])
    return SegmentState(*row) if row else None


def segment_is_complete(*, recording_id: int, segment: SegmentState) -> bool:
    """Header chunk and last chunk known, and every seq between them present.

    The last chunk is the one marked final, or else the one before the next segment's header.
    One statement: the end and the count of chunks up to it.
    """
    if segment.first_seq is None:
        return False
    last, have = _run("segment_end_and_count", [  # type: ignore[misc]
        recording_id, segment.index, segment.first_seq, segment.final_seq, recording_id,
        segment.index])
    if last is None or last < segment.first_seq:
        return False
    return have == last - segment.first_seq + 1


def segment_close(segment_id: int) -> None:
    """OPEN -> STORED (a no-op if something else moved it meanwhile)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    _run("segment_set_status", [STORED, now, segment_id, OPEN])


def segment_mark_queued(segment_id: int) -> None:
    """STORED -> QUEUED, once the broker has the analysis task."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    _run("segment_mark_queued", [Segment.Status.QUEUED.value, now, now, segment_id, STORED])


def events_insert(events: list[dict[str, Any]]) -> int:
    """Insert the events ({attname: value}) whose (attempt, client_event_id) is new; returns
    how many were."""
    plan, _ = _insert_plan(AttemptEvent)
    batch = max(1, (connection.features.max_query_params or 30_000) // len(plan))
    tail = (f"ON CONFLICT ({_q('attempt_id')}, {_q('client_event_id')}) DO NOTHING "
            f"RETURNING {_q('id')}")
    if len(events) <= batch:  # one statement: atomic on its own
        return len(_insert(AttemptEvent, events, tail))
    with transaction.atomic():
        return sum(len(_insert(AttemptEvent, events[i:i + batch], tail))
                   for i in range(0, len(events), batch))
