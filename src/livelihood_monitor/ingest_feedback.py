"""Ingesting residents' feedback (反映/留言/意见) from files into the warehouse.

Shape (design §8: fetching and saving are separate functions):

* ``read_feedback_file`` (fetch) loads one CSV/XLSX/JSON/JSONL file's rows, exactly as received,
  into a private scratch DuckDB file (``Scratch``). Whole-file problems raise ``FileUnreadable``
  with a Chinese reason before anything reaches the warehouse.
* ``prepare_feedback`` stages every row with vectorised SQL, runs the Python work the rows need
  (``normalize_text``, ``mask_pii``, ``parse_datetime``, ``mask_contact``), validates, hashes and
  identifies them, finds repeats within the file and cuts the rows into merge batches.
* ``save_batch`` (save) merges one batch into the warehouse in the caller's short write
  transaction. The batch's rows are computed from the scratch database just before (as Arrow),
  so the wide rows are never materialised twice and the warehouse is locked only for the merge.
* ``ingest_feedback_files`` / ``ingest_inbox`` orchestrate: one ``ingest_runs`` row per run, one
  write transaction per batch, so a crash loses at most the open batch and a re-run resumes
  without duplicates.

Identity (``feedback.source``, ``feedback.source_id``): ``file:<channel>`` and the file's id
column. A 编号 is prefixed with the file name (and sheet), because ids like 编号 1, 2, 3 restart
in every file and sheet; a 工单号/留言编号 is the issuing system's own and identifies the record
across all files of the channel (``RECORD_ID_HEADERS``). A 序号 column is a row serial, not an id: such rows, and rows of files without an
id column, are identified by a content hash (normalised text, submission time, observation
point). A row whose content hash is already stored under the same source is a duplicate too, so
a row re-exported in the next period's file loads once.

Speed: a million-row CSV is parsed by DuckDB's own reader and checked with vectorised SQL. Only
what needs it reaches Python: texts holding a character that normalisation or masking would
change (brackets, Traditional characters, full-width forms, digits where a masking rule could
start, ...), dates in unusual shapes, contacts that are neither a plain mobile nor a dashed
landline number. Years, amounts, room numbers and bare mobile numbers stay in SQL. The set of
"safe" characters, and the characters that join digit groups, are derived from
``normalize_text``/``mask_pii`` themselves at start-up, so the fast path cannot drift from them.
Memory stays bounded: the scratch database spills to disk beyond ``DEFAULT_SCRATCH_MEMORY``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import re
import shutil
import tempfile
import time
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from livelihood_monitor import db
from livelihood_monitor.normalize import normalize_text
from livelihood_monitor.privacy import mask_contact, mask_pii
from livelihood_monitor.tabular import FileUnreadable, normalise_header, read_sheets
from livelihood_monitor.values import SHANGHAI, clean, parse_datetime

__all__ = [
    "FEEDBACK_COLUMNS",
    "FILE_CHANNELS",
    "Batch",
    "Counts",
    "FileResult",
    "LoadedInput",
    "MergeContext",
    "PreparedInput",
    "ProgressEvent",
    "Reject",
    "RunResult",
    "Scratch",
    "SheetInfo",
    "ingest_feedback_file",
    "ingest_feedback_files",
    "ingest_inbox",
    "prepare_feedback",
    "read_feedback_file",
    "save_batch",
    "save_prepared",
]

# Canonical columns and the headers (or JSON keys) accepted for them. The canonical name itself is
# always accepted too.
FEEDBACK_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("编号", "序号", "留言编号", "工单号", "id"),
    "submitted_at": ("反映时间", "留言时间", "提交时间", "日期"),
    "text": ("反映内容", "留言内容", "留言详情", "意见建议", "内容", "问题描述", "content"),
    "title": ("留言主题", "标题"),
    "observation_point": ("观察点", "民情观察点"),
    "district": ("所属地区", "区县", "地区", "location"),
    "submitter": ("姓名", "反映人", "留言用户"),
    "contact": ("联系电话", "电话", "联系方式"),
    "deputy_code": ("代表编号", "代表码"),
}
REQUIRED = ("text",)
RAW_FIELDS = tuple(FEEDBACK_COLUMNS)
FILE_CHANNELS = ("observation_point", "meeting_day", "hotline", "other")
# A 序号 column numbers the rows of one export; it restarts in every file, so it is no identity.
SERIAL_HEADERS = frozenset({normalise_header("序号")})
# Ids issued by the system the records come from (a hotline's work order, a message board's
# message number) name the same record in every export: they identify it across the source's
# files, so a work order re-sent in next week's export with new text is an edit, not a new
# record. A plain 编号 is numbered by whoever made the file and restarts in every file and sheet.
# (A bare ``id`` is often an export's own auto-increment, so it stays per file like 编号.)
RECORD_ID_HEADERS = frozenset(normalise_header(h) for h in ("工单号", "留言编号"))

MAX_TEXT_CHARS = 50_000  # longer than any real message; a 1 MB cell is a paste accident
RAW_KEEP_CHARS = 2_000  # of a rejected row, kept in rejected_rows.raw
# Two DuckDB row groups: a batch is written straight into the data file (batches under one row
# group go through the WAL and are written twice), and every commit costs a checkpoint, so
# bench/ingest.py measured 1M rows in 24 s with one row group per batch and 19 s with two. A
# batch holds the warehouse lock for about 2 s; a crash loses at most this many rows of work.
DEFAULT_BATCH_ROWS = 245_760
# ... or this much text (UTF-8 bytes), whichever comes first: a batch's rows are sorted and
# handed over as Arrow within the scratch's memory limit even when every text is long (250k rows
# of 300-character texts ran out of memory at 512MB with a row limit alone).
DEFAULT_BATCH_BYTES = 48 * 1024 * 1024
_BLOCK_ROWS = 256  # batches are cut at multiples of this (see ingest_feedback_final.sql)
# The scratch database spills to disk beyond this, so a file of any size is staged in bounded
# memory (bench/ingest.py: 512MB and 1GB load 1M rows equally fast).
DEFAULT_SCRATCH_MEMORY = "512MB"
FUTURE_TOLERANCE = timedelta(days=1)
CSV_SUFFIXES = frozenset({".csv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
JSON_SUFFIXES = frozenset({".json"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
SUPPORTED_SUFFIXES = CSV_SUFFIXES | XLSX_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES

_DEFAULT_LABELS = {
    "source_id": "编号",
    "submitted_at": "反映时间",
    "text": "反映内容",
}
_SHEET_LABEL_CHARS = 60

# --- SQL --------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^-- name: (\w+)[ \t]*$", re.MULTILINE)


@cache
def statements(relative: str) -> dict[str, str]:
    """The named statements (``-- name: x``) of a SQL file under ``warehouse/``."""
    parts = _NAME_RE.split(db.load_sql(relative))
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


@cache
def _sql(relative: str) -> str:
    return db.load_sql(relative)


# --- the characters normalisation and masking leave alone ---------------------------------------

# Characters that only change in context (pinyin brackets, the colon between ASCII characters,
# '@' of e-mail addresses) are never safe; digits are handled by the three-digit rule.
_CONTEXT_CHARS = frozenset("()（）：@")
_CANDIDATE_RANGES = (
    (0x21, 0x7F),  # printable ASCII
    (0x2010, 0x2060),  # general punctuation (dashes, quotes, ellipsis)
    (0x3001, 0x3040),  # CJK punctuation
    (0x3400, 0x4DC0),  # CJK extension A
    (0x4E00, 0xA000),  # CJK unified ideographs
    (0xFF01, 0xFF5F),  # full-width forms (mostly folded, so mostly unsafe)
)


def _inert(ch: str) -> bool:
    if ch in _CONTEXT_CHARS or ch.isdigit():
        return False
    if unicodedata.category(ch)[0] in "MCZ" or unicodedata.combining(ch):
        return False
    return normalize_text(ch) == ch and mask_pii(ch) == ch


@lru_cache(maxsize=1)
def safe_characters() -> str:
    """Every character (digits aside) that ``normalize_text`` and ``mask_pii`` leave unchanged
    wherever it stands. Computed from the functions themselves (~0.2 s, once per process)."""
    return "".join(
        chr(code)
        for start, stop in _CANDIDATE_RANGES
        for code in range(start, stop)
        if _inert(chr(code))
    )


def joins_digit_groups(ch: str) -> bool:
    """Whether ``mask_pii`` reads ``ch`` as a separator inside a number (138-1234-5678)."""
    probe = f"138{ch}1234{ch}5678"
    return mask_pii(probe) != probe


def _keeps_mobile_prefix(ch: str) -> bool:
    """Whether ``mask_pii`` leaves ``ch`` as written between a country code and a mobile."""
    return mask_pii(f"86{ch}13812345678") == f"86{ch}138****5678"


def _char_class(chars: str) -> str:
    ranges: list[tuple[int, int]] = []
    for code in sorted(ord(ch) for ch in chars):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return (
        "["
        + "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
        + "]"
    )


@lru_cache(maxsize=2)
def safe_text_pattern(*, mobiles: bool = False) -> str:
    """RE2 pattern (for ``regexp_full_match``) of texts that normalisation and masking return
    unchanged (or, with ``mobiles``, change only by masking bare mobile numbers).

    Digits are where masking starts, so they are allowed only where no rule can match: runs of
    one or two digits anywhere, and runs of three to six digits (years, amounts, room numbers)
    when not followed by a character that joins digit groups (``-``): every rule needs either a
    run of seven or more digits, or a group of three or more followed by a separator. With
    ``mobiles``, an eleven-digit run shaped like a mobile number (``1[3-9]x``) is allowed too;
    ``mask_pii`` turns exactly such a run into ``138****5678``, as the stage SQL does.
    """
    chars = safe_characters()
    if mobiles:
        # mask_pii rewrites a country-code prefix in its folded form (86‐138… → 86-138****…),
        # which the SQL mask would not: such characters send the text to Python.
        chars = "".join(ch for ch in chars if _keeps_mobile_prefix(ch))
    safe = _char_class(chars)
    ends_group = _char_class("".join(ch for ch in chars if not joins_digit_groups(ch)))
    runs = [f"[0-9]{{1,2}}{safe}", f"[0-9]{{3,6}}{ends_group}"]
    tails = ["[0-9]{0,6}"]
    if mobiles:
        runs.append(f"1[3-9][0-9]{{9}}{ends_group}")
        tails.append("1[3-9][0-9]{9}")
    return f"(?:{safe}|{'|'.join(runs)})*(?:{'|'.join(tails)})"


# --- results ----------------------------------------------------------------------------------


@dataclass
class Counts:
    read: int = 0
    loaded: int = 0  # new records
    updated: int = 0  # known records with changed content (earlier version kept)
    duplicate: int = 0
    rejected: int = 0

    def add(self, other: Counts) -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.updated += other.updated
        self.duplicate += other.duplicate
        self.rejected += other.rejected

    def set_to(self, other: Counts) -> None:
        self.read, self.loaded, self.updated = other.read, other.loaded, other.updated
        self.duplicate, self.rejected = other.duplicate, other.rejected

    def summary(self, unit: str = "行") -> str:
        """``读取 120 行，新增 100 行，重复 15 行，拒收 3 行`` (and 更新 when there are updates)."""
        parts = [f"读取 {self.read} {unit}", f"新增 {self.loaded} {unit}"]
        if self.updated:
            parts.append(f"更新 {self.updated} {unit}")
        parts += [f"重复 {self.duplicate} {unit}", f"拒收 {self.rejected} {unit}"]
        return "，".join(parts)


@dataclass
class FileResult:
    path: Path
    status: str  # completed | failed
    counts: Counts = field(default_factory=Counts)
    message: str = ""
    moved_to: Path | None = None
    notes: list[str] = field(default_factory=list)  # for the operator: fuzzy matches, flags


@dataclass
class RunResult:
    run_id: str
    source: str
    status: str  # completed | failed
    counts: Counts
    files: list[FileResult]
    message: str

    @property
    def failed_files(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]


@dataclass(frozen=True)
class ProgressEvent:
    """Reported after each committed batch (``kind='batch'``) and each finished file."""

    kind: str  # batch | file
    file: str
    file_rows: int  # rows read so far in this file
    run_rows: int  # rows read so far in this run
    elapsed_s: float

    @property
    def rate(self) -> float:
        return self.run_rows / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressHook = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class Reject:
    file: str
    row_number: int | None
    reason: str  # Chinese, starting with the row: 第12行：缺少反映内容
    raw: str | None


@dataclass(frozen=True)
class SheetInfo:
    """What rows came from, and how they are named and identified."""

    file: str  # rejected_rows.file: "x.csv", "x.xlsx[广陵区]", "民意直通车接口第3页"
    row_word: str  # 行 (CSV/XLSX/JSONL) or 条 (JSON list, API page)
    id_identity: bool  # the id column identifies records (not a 序号 serial)
    scope: str  # prefix making ids unique within the source: "x.xlsx[广陵区]#"; "" for record ids
    labels: Mapping[str, str]  # canonical column -> header as written (for messages)

    def label(self, canonical: str) -> str:
        return self.labels.get(canonical) or _DEFAULT_LABELS.get(canonical, canonical)


# --- the scratch database -----------------------------------------------------------------------


class Scratch:
    """A private DuckDB where one input is staged before it reaches the warehouse.

    It is not the warehouse (no lock is shared with the dashboard, no migrations), so it is
    opened here rather than through ``db``. For files it is a file in ``directory``: DuckDB
    spills what does not fit ``memory_limit`` to disk, so a million-row file is staged in bounded
    memory. Small inputs (an API page) use memory only (``directory=None``). Either way the
    prepared rows reach the warehouse one batch at a time, as Arrow.
    """

    def __init__(
        self, directory: Path | None, *, memory_limit: str = DEFAULT_SCRATCH_MEMORY
    ) -> None:
        self.directory = directory
        self.path = directory / "stage.duckdb" if directory is not None else None
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit}
        if directory is not None:
            config["temp_directory"] = str(directory / "spill")
        self.con: db.Connection = duckdb.connect(
            str(self.path) if self.path else ":memory:", config=config
        )
        # Fixed, so TIMESTAMPTZ formatting in the content hash never depends on the host. (Not in
        # ``config``: the time zone needs the icu extension, loaded only after connecting.)
        self.con.execute("SET TimeZone = 'Asia/Shanghai'")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_RAW_SCHEMA = pa.schema(
    [("sheet", pa.int32()), ("row_number", pa.int64())]
    + [(name, pa.string()) for name in RAW_FIELDS]
    + [("raw", pa.string())]
)
_RAW_COLUMNS = ", ".join(f"{name} VARCHAR" for name in (*RAW_FIELDS, "raw"))


class _RawBuffer:
    """Rows as received, collected column-wise into Arrow, appended to the scratch ``raw``."""

    def __init__(self, con: db.Connection, sheet: int, flush_rows: int = 50_000) -> None:
        self.con = con
        self.sheet = sheet
        self.flush_rows = flush_rows
        self.count = 0
        self._reset()

    def _reset(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in _RAW_SCHEMA.names}

    def add(self, row_number: int, values: Mapping[str, Any], raw: str | None) -> None:
        self.columns["sheet"].append(self.sheet)
        self.columns["row_number"].append(row_number)
        for name in RAW_FIELDS:
            self.columns[name].append(_cell_text(values.get(name)))
        self.columns["raw"].append(raw)
        self.count += 1
        if len(self.columns["row_number"]) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self.columns["row_number"]:
            return
        with db.registered(self.con, "raw_chunk", pa.table(self.columns, schema=_RAW_SCHEMA)):
            self.con.execute("INSERT INTO raw SELECT * FROM raw_chunk")
        self._reset()


def _create_raw(con: db.Connection) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw (sheet INTEGER, row_number BIGINT, {_RAW_COLUMNS})"
    )


def _cell_text(value: object) -> str | None:
    """A cell as text, the way an operator reads it (XLSX cells arrive typed)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | dt_time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- reading (fetch): the input's rows into the scratch database ---------------------------------


@dataclass
class LoadedInput:
    """An input whose rows are in the scratch table ``raw`` (or ``raw_cells`` for DuckDB CSV)."""

    sheets: list[SheetInfo]
    pre_rejects: list[Reject] = field(default_factory=list)  # rows refused before staging
    engine: str = "python"  # duckdb (read_csv) | python
    rows_sql: str = "raw"  # relation the stage SQL reads
    raw_expr: str = "raw"
    blank_expr: str = "false"


def _sheet_info(
    path: Path, sheet: str | None, columns: Mapping[str, str], row_word: str
) -> SheetInfo:
    label = f"{path.name}[{sheet[:_SHEET_LABEL_CHARS]}]" if sheet else path.name
    id_header = normalise_header(columns.get("source_id") or "")
    id_identity = bool(id_header) and id_header not in SERIAL_HEADERS
    scope = "" if id_header in RECORD_ID_HEADERS else label + "#"
    return SheetInfo(label, row_word, id_identity, scope, dict(columns))


def read_feedback_file(path: Path, scratch: Scratch, *, engine: str = "auto") -> LoadedInput:
    """Load one feedback file's rows, as received, into ``scratch``.

    Raises ``FileUnreadable`` (Chinese reason) when nothing in the file can be used: missing
    required column, empty, undecodable, damaged workbook, invalid JSON. ``engine='auto'`` reads
    CSV with DuckDB's reader when the file's layout allows it and falls back to Python's csv module
    (``tabular``) when DuckDB refuses it; ``engine='python'`` always uses ``tabular``.
    """
    if not path.is_file():
        raise FileUnreadable(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise FileUnreadable(
            f"{path.name}：不支持的文件类型 {suffix or '（无扩展名）'}；"
            "请提供 CSV、XLSX、JSON 或 JSONL 文件。"
        )
    if path.stat().st_size == 0:
        raise FileUnreadable(f"{path.name}：文件是空的，没有任何数据。")
    if suffix in JSON_SUFFIXES | JSONL_SUFFIXES:
        return _read_json(path, scratch)
    if suffix in CSV_SUFFIXES and engine == "auto":
        loaded = _read_csv_duckdb(path, scratch)
        if loaded is not None:
            return loaded
    return _read_tabular(path, scratch)


def _read_tabular(path: Path, scratch: Scratch) -> LoadedInput:
    """CSV or XLSX through ``tabular.read_sheets``, row by row in Python."""
    con = scratch.con
    _create_raw(con)
    sheets: list[SheetInfo] = []
    try:
        for index, sheet in enumerate(read_sheets(path, FEEDBACK_COLUMNS, REQUIRED)):
            sheets.append(_sheet_info(path, sheet.name, sheet.columns, "行"))
            buf = _RawBuffer(con, index)
            for row in sheet.rows:
                buf.add(row.row_number, row.values, row.raw)
            buf.flush()
    except csv.Error as exc:
        raise FileUnreadable(f"{path.name}：CSV 格式错误（{exc}），请检查文件后重新导出。") from exc
    except (zipfile.BadZipFile, zlib.error, ParseError, EOFError) as exc:
        # openpyxl can fail half-way through a damaged workbook with errors tabular does not map.
        raise FileUnreadable(
            f"{path.name}：Excel 文件内容不完整或已损坏（{type(exc).__name__}）；请重新导出该文件。"
        ) from exc
    return LoadedInput(sheets)


# CSV through DuckDB's reader ------------------------------------------------------------------

_HEAD_BYTES = 1 << 20
_CHUNK_BYTES = 8 << 20
_BARE_LF_RE = re.compile(rb"(?<!\r)\n")
_MAX_LINE_BYTES = 64 * 1024 * 1024  # as tabular's csv.field_size_limit


def _sniff_encoding(head: bytes) -> str | None:
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


@dataclass
class _Layout:
    """A byte scan of the whole file: is DuckDB's reader safe to use on it?

    DuckDB silently skips blank lines (row numbers would shift) and cannot read line endings
    that change between rows; Python's csv module handles both, so such files take that path.
    Quote parity tells whether a newline is inside a quoted cell (RFC 4180 keeps it even).
    """

    quotes: int = 0
    offset: int = 0
    first_blank_outside: int | None = None
    last_content: int = -1
    has_crlf: bool = False
    bare_lf_outside: bool = False
    tail: bytes = b""

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        base = self.offset - len(self.tail)  # absolute offset of data[0]
        quotes_before_data = self.quotes - self.tail.count(b'"')
        fresh = len(self.tail)  # matches ending before this were seen with the previous chunk

        def first_outside(positions: list[int]) -> int | None:
            # Walk the candidates in order, counting quotes incrementally (linear in the chunk).
            quotes, last = quotes_before_data, 0
            for pos in sorted(positions):
                quotes += data.count(b'"', last, pos)
                last = pos
                if quotes % 2 == 0:
                    return pos
            return None

        has_cr = b"\r" in data  # a one-byte search (memchr) is nearly free; two-byte ones are not
        if has_cr and b"\r\n" in data:
            self.has_crlf = True
        if self.first_blank_outside is None:
            patterns = [b"\n\n"]
            if has_cr:
                patterns += [b"\n\r\n"] if self.has_crlf else [b"\r\r"]
            candidates = []
            for pattern in patterns:
                pos = data.find(pattern)
                while pos != -1:
                    if pos + len(pattern) > fresh:
                        candidates.append(pos)
                    pos = data.find(pattern, pos + 1)
            found = first_outside(candidates)
            if found is not None:
                self.first_blank_outside = base + found
        if self.has_crlf and not self.bare_lf_outside and data.count(b"\n") != data.count(b"\r\n"):
            # A CRLF file may hold LF inside quoted cells (Excel's Alt+Enter), never between rows.
            bare = [m.start() for m in _BARE_LF_RE.finditer(data) if m.start() >= max(0, fresh - 1)]
            self.bare_lf_outside = first_outside(bare) is not None
        end = len(chunk)
        while end and chunk[end - 1] in b" \t\r\n":  # (rstrip would copy the chunk)
            end -= 1
        if end:
            self.last_content = self.offset + end - 1
        self.quotes += chunk.count(b'"')
        self.offset += len(chunk)
        self.tail = data[-2:]

    @property
    def duckdb_safe(self) -> bool:
        blank_inside = (
            self.first_blank_outside is not None and self.first_blank_outside < self.last_content
        )
        return not blank_inside and not self.bare_lf_outside


def _head_sheet(path: Path, head: bytes, workdir: Path) -> Any:
    """Locate and map the header with ``tabular`` on a copy of the file's first megabyte (the
    copy keeps the file's name, so messages name the operator's file)."""
    cut = head if len(head) < _HEAD_BYTES else head[: head.rfind(b"\n") + 1]
    sample = workdir / path.name
    sample.write_bytes(cut)
    try:
        return next(iter(read_sheets(sample, FEEDBACK_COLUMNS, REQUIRED)))
    finally:
        sample.unlink()


def _header_cells(text: str, header_row: int) -> list[str] | None:
    """The header record's cells, if the rows above it are one line each (no quoted newlines)."""
    lines = text.splitlines()
    if len(lines) < header_row or any(line.count('"') % 2 for line in lines[:header_row]):
        return None
    return next(csv.reader([lines[header_row - 1]]), None)


def _csv_literal(expr: str) -> str:
    return "'\"' || replace(coalesce(" + expr + ", ''), '\"', '\"\"') || '\"'"


def _transcode(path: Path, target: Path, layout: _Layout) -> None:
    """GB18030 → UTF-8 (DuckDB reads UTF-8 only), scanning the layout on the way."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    with path.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(_CHUNK_BYTES):
            out = decoder.decode(chunk).encode("utf-8")
            layout.feed(out)
            dst.write(out)
        out = decoder.decode(b"", final=True).encode("utf-8")
        layout.feed(out)
        dst.write(out)


def _read_csv_duckdb(path: Path, scratch: Scratch) -> LoadedInput | None:
    """Load a CSV with DuckDB's parallel reader; ``None`` when the file needs ``tabular``."""
    workdir = scratch.directory
    if workdir is None:  # an in-memory scratch is for small inputs: tabular reads them
        return None
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    encoding = _sniff_encoding(head)
    if encoding is None:
        return None
    try:
        sheet = _head_sheet(path, head, workdir)  # FileUnreadable propagates
    except csv.Error:
        return None
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    header = _header_cells(text, sheet.header_row)
    if header is None:
        return None
    positions: dict[str, int] = {}  # as tabular maps them: first matching header wins
    for pos, cell in enumerate(header):
        for name, written in sheet.columns.items():
            if name not in positions and cell.strip() == written:
                positions[name] = pos
    if len(positions) != len(sheet.columns):
        return None
    layout = _Layout()
    source = path
    if encoding == "gb18030":
        source = workdir / "utf8.csv"
        try:
            _transcode(path, source, layout)
        except UnicodeDecodeError:
            return None
    else:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                layout.feed(chunk)
    if not layout.duckdb_safe:
        return None
    cols = [f"c{i}" for i in range(len(header))]
    try:
        scratch.con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_cells AS SELECT * FROM read_csv($path, header = false,"
            " skip = $skip, all_varchar = true, delim = ',', quote = '\"', escape = '\"',"
            " auto_detect = false, columns = $columns, max_line_size = $max_line,"
            " buffer_size = $buffer)",
            {
                "path": str(source),
                "skip": sheet.header_row,
                "columns": dict.fromkeys(cols, "VARCHAR"),
                "max_line": _MAX_LINE_BYTES,
                "buffer": 2 * _MAX_LINE_BYTES,
            },
        )
    except duckdb.Error:
        # Ragged rows, mixed line endings, stray quotes: Python's csv module reads what DuckDB's
        # strict reader refuses, so the whole file goes that way.
        scratch.con.execute("DROP TABLE IF EXISTS raw_cells")
        return None
    finally:
        if source != path:
            source.unlink()
    first = sheet.header_row + 1  # rowid follows file order: the row of DuckDB's first record

    def col(name: str) -> str:
        return f'"{cols[positions[name]]}"' if name in positions else "NULL::VARCHAR"

    rows_sql = (
        f"(SELECT 0 AS sheet, rowid + {first} AS row_number, "
        + ", ".join(f"{col(name)} AS {name}" for name in RAW_FIELDS)
        + ", "
        + ", ".join(f'"{c}"' for c in cols)
        + " FROM raw_cells)"
    )
    raw_expr = " || ',' || ".join(_csv_literal(f'"{c}"') for c in cols)
    blank_expr = (
        "(text_raw IS NULL AND regexp_full_match(concat("
        + ", ".join(f"coalesce(\"{c}\", '')" for c in cols)
        + "), '\\s*'))"
    )
    info = _sheet_info(path, None, sheet.columns, "行")
    return LoadedInput(
        [info], engine="duckdb", rows_sql=rows_sql, raw_expr=raw_expr, blank_expr=blank_expr
    )


# JSON and JSONL ---------------------------------------------------------------------------------


@cache
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for canonical, names in FEEDBACK_COLUMNS.items():
        for name in (canonical, *names):
            index.setdefault(normalise_header(name), canonical)
    return index


def map_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object's keys mapped to canonical columns (first matching key wins)."""
    index = _alias_index()
    values: dict[str, Any] = {}
    for key, value in record.items():
        canonical = index.get(normalise_header(key))
        if canonical and canonical not in values:
            values[canonical] = value
    return values


def json_label(canonical: str, key: str) -> str:
    """How messages name a JSON field: the key if it is Chinese, else ``反映内容（content）``."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in key):
        return key
    return f"{_DEFAULT_LABELS.get(canonical, canonical)}（{key}）"


def _decode_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileUnreadable(f"{path.name}：无法识别文件编码（既不是 UTF-8 也不是 GB18030/GBK）。")


def _read_json(path: Path, scratch: Scratch) -> LoadedInput:
    text = _decode_text(path)
    lines = path.suffix.lower() in JSONL_SUFFIXES
    word = "行" if lines else "条"
    records: list[tuple[int, Any]] = []
    pre_rejects: list[Reject] = []
    if lines:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                reason = f"第{number}行：不是有效的 JSON（{exc.msg}）"
                pre_rejects.append(Reject(path.name, number, reason, _clip(line)))
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileUnreadable(
                f"{path.name}：不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}），"
                "文件可能不完整，请重新导出。"
            ) from exc
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            data = data["items"]
        if not isinstance(data, list):
            raise FileUnreadable(
                f'{path.name}：JSON 内容应为留言列表（[...] 或 {{"items": [...]}}）。'
            )
        records = list(enumerate(data, start=1))
    if not records and not pre_rejects:
        raise FileUnreadable(f"{path.name}：文件中没有任何留言。")
    keys: dict[str, str] = {}  # canonical -> label for messages: 反映内容（content）
    for _, record in records:
        if isinstance(record, dict):
            for key in record:
                canonical = _alias_index().get(normalise_header(key))
                if canonical and canonical not in keys:
                    keys[canonical] = json_label(canonical, str(key))
    if records and "text" not in keys:
        raise FileUnreadable(
            f"{path.name}：缺少必需字段 反映内容（content/text），请检查导出格式。"
        )
    info = _sheet_info(path, None, keys, word)
    _create_raw(scratch.con)
    buf = _RawBuffer(scratch.con, 0)
    for number, record in records:
        if isinstance(record, dict):
            buf.add(number, map_record(record), json.dumps(record, ensure_ascii=False))
        else:
            reason = f"第{number}{word}：不是一条留言（应为 JSON 对象）"
            raw = _clip(json.dumps(record, ensure_ascii=False))
            pre_rejects.append(Reject(info.file, number, reason, raw))
    buf.flush()
    return LoadedInput([info], pre_rejects)


def load_records(
    scratch: Scratch,
    records: Iterable[tuple[int, Mapping[str, Any], str | None]],
    sheet: SheetInfo,
) -> LoadedInput:
    """Load ``(row_number, canonical values, raw)`` records (the API client's items)."""
    _create_raw(scratch.con)
    buf = _RawBuffer(scratch.con, 0)
    for number, values, raw in records:
        buf.add(number, values, raw)
    buf.flush()
    return LoadedInput([sheet])


# --- preparing: stage SQL, the Python part, validation and identity -----------------------------

_TEXT_FIX_SCHEMA = pa.schema(
    [
        ("sheet", pa.int32()),
        ("row_number", pa.int64()),
        ("text_norm", pa.string()),
        ("text_masked", pa.string()),
        ("title_masked", pa.string()),
    ]
)
_FIX_ROWS = 50_000


@dataclass(frozen=True)
class Batch:
    """One merge batch: a range of row numbers of one sheet (one write transaction)."""

    number: int
    sheet: int
    first_row: int
    last_row: int


_NO_ROWS = Batch(0, -1, 0, -1)


@dataclass
class PreparedInput:
    """An input staged, normalised, validated and cut into batches in its (open) scratch
    database; each batch's rows are computed when it is saved (``batch_table``)."""

    sheets: list[SheetInfo]
    con: db.Connection  # the scratch connection holding staged, keys and the Python results
    batches: list[Batch]  # in input order
    pre_rejects: list[Reject]
    engine: str
    reject_repeated_ids: bool = True

    def batch_table(self, batch: Batch) -> Any:
        """The batch's rows, ready to merge, as Arrow (a batch's worth of memory)."""
        return self.con.sql(
            statements("queries/ingest_feedback_final.sql")["batch"],
            params={
                "sheet": batch.sheet,
                "first_row": batch.first_row,
                "last_row": batch.last_row,
                "reject_repeated": self.reject_repeated_ids,
            },
        ).to_arrow_table()


def _stage_sql(loaded: LoadedInput) -> str:
    return (
        _sql("queries/ingest_feedback_stage.sql")
        .replace("{rows}", loaded.rows_sql)
        .replace("{raw_expr}", loaded.raw_expr)
        .replace("{blank_expr}", loaded.blank_expr)
    )


def _value_map(con: db.Connection, name: str, query: str, fn: Callable[[str], str]) -> None:
    """A small table (value, out) of ``fn`` over the distinct values ``query`` returns."""
    values = [row[0] for row in con.execute(query).fetchall()]
    table = pa.table({"value": values, "out": [fn(v) for v in values]}, schema=_MAP_SCHEMA)
    con.register(f"{name}_chunk", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_chunk")
    con.unregister(f"{name}_chunk")


_MAP_SCHEMA = pa.schema([("value", pa.string()), ("out", pa.string())])


def _parse_date_or_error(value: str) -> tuple[str | None, str | None]:
    try:
        return parse_datetime(value).isoformat(), None
    except ValueError as exc:
        return None, str(exc)


def _python_work(con: db.Connection) -> None:
    """The Python part, on the rows and distinct values that need it (see the module docstring)."""
    # A regular table (a temp table is private to its connection, and the rows are written
    # through a cursor while ``con`` streams them out).
    con.execute(
        "CREATE OR REPLACE TABLE py_text (sheet INTEGER, row_number BIGINT, text_norm VARCHAR,"
        " text_masked VARCHAR, title_masked VARCHAR)"
    )
    reader = con.sql(
        "SELECT sheet, row_number, text_raw, title_raw FROM staged"
        " WHERE reason0 IS NULL AND text_fast IS NULL"
    ).to_arrow_reader(_FIX_ROWS)
    writer = con.cursor()  # the reader keeps ``con`` busy until it is exhausted
    try:
        for batch in reader:
            norms: list[str] = []
            masked: list[str] = []
            titles: list[str | None] = []
            texts = batch.column(2).to_pylist()
            for text, title in zip(texts, batch.column(3).to_pylist(), strict=True):
                # The title is prepended for classification (and is part of the content hash).
                norm = normalize_text(f"{title}\n{text}" if title else text)
                norms.append(norm)
                masked.append(mask_pii(norm))
                titles.append(mask_pii(normalize_text(title)) if title else None)
            chunk = pa.table(
                [batch.column(0), batch.column(1), norms, masked, titles], schema=_TEXT_FIX_SCHEMA
            )
            with db.registered(writer, "py_text_chunk", chunk):
                writer.execute("INSERT INTO py_text SELECT * FROM py_text_chunk")
    finally:
        writer.close()

    dates = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT date_raw FROM staged WHERE date_raw IS NOT NULL AND ts_fast IS NULL"
        ).fetchall()
    ]
    parsed = [_parse_date_or_error(v) for v in dates]
    con.register(
        "py_dates_chunk",
        pa.table(
            {"value": dates, "iso": [p[0] for p in parsed], "error": [p[1] for p in parsed]},
            schema=pa.schema(
                [("value", pa.string()), ("iso", pa.string()), ("error", pa.string())]
            ),
        ),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE py_dates AS SELECT * FROM py_dates_chunk")
    con.unregister("py_dates_chunk")
    _value_map(
        con,
        "py_contacts",
        "SELECT DISTINCT contact_raw FROM staged WHERE contact_raw IS NOT NULL AND contact_fast IS NULL",
        mask_contact,
    )
    con.execute("ALTER TABLE py_contacts RENAME COLUMN out TO masked")
    for name, column, fn in (
        ("py_points", "observation_point", normalize_text),
        ("py_districts", "district", normalize_text),
        ("py_deputies", "deputy_code", clean),
    ):
        _value_map(
            con, name, f"SELECT DISTINCT {column} FROM staged WHERE {column} IS NOT NULL", fn
        )


def prepare_feedback(
    scratch: Scratch,
    loaded: LoadedInput,
    *,
    now: datetime,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    max_chars: int = MAX_TEXT_CHARS,
    reject_repeated_ids: bool = True,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> PreparedInput:
    """Stage, normalise, mask, parse, validate and identify every row of a loaded input, and cut
    it into merge batches. The scratch stays open: the batches are computed from it when saved."""
    con = scratch.con
    future_limit = now + FUTURE_TOLERANCE
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staged AS " + _stage_sql(loaded),
        {
            "safe_text": safe_text_pattern(),
            "safe_mobile_text": safe_text_pattern(mobiles=True),
            "max_chars": max_chars,
            "future_limit": future_limit,
        },
    )
    con.execute("DROP TABLE IF EXISTS raw_cells")
    con.execute("DROP TABLE IF EXISTS raw")
    _python_work(con)
    sheets = pa.table(
        {
            "sheet": list(range(len(loaded.sheets))),
            "scope": [s.scope for s in loaded.sheets],
            "id_identity": [s.id_identity for s in loaded.sheets],
        },
        schema=pa.schema(
            [("sheet", pa.int32()), ("scope", pa.string()), ("id_identity", pa.bool_())]
        ),
    )
    with db.registered(con, "sheets_chunk", sheets):
        con.execute("CREATE OR REPLACE TEMP TABLE sheets AS SELECT * FROM sheets_chunk")
    final_sql = statements("queries/ingest_feedback_final.sql")
    block_rows = min(_BLOCK_ROWS, batch_rows)
    con.execute(final_sql["keys"], {"future_limit": future_limit, "block_rows": block_rows})
    con.execute(final_sql["repeats"])
    con.execute(
        final_sql["batches"],
        {"block_rows": block_rows, "batch_rows": batch_rows, "batch_bytes": batch_bytes},
    )
    batches = [
        Batch(*row)
        for row in con.execute(
            "SELECT batch_no, sheet, first_row, last_row FROM batches ORDER BY batch_no"
        ).fetchall()
    ]
    return PreparedInput(
        loaded.sheets, con, batches, loaded.pre_rejects, loaded.engine, reject_repeated_ids
    )


def _clip(raw: str | None) -> str | None:
    if raw is None or len(raw) <= RAW_KEEP_CHARS:
        return raw
    return raw[:RAW_KEEP_CHARS] + f"……（已截断，原长 {len(raw)} 字）"


def _raw_of(row: Mapping[str, Any]) -> str | None:
    raw = row.get("raw")
    if raw is None:
        # Rows rejected late (repeated ids) carry no raw line: rebuild one from the mapped cells.
        out = io.StringIO()
        csv.writer(out).writerow(
            [row.get("source_id_given") or "", row.get("date_raw") or "", row.get("text_raw") or ""]
        )
        raw = out.getvalue().rstrip("\r\n")
    return _clip(raw)


def _reason(
    row: Mapping[str, Any], sheet: SheetInfo, max_chars: int, sheets: Sequence[SheetInfo] = ()
) -> str:
    where = f"第{row['row_number']}{sheet.row_word}"
    code = row["reject_reason"]
    text_label = sheet.label("text")
    date_label = sheet.label("submitted_at")
    if code == "missing_text":
        return f"{where}：缺少{text_label}"
    if code == "too_long":
        return (
            f"{where}：{text_label}过长（{row['text_chars']} 字，上限 {max_chars} 字），"
            "请核对是否误将整段文件粘贴进了一个单元格"
        )
    if code == "bad_date":
        return f"{where}：{date_label}有误：{row['date_error']}"
    if code == "future_date":
        moment = row["submitted_at"]
        shown = (
            moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else row["date_raw"]
        )
        return f"{where}：{date_label} {shown} 晚于当前时间，请核对日期是否填错"
    if code == "repeated_id":
        first_sheet = row.get("id_first_sheet")
        other = (
            f"工作表“{sheets[first_sheet].file}”"
            if first_sheet is not None and first_sheet != row["sheet"]
            else ""
        )
        return (
            f"{where}：{sheet.label('source_id')} {row['source_id_given']} "
            f"与{other}第{row['id_first_row']}{sheet.row_word}重复"
        )
    return f"{where}：无法导入（{code}）"


# --- saving ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeContext:
    run_id: str
    source: str  # file:observation_point, api:direct_channel, ...
    channel: str
    max_chars: int = MAX_TEXT_CHARS


_REJECT_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("row_number", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)


def save_rejects(
    con: db.Connection, rejects: Sequence[Reject], *, run_id: str, source: str
) -> None:
    """Record rejected rows (in the caller's transaction)."""
    if not rejects:
        return
    table = pa.table(
        {
            "file": [r.file for r in rejects],
            "row_number": [r.row_number for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
        },
        schema=_REJECT_SCHEMA,
    )
    with db.registered(con, "rejects", table):
        con.execute(
            statements("queries/ingest_runs.sql")["insert_rejects"],
            {"run_id": run_id, "source": source},
        )


def add_run_counts(con: db.Connection, run_id: str, counts: Counts) -> None:
    """Add a committed batch's counts to its run (in the same transaction as the batch)."""
    con.execute(
        statements("queries/ingest_runs.sql")["add_counts"],
        {
            "run_id": run_id,
            "read": counts.read,
            "loaded": counts.loaded + counts.updated,
            "rejected": counts.rejected,
            "duplicate": counts.duplicate,
        },
    )


_INCOMING = "(SELECT * FROM batch_rows WHERE status = 'accept')"


def save_batch(
    con: db.Connection,
    prepared: PreparedInput,
    rows: Any,
    ctx: MergeContext,
    *,
    extra_rejects: Sequence[Reject] = (),
) -> Counts:
    """Merge one batch's prepared rows (``PreparedInput.batch_table``) into the warehouse, with
    its rejected rows and its run counts, in the caller's write transaction."""

    def sql(name: str) -> str:
        text = statements("queries/ingest_feedback_merge.sql")[name]
        return text.replace("{incoming}", _INCOMING).replace("{final}", "batch_rows")

    with db.registered(con, "batch_rows", rows):
        merge_params = {"source": ctx.source}
        con.execute(sql("classify"), merge_params)
        actions = dict(con.execute(sql("counts")).fetchall())
        if actions.get("changed"):
            con.execute(sql("save_versions"))
            con.execute(sql("update_changed"), {"channel": ctx.channel})
        if actions.get("new"):
            con.execute(sql("insert_new"), {**merge_params, "channel": ctx.channel})
        read_row = con.execute(sql("batch_rows")).fetchone()
        reject_rows = con.execute(sql("batch_rejects"))
        columns = [d[0] for d in reject_rows.description or []]
        rejected = [dict(zip(columns, r, strict=True)) for r in reject_rows.fetchall()]
        con.execute("DROP TABLE ingest_actions")
    rejects = list(extra_rejects)
    for row in rejected:
        sheet = prepared.sheets[row["sheet"]]
        rejects.append(
            Reject(
                sheet.file,
                row["row_number"],
                _reason(row, sheet, ctx.max_chars, prepared.sheets),
                _raw_of(row),
            )
        )
    save_rejects(con, rejects, run_id=ctx.run_id, source=ctx.source)
    rows_read, in_file_duplicates = read_row if read_row else (0, 0)
    counts = Counts(
        read=rows_read + len(extra_rejects),
        loaded=actions.get("new", 0),
        updated=actions.get("changed", 0),
        duplicate=in_file_duplicates + actions.get("duplicate", 0),
        rejected=len(rejects),
    )
    add_run_counts(con, ctx.run_id, counts)
    return counts


def save_prepared(
    warehouse: Path,
    prepared: PreparedInput,
    ctx: MergeContext,
    *,
    on_batch: Callable[[Counts], None] | None = None,
    extra: Callable[[db.Connection, Batch], None] | None = None,
) -> Counts:
    """Merge every batch of a prepared input, one short write transaction each.

    A batch's rows are computed before its transaction opens, so the warehouse is locked only
    while they are merged. ``extra(con, batch)`` runs inside each batch's transaction after the
    merge (the API client advances its high-water mark there); ``on_batch`` is called after each
    commit.
    """
    total = Counts()
    pending_rejects = list(prepared.pre_rejects)
    batches = prepared.batches
    if not batches and pending_rejects:
        batches = [_NO_ROWS]  # nothing staged, but rows were refused before staging
    for batch in batches:
        rows = prepared.batch_table(batch)
        with db.write_transaction(warehouse) as con:
            counts = save_batch(con, prepared, rows, ctx, extra_rejects=pending_rejects)
            if extra is not None:
                extra(con, batch)
        pending_rejects = []
        total.add(counts)
        if on_batch is not None:
            on_batch(total)
    return total


# --- runs --------------------------------------------------------------------------------------


def start_run(warehouse: Path, source: str) -> str:
    """Create or upgrade the warehouse if needed and record a new run; returns its id."""
    db.init_warehouse(warehouse)
    run_id = str(uuid.uuid4())
    with db.write_transaction(warehouse) as con:
        con.execute(
            statements("queries/ingest_runs.sql")["start_run"], {"run_id": run_id, "source": source}
        )
    return run_id


def finish_run(warehouse: Path, run_id: str, status: str, message: str) -> None:
    with db.write_transaction(warehouse) as con:
        con.execute(
            statements("queries/ingest_runs.sql")["finish_run"],
            {"run_id": run_id, "status": status, "message": message[:4000]},
        )


def finish_files_run(
    warehouse: Path,
    run_id: str,
    source: str,
    heading: str,
    results: list[FileResult],
    total: Counts,
) -> RunResult:
    """Close a completed run over files: its summary names the files that could not be read."""
    failed = [r for r in results if r.status == "failed"]
    message = f"{heading} {len(results)} 个文件：{total.summary()}"
    if failed:
        message += f"；{len(failed)} 个文件无法读取：" + "；".join(r.message for r in failed)
    finish_run(warehouse, run_id, "completed", message)
    return RunResult(run_id, source, "completed", total, results, message)


def try_finish_failed(warehouse: Path, run_id: str, exc: BaseException) -> None:
    """Best effort: mark a run failed after an exception (the exception itself propagates)."""
    # The original exception matters more than a failure to record it.
    with contextlib.suppress(Exception):
        finish_run(warehouse, run_id, "failed", f"运行中断：{type(exc).__name__}：{exc}")


# --- moving files ---------------------------------------------------------------------------------


def _free_name(directory: Path, name: str) -> Path:
    target = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while target.exists() or target.with_name(target.name + ".reason.txt").exists():
        target = directory / f"{stem}-{n}{suffix}"
        n += 1
    return target


def move_processed(path: Path) -> Path:
    """Move a file into ``processed/`` beside it (never overwriting an earlier file)."""
    directory = path.parent / "processed"
    directory.mkdir(exist_ok=True)
    target = _free_name(directory, path.name)
    shutil.move(str(path), target)
    return target


def move_failed(path: Path, reason: str, run_id: str) -> Path:
    """Move a file into ``failed/`` beside it, with ``<name>.reason.txt`` explaining why."""
    directory = path.parent / "failed"
    directory.mkdir(exist_ok=True)
    target = _free_name(directory, path.name)
    shutil.move(str(path), target)
    stamp = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    target.with_name(target.name + ".reason.txt").write_text(
        f"{reason}\n\n文件：{path.name}\n时间：{stamp}\n导入批次：{run_id}\n"
        "请修正后把文件放回收件箱重新导入。\n",
        encoding="utf-8",
    )
    return target


# --- orchestration -----------------------------------------------------------------------------


def _check_channel(channel: str) -> None:
    if channel not in FILE_CHANNELS:
        raise ValueError(f"未知渠道 {channel}：应为 {'、'.join(FILE_CHANNELS)} 之一")


def ingest_feedback_file(
    warehouse: Path,
    path: Path,
    ctx: MergeContext,
    *,
    now: datetime | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    engine: str = "auto",
    on_batch: Callable[[Counts], None] | None = None,
    memory_limit: str = DEFAULT_SCRATCH_MEMORY,
) -> Counts:
    """Read, prepare and save one file (raises ``FileUnreadable`` before anything is saved)."""
    with (
        tempfile.TemporaryDirectory(prefix="lm-ingest-") as tmp,
        Scratch(Path(tmp), memory_limit=memory_limit) as scratch,
    ):
        loaded = read_feedback_file(path, scratch, engine=engine)
        prepared = prepare_feedback(
            scratch,
            loaded,
            now=now or datetime.now(SHANGHAI),
            batch_rows=batch_rows,
            max_chars=ctx.max_chars,
        )
        return save_prepared(warehouse, prepared, ctx, on_batch=on_batch)


def ingest_feedback_files(
    warehouse: Path,
    paths: Sequence[Path],
    channel: str,
    *,
    move: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    now: datetime | None = None,
    on_progress: ProgressHook | None = None,
    engine: str = "auto",
    max_chars: int = MAX_TEXT_CHARS,
    memory_limit: str = DEFAULT_SCRATCH_MEMORY,
) -> RunResult:
    """Ingest feedback files of one channel as one run (one ``ingest_runs`` row).

    A file that cannot be read at all is reported (and, with ``move``, moved to ``failed/`` with
    a reason file); the other files still load. With ``move``, loaded files go to ``processed/``.
    Any other exception (warehouse busy, disk full, a crash injected by ``on_progress``) marks the
    run failed and propagates: committed batches stay, and a re-run adds only what is missing.
    """
    _check_channel(channel)
    source = f"file:{channel}"
    run_id = start_run(warehouse, source)
    ctx = MergeContext(run_id, source, channel, max_chars)
    started = time.monotonic()
    total = Counts()
    results: list[FileResult] = []
    try:
        for path in paths:
            done_before = total.read
            file_counts = Counts()

            def report(
                kind: str,
                name: str = path.name,
                before: int = done_before,
                fc: Counts = file_counts,
            ) -> None:
                if on_progress is not None:
                    elapsed = time.monotonic() - started
                    rows = fc.read
                    on_progress(ProgressEvent(kind, name, rows, before + rows, elapsed))

            def on_batch(so_far: Counts, fc: Counts = file_counts) -> None:
                fc.set_to(so_far)
                report("batch")

            try:
                ingest_feedback_file(
                    warehouse,
                    path,
                    ctx,
                    now=now,
                    batch_rows=batch_rows,
                    engine=engine,
                    on_batch=on_batch,
                    memory_limit=memory_limit,
                )
            except FileUnreadable as exc:
                result = FileResult(path, "failed", file_counts, str(exc))
                if move and path.exists():
                    result.moved_to = move_failed(path, str(exc), run_id)
            else:
                result = FileResult(path, "completed", file_counts, file_counts.summary())
                if move:
                    result.moved_to = move_processed(path)
            results.append(result)
            total.add(file_counts)
            report("file")
    except BaseException as exc:
        try_finish_failed(warehouse, run_id, exc)
        raise
    return finish_files_run(warehouse, run_id, source, "共", results, total)


_PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".reason.txt")


def inbox_files(inbox_dir: Path, *, settle_s: float = 2.0) -> list[Path]:
    """Files waiting in an inbox folder, by name. Hidden files, Excel lock files (``~$x.xlsx``),
    partial uploads and files modified in the last ``settle_s`` seconds (probably still being
    copied) are left for the next run."""
    if not inbox_dir.is_dir():
        return []
    cutoff = time.time() - settle_s
    found = []
    for path in sorted(inbox_dir.iterdir()):
        name = path.name
        if not path.is_file() or name.startswith((".", "~$")) or name.endswith(_PARTIAL_SUFFIXES):
            continue
        if settle_s > 0 and path.stat().st_mtime > cutoff:
            continue
        found.append(path)
    return found


def ingest_inbox(
    warehouse: Path,
    inbox_dir: Path,
    channel: str,
    *,
    settle_s: float = 2.0,
    **options: Any,
) -> RunResult:
    """Ingest every file waiting in ``inbox_dir``: loaded files move to ``processed/``, files that
    cannot be read to ``failed/`` with a ``<name>.reason.txt`` beside them."""
    files = inbox_files(inbox_dir, settle_s=settle_s)
    return ingest_feedback_files(warehouse, files, channel, move=True, **options)
