"""Classifier accuracy on three labelled sets written by different people, next to a baseline.

    .venv/bin/python bench/classify_accuracy.py [MORE.csv ...] [--confusions N]

Sets: tests/fixtures/dev_messages.csv (the team's dev set), tests/fixtures/holdout_messages.csv
(a held-out set in a different voice, never tuned on) and the bundled sample feedback with its
answer key (sample_data/labels, written by a third writer). None of them is training data: the
classifier learns only from lexicon/examples*.tsv. Baseline: the same machinery with the
registry's own words only (no lexicon, no examples), comparable to a plain BM25 over names and
targets. "NONE" (none of the projects) counts as a class. Further labelled files (``id,label,text``)
given on the command line are evaluated too, e.g. bench/data/fresh_*.csv, sets written by an
independent writer who saw only the registry and the product brief.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import replace
from pathlib import Path

from livelihood_monitor.classify import Classifier, Params, labels_from_projects
from livelihood_monitor.config import DEFAULT_REGISTRY, SAMPLE_DATA_DIR
from livelihood_monitor.domain_lexicon import load_lexicon
from livelihood_monitor.evaluate import LabelledMessage, evaluate, read_labelled
from livelihood_monitor.registry import read_registry
from livelihood_monitor.tabular import read_sheets

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def sample_set() -> list[LabelledMessage]:
    """The bundled sample feedback joined with its answer key."""
    aliases = {
        "source_id": ("编号", "序号"),
        "text": ("反映内容", "留言详情"),
        "title": ("留言主题",),
    }
    texts: dict[tuple[str, ...], str] = {}
    for path in sorted((SAMPLE_DATA_DIR / "feedback").rglob("*")):
        if path.suffix not in {".csv", ".xlsx"}:
            continue
        for sheet in read_sheets(path, aliases, ("text",)):
            for cells in sheet.rows:
                key = (
                    str(path.relative_to(SAMPLE_DATA_DIR)),
                    sheet.name or "",
                    str(cells.row_number),
                )
                title = str(cells.values.get("title") or "")
                texts[key] = f"{title} {cells.values.get('text') or ''}".strip()
    opinions = json.loads((SAMPLE_DATA_DIR / "direct_channel" / "opinions.json").read_text("utf-8"))
    for item in opinions:
        texts[("direct", item["id"])] = item["content"]
    labelled: list[LabelledMessage] = []
    with (SAMPLE_DATA_DIR / "labels" / "feedback_labels.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            answer: tuple[str, ...] = (
                ("direct", row["source_id"])
                if row["channel"] == "direct_channel"
                else (row["file"], row["sheet"], row["row"])
            )
            if texts.get(answer):
                labelled.append(
                    LabelledMessage(
                        f"s{len(labelled)}", row["project_code"] or "NONE", texts[answer]
                    )
                )
    return labelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("more", nargs="*", type=Path, help="further labelled CSV files")
    parser.add_argument("--confusions", type=int, default=0, help="print the N worst pairs")
    args = parser.parse_args()
    projects = read_registry(DEFAULT_REGISTRY, 2025)
    lexicon = load_lexicon()
    full = Classifier(labels_from_projects(projects), lexicon)
    bare_lexicon = replace(lexicon, concepts=(), near_misses=(), topics=(), examples=())
    baseline = Classifier(
        labels_from_projects(projects), bare_lexicon, params=Params(use_seed_examples=False)
    )
    sets = {
        "dev (team)": read_labelled(FIXTURES / "dev_messages.csv"),
        "holdout (never tuned on)": read_labelled(FIXTURES / "holdout_messages.csv"),
        "sample feedback (3rd writer)": sample_set(),
    }
    for path in args.more:
        sets[path.name] = read_labelled(path)
    print(
        f"{'set':<30}{'n':>5}  {'baseline top-1':>15}  {'top-1':>7}  {'top-3':>7}  "
        f"{'NONE P/R':>11}  {'macro-F1':>8}"
    )
    for name, messages in sets.items():
        base = evaluate(baseline, messages)
        report = evaluate(full, messages)
        print(
            f"{name:<30}{report.total:>5}  {base.accuracy:>15.1%}  {report.accuracy:>7.1%}  "
            f"{report.top3_accuracy:>7.1%}  {report.none_precision:>5.0%}/{report.none_recall:<5.0%}  "
            f"{report.macro_f1():>8.3f}"
        )
        for (gold, predicted), n in report.confusions.most_common(args.confusions):
            print(f"    {gold} -> {predicted}: {n}")


if __name__ == "__main__":
    main()
