"""The one place that opens warehouse connections.

DuckDB lets one process write a file *or* many processes read it, never both, and a conflicting
``connect`` fails at once instead of waiting (see stack-notes). So writers keep transactions short,
readers open short-lived read-only connections, and both sides queue on a readers-writer lock
kept in two sidecar files (``<file>.lock`` and ``<file>.turnstile``, ``flock``): readers share,
a writer waits for the readers in flight, and a waiting writer stops new readers at the turnstile,
so a busy dashboard cannot starve a flow. Processes that do not use this module are still
handled: connecting retries with backoff on DuckDB's lock error.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from livelihood_monitor.config import warehouse_sql_dir

Connection = duckdb.DuckDBPyConnection

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "different configuration")
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class WarehouseBusyError(RuntimeError):
    """The warehouse stayed locked by another process for longer than the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    budget_s: float = 15.0
    first_delay_s: float = 0.02
    max_delay_s: float = 0.5


DEFAULT_RETRY = RetryPolicy()


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc) for m in _LOCK_MARKERS)


def _connect_with_retry(path: Path, *, read_only: bool, retry: RetryPolicy) -> Connection:
    deadline = time.monotonic() + retry.budget_s
    delay = retry.first_delay_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_error(exc) or time.monotonic() + delay > deadline:
                if is_lock_error(exc):
                    raise WarehouseBusyError(
                        f"数据仓库 {path} 正被其他进程占用，{retry.budget_s:.0f} 秒内未能打开；"
                        "请稍后重试，或检查是否有卡住的导入任务。"
                    ) from exc
                raise
        # Jitter keeps two waiting processes from retrying in lockstep.
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, retry.max_delay_s)


def _flock(fd: int, mode: int, deadline: float, path: Path) -> None:
    """``flock`` with a deadline. Waiting happens inside the kernel (in a helper thread), so a
    released lock goes to the process that has waited rather than to whoever polls first."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    own_fd = os.dup(fd)  # same open file description, closed only by the waiting thread
    acquired = threading.Event()
    guard = threading.Lock()
    cancelled = False

    def wait() -> None:
        try:
            fcntl.flock(own_fd, mode)
            with guard:
                if cancelled:
                    fcntl.flock(own_fd, fcntl.LOCK_UN)
                else:
                    acquired.set()
        finally:
            os.close(own_fd)

    threading.Thread(target=wait, name="warehouse-lock", daemon=True).start()
    if acquired.wait(max(0.0, deadline - time.monotonic())):
        return
    with guard:
        if acquired.is_set():
            return
        cancelled = True
    raise WarehouseBusyError(
        f"数据仓库 {path} 正被其他进程占用，等待超时；请稍后重试，或检查是否有卡住的导入任务。"
    )


@contextmanager
def process_lock(path: Path, *, exclusive: bool, budget_s: float) -> Iterator[None]:
    """Readers-writer lock between processes sharing a warehouse file (writer preference)."""
    if str(path) == ":memory:":
        yield
        return
    try:
        lock_fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o666)
        turn_fd = os.open(path.with_name(path.name + ".turnstile"), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield  # e.g. a read-only folder: rely on the connect retries alone
        return
    deadline = time.monotonic() + budget_s
    try:
        if exclusive:
            _flock(turn_fd, fcntl.LOCK_EX, deadline, path)  # stop new readers from here on
            _flock(lock_fd, fcntl.LOCK_EX, deadline, path)  # wait for the readers in flight
        else:
            _flock(turn_fd, fcntl.LOCK_SH, deadline, path)  # blocks while a writer waits
            try:
                _flock(lock_fd, fcntl.LOCK_SH, deadline, path)
            finally:
                fcntl.flock(turn_fd, fcntl.LOCK_UN)
        yield
    finally:
        os.close(lock_fd)  # closing releases the flocks
        os.close(turn_fd)


@contextmanager
def write_transaction(path: Path, *, retry: RetryPolicy = DEFAULT_RETRY) -> Iterator[Connection]:
    """A read-write connection holding one transaction; committed on success, closed at once."""
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    with process_lock(path, exclusive=True, budget_s=retry.budget_s):
        con = _connect_with_retry(path, read_only=False, retry=retry)
        try:
            con.begin()
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()
        finally:
            con.close()


@contextmanager
def read_connection(path: Path, *, retry: RetryPolicy = DEFAULT_RETRY) -> Iterator[Connection]:
    """A short-lived read-only connection. Do not keep it: an open reader blocks every writer."""
    if not path.exists():
        raise FileNotFoundError(
            f"找不到数据仓库 {path}：请先运行 `livelihood-monitor init`，或检查 LM_WAREHOUSE 设置。"
        )
    with process_lock(path, exclusive=False, budget_s=retry.budget_s):
        con = _connect_with_retry(path, read_only=True, retry=retry)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def registered(con: Connection, name: str, data: Any) -> Iterator[str]:
    """Expose an Arrow table or DataFrame to SQL as ``name`` for the duration of the block, and
    drop the view afterwards even if a statement fails."""
    con.register(name, data)
    try:
        yield name
    finally:
        con.unregister(name)


def read_rows(
    path: Path, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read query on a fresh read-only connection; returns column names and rows."""
    with read_connection(path) as con:
        cur = con.execute(sql, params or [])
        columns = [d[0] for d in cur.description or []]
        return columns, cur.fetchall()


_INCLUDE = re.compile(r"\{include:(\w+)\}")


def load_sql(relative: str) -> str:
    """Text of a SQL file under ``warehouse/`` (models, queries, migrations).

    ``{include:name}`` is replaced by ``queries/_name.sql``: a rule several queries share (which
    match decides a message) is written once, while each query keeps its own narrowing first.
    """
    return expand_includes((warehouse_sql_dir() / relative).read_text(encoding="utf-8"))


def expand_includes(sql: str) -> str:
    """``sql`` with every ``{include:name}`` replaced by the text of ``queries/_name.sql``."""
    return _INCLUDE.sub(lambda m: load_sql(f"queries/_{m.group(1)}.sql"), sql)


def migration_files() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted((warehouse_sql_dir() / "migrations").glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"迁移文件名不合规范（应为 NNNN_name.sql）：{path.name}")
        found.append((int(match.group(1)), match.group(2), path))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"迁移编号重复：{versions}")
    return found


def apply_migrations(con: Connection) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction. Re-running is a no-op."""
    con.execute(load_sql("schema_migrations.sql"))
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, path in migration_files():
        if version in done:
            continue
        con.begin()
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name]
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        applied.append(f"{version:04d}_{name}")
    return applied


def init_warehouse(path: Path) -> list[str]:
    """Create the warehouse file if needed and bring its schema up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with process_lock(path, exclusive=True, budget_s=DEFAULT_RETRY.budget_s):
        con = _connect_with_retry(path, read_only=False, retry=DEFAULT_RETRY)
        try:
            return apply_migrations(con)
        finally:
            con.close()


def memory_warehouse() -> Connection:
    """An in-memory warehouse with every migration applied: for fast tests and dry runs."""
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    return con
