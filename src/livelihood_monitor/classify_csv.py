"""The stateless ``classify`` contract: ``id,text`` in, ``id,project_code,confidence,candidates`` out.

Streams row by row so memory stays flat however long the file. Problem rows still get an output
row (project_code empty) and are listed in the summary, never dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from livelihood_monitor.classify import MAX_CHARS, Classification, Classifier
from livelihood_monitor.tabular import FileUnreadable, detect_encoding

OUTPUT_COLUMNS = ["id", "project_code", "confidence", "candidates"]
EXPLAIN_COLUMNS = ["also", "matched_terms", "message_type", "urgency", "reason"]


@dataclass
class ClassifySummary:
    rows: int = 0
    matched: int = 0
    none: int = 0
    notes: list[str] = field(default_factory=list)  # Chinese, one per problem row


def escape_formula(cell: str) -> str:
    """A cell Excel would run as a formula (=, +, -, @) gets a leading apostrophe."""
    return "'" + cell if cell[:1] in {"=", "+", "-", "@"} else cell


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        missing = {"id", "text"} - set(fields)
        if missing:
            raise FileUnreadable(
                f"{path.name}：缺少列 {'、'.join(sorted(missing))}；输入文件须有表头 id,text（UTF-8）。"
            )
        reader.fieldnames = fields
        yield from enumerate(reader, start=2)


def classify_csv(
    classifier: Classifier, input_path: Path, output_path: Path, *, explain: bool = False
) -> ClassifySummary:
    summary = ClassifySummary()
    seen: dict[str, int] = {}
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(OUTPUT_COLUMNS + (EXPLAIN_COLUMNS if explain else []))
        for number, row in _rows(input_path):
            ident = (row.get("id") or "").strip()
            text = row.get("text")
            where = f"第{number}行（id={ident or '空'}）"
            if not ident:
                summary.notes.append(f"{where}：缺少 id，仍已输出分类结果")
            elif ident in seen:
                summary.notes.append(f"{where}：id 与第{seen[ident]}行重复，两行都已输出")
            else:
                seen[ident] = number
            if text is not None and len(text) > MAX_CHARS:
                summary.notes.append(f"{where}：文本长 {len(text)} 字，只按前 {MAX_CHARS} 字分类")
            result: Classification = classifier.classify(text)
            if result.reason:
                summary.notes.append(f"{where}：{result.reason}，判为不属于任何项目")
            summary.rows += 1
            if result.code:
                summary.matched += 1
            else:
                summary.none += 1
            line = [
                escape_formula(ident),
                result.code or "",
                f"{result.confidence:.4f}",
                result.candidates_text(),
            ]
            if explain:
                line += [
                    ";".join(result.also),
                    ";".join(result.matched_terms),
                    result.message_type,
                    str(result.urgency),
                    result.reason or "",
                ]
            writer.writerow(line)
    return summary
