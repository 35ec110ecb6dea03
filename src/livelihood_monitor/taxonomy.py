"""Taxonomy mode: the classifier's machinery on any label set that comes with descriptions.

A label is described by its own name and the names of its sub-classes (e.g. the 3-level
category tree of a message board). With no examples this is zero-shot; examples (training data
or corrections) add learned evidence exactly as in project mode.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from livelihood_monitor.classify import Classifier, Example, Label, Params
from livelihood_monitor.domain_lexicon import Lexicon, load_lexicon


def labels_from_tree(rows: Iterable[Sequence[str]]) -> list[Label]:
    """Rows of ``(level1, level2, level3, ...)`` → one label per first-level class, described by
    the names of its second- and third-level classes."""
    children: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    order: list[str] = []
    for row in rows:
        cells = [c.strip() for c in row if c and c.strip()]
        if not cells:
            continue
        top = cells[0]
        if top not in children:
            order.append(top)
        if len(cells) > 1:
            children[top][cells[1]].update(cells[2:])
        else:
            children[top]
    labels = []
    for top in order:
        seconds = sorted(children[top])
        thirds = sorted({t for s in seconds for t in children[top][s]} - {"其他"})
        labels.append(
            Label(top, top, ((top, 1.0), (" ".join(seconds), 0.6), (" ".join(thirds), 0.5)))
        )
    return labels


def read_tree_csv(path: Path) -> list[Label]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)  # header
        return labels_from_tree(reader)


def taxonomy_lexicon() -> Lexicon:
    """Only the generic parts of the domain lexicon: stopwords, places, message-type cues.
    Project concepts and examples belong to livelihood projects, not to a foreign taxonomy."""
    base = load_lexicon()
    return replace(base, concepts=(), near_misses=(), topics=(), examples=())


# Chosen with bench/taxonomy_tipdm.py (5-fold on TipDM 附件2): on long message-board posts the
# naive Bayes posterior is overconfident and hurt (67-73%), smoothed log-odds terms helped (79%).
TAXONOMY_PARAMS = Params(
    abstain=False, use_seed_examples=False, bayes_weight=0.0, learned_weight=0.05
)


def taxonomy_classifier(
    labels: Sequence[Label], examples: Iterable[Example] = (), params: Params | None = None
) -> Classifier:
    return Classifier(labels, taxonomy_lexicon(), examples, params or TAXONOMY_PARAMS)
