"""Measuring a classifier on labelled messages, with "none of the projects" counted as a class."""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from livelihood_monitor.classify import NONE, Classifier, Example


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    label: str  # a label code or NONE
    text: str


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    top3: int = 0
    none_true: int = 0  # gold NONE
    none_predicted: int = 0
    none_hit: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_label: Counter[str] = field(default_factory=Counter)
    per_label_correct: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # id, gold, predicted, text

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def top3_accuracy(self) -> float:
        return self.top3 / self.total if self.total else 0.0

    @property
    def none_precision(self) -> float:
        return self.none_hit / self.none_predicted if self.none_predicted else 0.0

    @property
    def none_recall(self) -> float:
        return self.none_hit / self.none_true if self.none_true else 0.0

    def macro_f1(self) -> float:
        labels = set(self.per_label) | {p for (_, p) in self.confusions}
        f1s = []
        for label in labels:
            tp = self.per_label_correct[label]
            fn = self.per_label[label] - tp
            fp = sum(n for (g, p), n in self.confusions.items() if p == label and g != label)
            denom = 2 * tp + fp + fn
            f1s.append(2 * tp / denom if denom else 0.0)
        return sum(f1s) / len(f1s) if f1s else 0.0

    def add(self, other: Report) -> None:
        """Fold another report (a cross-validation fold) into this one, every field: counts add,
        counters and the error list grow."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, int):
                setattr(self, f.name, mine + theirs)
            elif isinstance(mine, list):
                mine.extend(theirs)
            else:
                mine.update(theirs)

    def summary_lines(self, worst: int = 10) -> list[str]:
        lines = [
            f"样本数：{self.total}",
            f"准确率（含“无关项目”类）：{self.accuracy:.1%}",
            f"前三命中率：{self.top3_accuracy:.1%}",
            f"“无关项目”精确率：{self.none_precision:.1%}  召回率：{self.none_recall:.1%}",
            f"宏平均 F1：{self.macro_f1():.3f}",
        ]
        if self.confusions:
            lines.append("最常混淆（正确 → 预测：次数）：")
            for (gold, predicted), n in self.confusions.most_common(worst):
                lines.append(f"  {gold} → {predicted}：{n}")
        return lines


def read_labelled(path: Path) -> list[LabelledMessage]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "label", "text"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path.name}：缺少列 {'、'.join(sorted(missing))}（需要 id,label,text）"
            )
        return [
            LabelledMessage(row["id"], (row["label"] or NONE).strip().upper(), row["text"] or "")
            for row in reader
        ]


def evaluate(classifier: Classifier, messages: Iterable[LabelledMessage]) -> Report:
    report = Report()
    for message in messages:
        result = classifier.classify(message.text)
        predicted = result.code or NONE
        report.total += 1
        report.per_label[message.label] += 1
        if predicted == message.label:
            report.correct += 1
            report.per_label_correct[message.label] += 1
        else:
            report.confusions[(message.label, predicted)] += 1
            report.errors.append((message.id, message.label, predicted, message.text))
        if message.label in {c for c, _ in result.candidates}:
            report.top3 += 1
        if message.label == NONE:
            report.none_true += 1
        if predicted == NONE:
            report.none_predicted += 1
            if message.label == NONE:
                report.none_hit += 1
    return report


def stratified_folds(messages: Sequence[LabelledMessage], k: int, seed: int = 7) -> list[list[int]]:
    """``k`` lists of message positions, each label spread evenly over them (shuffled by seed)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, message in enumerate(messages):
        by_label[message.label].append(i)
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


def cross_validate(
    messages: Sequence[LabelledMessage],
    build: Callable[[Sequence[Example]], Classifier],
    k: int = 5,
    seed: int = 7,
) -> Report:
    """k-fold: ``build`` a classifier from the other folds' messages as examples, evaluate it on
    the held-out fold; one report over all folds."""
    total = Report()
    for held in stratified_folds(messages, k, seed):
        held_set = set(held)
        train = [Example(m.text, m.label) for i, m in enumerate(messages) if i not in held_set]
        total.add(evaluate(build(train), [messages[i] for i in held]))
    return total
