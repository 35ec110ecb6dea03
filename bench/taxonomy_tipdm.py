"""Taxonomy mode on real message-board data (TipDM Cup 2020 problem C, read from ../shared).

    .venv/bin/python bench/taxonomy_tipdm.py [--shared ../shared] [--folds 5] [--learned-weight W]

Labels: the first-level classes of 附件1, each described by its second/third-level terms.
1. zero-shot over all 15 classes, and over the 7 classes that occur in 附件2;
2. k-fold (stratified by class, fixed seed) with 附件2's 495 labelled messages as training data.
Prints accuracy and macro-F1 for each. The data is never copied into the project.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from livelihood_monitor.classify import Example
from livelihood_monitor.evaluate import LabelledMessage, Report, evaluate
from livelihood_monitor.taxonomy import TAXONOMY_PARAMS, read_tree_csv, taxonomy_classifier

REPO = Path(__file__).resolve().parents[1]


def read_messages(path: Path) -> list[LabelledMessage]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            LabelledMessage(
                row["留言编号"],
                row["一级分类"].strip(),
                f"{row['留言主题'].strip()}\n{' '.join(row['留言详情'].split())}",
            )
            for row in csv.DictReader(fh)
        ]


def folds(messages: list[LabelledMessage], k: int, seed: int = 7) -> list[list[int]]:
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(messages):
        by_label[m.label].append(i)
    rng = random.Random(seed)
    parts: list[list[int]] = [[] for _ in range(k)]
    position = 0
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        for i in items:
            parts[position % k].append(i)
            position += 1
    return parts


def line(name: str, report: Report) -> str:
    return f"{name:<42} accuracy {report.accuracy:6.1%}   macro-F1 {report.macro_f1():.3f}   n={report.total}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--learned-weight", type=float, default=TAXONOMY_PARAMS.learned_weight)
    args = parser.parse_args()
    data = args.shared / "data" / "raw" / "tipdm2020c"
    if not data.is_dir():
        raise SystemExit(f"找不到 {data}：本基准需要 ../shared 中的 TipDM 数据。")
    labels = read_tree_csv(data / "附件1_标签体系.csv")
    messages = read_messages(data / "附件2_示例495条_一级标签.csv")
    present = {m.label for m in messages}
    params = replace(TAXONOMY_PARAMS, learned_weight=args.learned_weight)
    print(
        f"taxonomy: {len(labels)} first-level classes; labelled messages: {len(messages)} "
        f"in {len(present)} classes"
    )

    print(
        line(
            "zero-shot, 15 classes", evaluate(taxonomy_classifier(labels, params=params), messages)
        )
    )
    seven = [lb for lb in labels if lb.code in present]
    print(
        line(
            "zero-shot, the 7 classes present",
            evaluate(taxonomy_classifier(seven, params=params), messages),
        )
    )

    total = Report()
    for held in folds(messages, args.folds):
        held_set = set(held)
        train = [Example(m.text, m.label) for i, m in enumerate(messages) if i not in held_set]
        clf = taxonomy_classifier(labels, train, params)
        part = evaluate(clf, [messages[i] for i in held])
        total.total += part.total
        total.correct += part.correct
        total.top3 += part.top3
        total.confusions.update(part.confusions)
        total.per_label.update(part.per_label)
        total.per_label_correct.update(part.per_label_correct)
    print(line(f"{args.folds}-fold trained on 附件2, 15 classes", total))
    print("most confused (gold -> predicted: count):")
    for (gold, predicted), n in total.confusions.most_common(6):
        print(f"  {gold} -> {predicted}: {n}")


if __name__ == "__main__":
    main()
