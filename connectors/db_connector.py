"""The database connector: export and erase a subject's rows in another PostgreSQL database,
as its mapping (mapping.py) says, and the dry run that checks a mapping against that database.

Every SQL statement is composed with psycopg.sql (names quoted as identifiers, values bound as
parameters), so a mapping cannot inject SQL. An erasure runs in one transaction on the target:
all tables or none. Errors are reported by type and code only; PostgreSQL's messages quote row
values, so they are never passed on.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import os
import uuid
from collections.abc import Iterator
from collections.abc import Mapping as MappingType
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from psycopg import sql

from core import outbound
from core.registry import Strategy

from .mapping import NEEDS_TYPE, Mapping, TableMapping, TableRef

CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_MS = 60_000


class ConnectorDatabaseError(Exception):
    """The target database failed; `code` names the error's type, never its message.

    `transient`: worth retrying (unreachable, a lost connection, a statement timeout), unlike
    an error a retry cannot fix (a constraint the mapping's erasure breaks).
    """

    def __init__(self, code: str, *, transient: bool = True) -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient


def _failed(exc: psycopg.Error) -> ConnectorDatabaseError:
    return ConnectorDatabaseError(
        type(exc).__name__, transient=isinstance(exc, psycopg.OperationalError)
    )


# What a DSN may set. Paths (the certificate files) only inside OUTBOUND_DATABASE_FILE_DIRS;
# never a password or service file, nor `options` (server settings are the connector's own).
DSN_PARAMETERS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "sslmode",
        "connect_timeout",
        "target_session_attrs",
        "gssencmode",
        "channel_binding",
        "sslcompression",
        "application_name",
    }
)
DSN_FILE_PARAMETERS = frozenset({"sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir"})


def _dsn_parameters(dsn: str) -> dict[str, str]:
    """The DSN's parameters, under the outbound address policy's rules for databases:
    ValidationError naming the rule (never the DSN, which holds a password)."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ValidationError("The DSN is malformed (use postgresql://user@host:port/db).") from exc
    values = {name: str(value) for name, value in params.items() if value is not None}
    unknown = sorted(set(values) - DSN_PARAMETERS - DSN_FILE_PARAMETERS)
    if unknown:
        raise ValidationError(
            f"The DSN may not set {', '.join(unknown)}: a database connector takes the host, "
            "port, database, user, password and TLS settings only."
        )
    allowed_dirs = [Path(d).resolve() for d in settings.OUTBOUND_DATABASE_FILE_DIRS]
    for name in sorted(DSN_FILE_PARAMETERS & set(values)):
        path = Path(values[name]).resolve()
        if not any(path.is_relative_to(d) for d in allowed_dirs):
            raise ValidationError(
                f"The DSN's {name} must be a file in a directory named in "
                "OUTBOUND_DATABASE_FILE_DIRS."
            )
    host = values.get("host", "")
    if not host or "," in host or "," in values.get("hostaddr", ""):
        raise ValidationError(
            "The DSN must name exactly one host (host=... or postgresql://host/)."
        )
    if host.startswith("/") or host.startswith("@"):
        raise ValidationError("The DSN may not connect through a Unix socket: name a host.")
    if not values.get("dbname"):
        raise ValidationError("The DSN names no database.")
    return values


def _checked_address(values: MappingType[str, str]) -> str:
    """The one address to connect to, allowed by the outbound address policy."""
    raw_port = values.get("port") or "5432"
    port = int(raw_port) if raw_port.isdigit() else 0
    if not 0 < port < 65536:
        raise ValidationError("The DSN's port is not a number from 1 to 65535.")
    try:
        if values.get("hostaddr"):
            problem = outbound.address_problem(values["hostaddr"])
            if problem is not None and not outbound.host_allowed(values["host"]):
                raise outbound.AddressRefused(problem)
            return values["hostaddr"]
        return outbound.resolve(values["host"], port)[0]
    except outbound.AddressRefused as refused:
        raise ValidationError(
            f"{refused} To reach a database on the portal's own network on purpose, name its "
            "host in OUTBOUND_ALLOWED_HOSTS (docs/operations.md, Security model)."
        ) from None
    except ValueError:  # ipaddress's: the hostaddr is no IP address
        raise ValidationError("The DSN's hostaddr is not an IP address.") from None
    except outbound.HostUnresolved:
        raise ValidationError("The DSN's host name does not resolve.") from None


def check_dsn(dsn: str) -> None:
    """A DSN's form and address under the outbound policy (not whether it answers);
    ValidationError with a clear message."""
    _checked_address(_dsn_parameters(dsn))


@contextmanager
def connect(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the address the policy allows, resolved now (`hostaddr`, so a name
    that resolves elsewhere since the check is not followed); the certificate is still checked
    against the host's name. No password file and no PG* environment password: only the DSN's
    own credentials are sent."""
    try:
        values = _dsn_parameters(dsn)
        address = _checked_address(values)
    except ValidationError:
        raise ConnectorDatabaseError("address_refused", transient=False) from None
    try:
        conn = psycopg.connect(
            # An explicit (maybe empty) password: never PGPASSWORD from the worker's own
            # environment, which would be sent to whatever host the DSN names.
            psycopg.conninfo.make_conninfo(
                dsn, hostaddr=address, password=values.get("password", "")
            ),
            passfile=os.devnull,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="privacy-portal-connector",
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
    except psycopg.Error as exc:
        raise ConnectorDatabaseError(f"unreachable:{type(exc).__name__}") from None
    try:
        yield conn
    finally:
        conn.close()


def _ident(ref: TableRef) -> sql.Composable:
    return sql.Identifier(ref.schema, ref.name)


def _from_and_where(table: TableMapping) -> tuple[sql.Composable, sql.Composable]:
    """`<t0> JOIN <t1> ON ... ` and `t<n>.<column> = %s` for a table's relation to the subject."""
    parts: list[sql.Composable] = [sql.SQL("{} AS t0").format(_ident(table.table))]
    for index, hop in enumerate(table.via, start=1):
        parts.append(
            sql.SQL("JOIN {} AS {} ON {}.{} = {}.{}").format(
                _ident(hop.table),
                sql.Identifier(f"t{index}"),
                sql.Identifier(f"t{index - 1}"),
                sql.Identifier(hop.column),
                sql.Identifier(f"t{index}"),
                sql.Identifier(hop.references),
            )
        )
    where = sql.SQL("{}.{} = %s").format(
        sql.Identifier(f"t{len(table.via)}"), sql.Identifier(table.match_column)
    )
    return sql.SQL(" ").join(parts), where


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


# --- Dry run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunReport:
    tables: int
    counts: dict[str, int]  # "schema.table" -> rows matching the sample identifier


def _columns(conn: psycopg.Connection[Any], ref: TableRef) -> dict[str, tuple[str, bool]]:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (ref.schema, ref.name),
    ).fetchall()
    return {name: (data_type, nullable) for name, data_type, nullable in rows}


def _schema_problems(conn: psycopg.Connection[Any], mapping: Mapping) -> list[str]:
    cache: dict[TableRef, dict[str, tuple[str, bool]]] = {}

    def columns_of(ref: TableRef) -> dict[str, tuple[str, bool]]:
        if ref not in cache:
            cache[ref] = _columns(conn, ref)
        return cache[ref]

    problems: list[str] = []
    for index, table in enumerate(mapping.tables):
        where = f"mapping.tables[{index}]"
        own = columns_of(table.table)
        if not own:
            problems.append(f"{where}: table {table.table} does not exist (or is not readable).")
            continue
        previous, previous_columns = table.table, own
        for hop in table.via:
            if hop.column not in previous_columns:
                problems.append(f"{where}: column {previous}.{hop.column} does not exist.")
            hop_columns = columns_of(hop.table)
            if not hop_columns:
                problems.append(f"{where}: table {hop.table} does not exist (or is not readable).")
            elif hop.references not in hop_columns:
                problems.append(f"{where}: column {hop.table}.{hop.references} does not exist.")
            previous, previous_columns = hop.table, hop_columns
        if previous_columns and table.match_column not in previous_columns:
            problems.append(
                f"{where}: identifier column {previous}.{table.match_column} does not exist."
            )
        for column in table.export:
            if column not in own:
                problems.append(f"{where}: export column {table.table}.{column} does not exist.")
        for erasure in table.columns:
            found = own.get(erasure.column)
            if found is None:
                problems.append(
                    f"{where}: erased column {table.table}.{erasure.column} does not exist."
                )
                continue
            data_type, nullable = found
            if erasure.spec == "null" and not nullable:
                problems.append(
                    f"{where}: {table.table}.{erasure.column} is NOT NULL and cannot be "
                    "anonymized with null."
                )
            wanted = NEEDS_TYPE.get(erasure.spec)
            if wanted is not None and data_type not in wanted:
                problems.append(
                    f"{where}: {erasure.spec} cannot be written into "
                    f"{table.table}.{erasure.column} ({data_type})."
                )
    return problems


def dry_run(
    dsn: str, mapping: Mapping, *, sample: MappingType[str, str] | None = None
) -> DryRunReport:
    """Check every table and column the mapping names against the target database, read only;
    with a sample of identifiers, count the rows each table would export or erase.

    ValidationError names every problem (missing tables or columns, an unreachable database).
    """
    try:
        with connect(dsn) as conn:
            conn.read_only = True
            problems = _schema_problems(conn, mapping)
            if problems:
                raise ValidationError(problems)
            counts: dict[str, int] = {}
            for table in mapping.tables:
                value = (sample or {}).get(table.identifier)
                if value is None:
                    continue
                from_clause, where = _from_and_where(table)
                query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(from_clause, where)
                counts[str(table.table)] = conn.execute(query, (value,)).fetchone()[0]  # type: ignore[index]
            conn.rollback()
    except ConnectorDatabaseError as exc:
        raise ValidationError(
            f"The database cannot be reached with this DSN ({exc.code.partition(':')[2]})."
        ) from None
    except psycopg.Error as exc:
        raise ValidationError(
            f"The dry run failed on the target database ({type(exc).__name__})."
        ) from None
    return DryRunReport(tables=len(mapping.tables), counts=counts)


# --- Export and erasure ----------------------------------------------------------------------


def _in_scope(mapping: Mapping, categories: list[str] | None) -> list[TableMapping]:
    chosen = set(categories) if categories else None
    return [t for t in mapping.tables if chosen is None or t.category in chosen]


def export(
    dsn: str,
    mapping: Mapping,
    identifiers: MappingType[str, str],
    *,
    categories: list[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The subject's rows, per category: {category: [{column: value}, ...]}."""
    data: dict[str, list[dict[str, Any]]] = {}
    try:
        with connect(dsn) as conn:
            conn.read_only = True
            for table in _in_scope(mapping, categories):
                rows = data.setdefault(table.category, [])
                value = identifiers.get(table.identifier)
                if value is None or not table.export:
                    continue
                from_clause, where = _from_and_where(table)
                query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
                    sql.SQL(", ").join(
                        sql.SQL("t0.{}").format(sql.Identifier(c)) for c in table.export
                    ),
                    from_clause,
                    where,
                )
                with conn.cursor() as cursor:
                    cursor.execute(query, (value,))
                    for row in cursor:
                        rows.append(
                            {c: _json_value(v) for c, v in zip(table.export, row, strict=True)}
                        )
            conn.rollback()
    except psycopg.Error as exc:
        raise _failed(exc) from None
    return data


def _erase_table(conn: psycopg.Connection[Any], table: TableMapping, value: str) -> int:
    from_clause, where = _from_and_where(table)
    if table.strategy is Strategy.RETAIN:
        query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(from_clause, where)
        return int(conn.execute(query, (value,)).fetchone()[0])  # type: ignore[index]
    # The target's own rows are addressed by ctid, stable while the transaction holds the lock.
    select = sql.SQL("SELECT t0.ctid{} FROM {} WHERE {} FOR UPDATE OF t0").format(
        sql.SQL("").join(
            sql.SQL(", t0.{}").format(sql.Identifier(c.column))
            for c in table.columns
            if c.anonymizer.per_row
        ),
        from_clause,
        where,
    )
    rows = conn.execute(select, (value,)).fetchall()
    target = _ident(table.table)
    if table.strategy is Strategy.DELETE:
        delete = sql.SQL("DELETE FROM {} WHERE ctid = ANY(%s::tid[])").format(target)
        conn.execute(delete, ([row[0] for row in rows],))
        return len(rows)
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = %s").format(sql.Identifier(c.column)) for c in table.columns
    )
    update = sql.SQL("UPDATE {} SET {} WHERE ctid = %s::tid").format(target, assignments)
    for row in rows:
        current = dict(
            zip([c.column for c in table.columns if c.anonymizer.per_row], row[1:], strict=True)
        )
        values = [c.anonymizer.apply(current.get(c.column), str(row[0])) for c in table.columns]
        conn.execute(update, (*values, row[0]))
    return len(rows)


def erase(
    dsn: str,
    mapping: Mapping,
    identifiers: MappingType[str, str],
    *,
    categories: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Apply each table's strategy to the subject's rows, in the mapping's order, in one
    transaction. Returns one line per table: table, category, strategy, rows, columns."""
    lines: list[dict[str, Any]] = []
    try:
        with connect(dsn) as conn, conn.transaction():
            for table in _in_scope(mapping, categories):
                value = identifiers.get(table.identifier)
                rows = 0 if value is None else _erase_table(conn, table, value)
                line: dict[str, Any] = {
                    "table": str(table.table),
                    "category": table.category,
                    "strategy": table.strategy.value,
                    "rows": rows,
                }
                if table.columns:
                    line["columns"] = {c.column: str(c.anonymizer) for c in table.columns}
                if table.legal_basis:
                    line["legal_basis"] = table.legal_basis
                lines.append(line)
    except psycopg.Error as exc:
        raise _failed(exc) from None
    return lines
