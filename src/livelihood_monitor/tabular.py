"""Reading the spreadsheets a city really receives: CSV in any of UTF-8, UTF-8 with BOM or
GB18030 (what Excel in China saves), and XLSX with title rows above the header and several sheets.

Headers are matched to canonical column names through alias lists, so ``反映内容`` and ``text``
land in the same place. Rows are streamed with the row number an operator sees in Excel.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HEADER_SCAN_ROWS = 15
_ENCODINGS = ("utf-8-sig", "gb18030")
_ENCODING_LABELS = {"utf-8-sig": "UTF-8", "gb18030": "GB18030"}
csv.field_size_limit(64 * 1024 * 1024)  # a resident may paste a whole document into one cell


class FileUnreadable(Exception):
    """The whole file cannot be used; the message says why, in Chinese, for an operator."""


@dataclass(frozen=True)
class SourceRow:
    row_number: int  # as the operator sees it in Excel or a text editor (header row included)
    values: dict[str, Any]  # canonical column -> cell value (str for CSV; typed for XLSX)
    raw: str  # the row as received, for rejected_rows


@dataclass
class Sheet:
    path: Path
    name: str | None  # XLSX sheet name; None for CSV
    encoding: str | None
    header_row: int
    columns: dict[str, str]  # canonical -> header as written
    rows: Iterator[SourceRow] = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.name}]" if self.name else self.path.name


def normalise_header(text: object) -> str:
    """Fold full-width letters, drop spaces and case so ``反映 内容`` and ``ＴＥＸＴ`` still match."""
    folded = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(folded.split()).lower().replace("（", "(").replace("）", ")")


def _alias_index(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in (canonical, *names):
            index[normalise_header(name)] = canonical
    return index


def _map_header(cells: Sequence[object], index: Mapping[str, str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for pos, cell in enumerate(cells):
        canonical = index.get(normalise_header(cell))
        if canonical and canonical not in mapping.values():
            mapping[pos] = canonical
    return mapping


def detect_encoding(path: Path) -> str:
    """Try UTF-8 (with or without BOM) on the whole file, streaming; otherwise GB18030."""
    for encoding in _ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileUnreadable(
        f"{path.name}：无法识别文件编码（既不是 UTF-8 也不是 GB18030/GBK）；"
        "请在 Excel 中另存为“CSV UTF-8”后重新导入。"
    )


def display_name(canonical: str, aliases: Mapping[str, Sequence[str]]) -> str:
    """The first Chinese alias of a column, for messages; the canonical name otherwise."""
    for name in aliases.get(canonical, ()):
        if any("\u4e00" <= ch <= "\u9fff" for ch in name):
            return name
    return canonical


def _find_header(
    rows: Sequence[Sequence[object]],
    index: Mapping[str, str],
    required: Sequence[str],
    label: str,
    aliases: Mapping[str, Sequence[str]],
) -> tuple[int, dict[int, str]]:
    best: tuple[int, dict[int, str]] | None = None
    for offset, cells in enumerate(rows):
        mapping = _map_header(cells, index)
        if best is None or len(mapping) > len(best[1]):
            best = (offset, mapping)
        if len(mapping) >= min(2, len(index)) and set(required) <= set(mapping.values()):
            return offset, mapping
    if best is None or not best[1]:
        raise FileUnreadable(
            f"{label}：前 {_HEADER_SCAN_ROWS} 行中找不到表头，请检查文件内容和列名。"
        )
    missing = [display_name(c, aliases) for c in required if c not in best[1].values()]
    raise FileUnreadable(
        f"{label}：缺少必需列 {'、'.join(missing)}（表头在第 {best[0] + 1} 行）；"
        "请按模板补上这些列后重新导入。"
    )


def _row_text(cells: Sequence[object]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if c is None else c for c in cells])
    return out.getvalue().rstrip("\r\n")


def _iter_rows(
    rows: Iterator[Sequence[object]], mapping: Mapping[int, str], first_number: int
) -> Iterator[SourceRow]:
    for number, cells in enumerate(rows, start=first_number):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue  # blank lines are layout, not data
        values = {name: (cells[pos] if pos < len(cells) else None) for pos, name in mapping.items()}
        yield SourceRow(number, values, _row_text(cells))


def _read_csv(
    path: Path, aliases: Mapping[str, Sequence[str]], required: Sequence[str]
) -> Iterator[Sheet]:
    index = _alias_index(aliases)
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding, newline="")
    reader = csv.reader(fh)
    head: list[list[str]] = []
    for cells in reader:
        head.append(cells)
        if len(head) >= _HEADER_SCAN_ROWS:
            break
    if not head:
        fh.close()
        raise FileUnreadable(f"{path.name}：文件是空的，没有任何数据。")
    offset, mapping = _find_header(head, index, required, path.name, aliases)

    def rows() -> Iterator[Sequence[object]]:
        try:
            yield from head[offset + 1 :]
            yield from reader
        finally:
            fh.close()

    yield Sheet(
        path,
        None,
        _ENCODING_LABELS[encoding],
        offset + 1,
        {name: str(head[offset][pos]).strip() for pos, name in mapping.items()},
        _iter_rows(rows(), mapping, offset + 2),
    )


def _read_xlsx(
    path: Path, aliases: Mapping[str, Sequence[str]], required: Sequence[str]
) -> Iterator[Sheet]:
    index = _alias_index(aliases)
    import openpyxl  # imported lazily: most runs read CSV only

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise FileUnreadable(
            f"{path.name}：Excel 文件已损坏或不完整，无法打开（{type(exc).__name__}）；"
            "请重新导出或重新上传该文件。"
        ) from exc
    usable = 0
    problems: list[str] = []
    try:
        for ws in book.worksheets:
            label = f"{path.name}[{ws.title}]"
            rows = ws.iter_rows(values_only=True)
            head = [list(r) for _, r in zip(range(_HEADER_SCAN_ROWS), rows, strict=False)]
            if not any(any(c not in (None, "") for c in r) for r in head):
                continue  # empty sheet
            try:
                offset, mapping = _find_header(head, index, required, label, aliases)
            except FileUnreadable as exc:
                problems.append(str(exc))
                continue
            usable += 1

            def sheet_rows(
                head: list[list[Any]] = head, offset: int = offset, rest: Any = rows
            ) -> Iterator[Sequence[object]]:
                yield from head[offset + 1 :]
                yield from rest

            yield Sheet(
                path,
                ws.title,
                None,
                offset + 1,
                {name: str(head[offset][pos]).strip() for pos, name in mapping.items()},
                _iter_rows(sheet_rows(), mapping, offset + 2),
            )
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise FileUnreadable(
            f"{path.name}：Excel 文件内容不完整（读取到一半失败）；请重新导出该文件。"
        ) from exc
    finally:
        book.close()
    if not usable:
        raise FileUnreadable("；".join(problems) or f"{path.name}：工作簿中没有任何数据。")


def read_sheets(
    path: Path, aliases: Mapping[str, Sequence[str]], required: Sequence[str] = ()
) -> Iterator[Sheet]:
    """Yield each usable sheet of a CSV or XLSX file, header located and mapped to canonical names.

    Raises ``FileUnreadable`` when nothing in the file can be used (missing column, broken file).
    """
    if not path.is_file():
        raise FileUnreadable(f"找不到文件：{path}")
    if path.stat().st_size == 0:
        raise FileUnreadable(f"{path.name}：文件是空的，没有任何数据。")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        yield from _read_xlsx(path, aliases, required)
    elif suffix in {".csv", ".txt", ".tsv"}:
        yield from _read_csv(path, aliases, required)
    else:
        raise FileUnreadable(
            f"{path.name}：不支持的文件类型 {suffix or '（无扩展名）'}；请提供 CSV 或 XLSX 文件。"
        )
