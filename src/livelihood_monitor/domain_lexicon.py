"""The domain lexicon: curated data about how residents talk about livelihood topics.

The classifier is built from a year's registry plus this lexicon, never from rules per project
code, so a new year's list works without code changes. Files live in ``lexicon/`` as plain UTF-8
(TOML and text); a city may point ``LM_LEXICON_DIR`` at its own copy.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from livelihood_monitor.config import PACKAGE_DIR

DEFAULT_LEXICON_DIR = PACKAGE_DIR / "lexicon"


@dataclass(frozen=True)
class Concept:
    """A theme and the words residents use for it; ``anchors`` link it to projects."""

    id: str
    terms: tuple[str, ...]
    weak: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class NearMiss:
    """Words that share vocabulary with a concept but are not its subject (电梯故障 ≠ 加装电梯)."""

    id: str
    terms: tuple[str, ...]
    suppresses: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    concepts: tuple[Concept, ...]
    near_misses: tuple[NearMiss, ...] = ()
    topics: tuple[Concept, ...] = ()  # themes that are none of the projects' (物业费, 噪音)
    stopwords: frozenset[str] = frozenset()
    places: dict[str, str] = field(default_factory=dict)
    message_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    safety_terms: tuple[str, ...] = ()
    escalation_terms: tuple[str, ...] = ()
    stalled_terms: tuple[str, ...] = ()
    examples: tuple[tuple[str, str], ...] = ()  # (concept id or NONE, message)

    def all_terms(self) -> set[str]:
        """Every phrase the tokenizer must keep whole."""
        words: set[str] = set(self.places)
        for concept in (*self.concepts, *self.topics):
            words.update(concept.terms, concept.weak, concept.anchors)
        for near in self.near_misses:
            words.update(near.terms)
        for terms in self.message_types.values():
            words.update(terms)
        words.update(self.safety_terms, self.escalation_terms, self.stalled_terms)
        return {w for w in words if len(w) >= 2}


def _strings(entry: dict[str, Any], key: str, source: Path) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{source.name}：{entry.get('id', '?')} 的 {key} 应为字符串列表")
    return tuple(v.strip() for v in value if v.strip())


def _concept(entry: dict[str, Any], source: Path) -> Concept:
    return Concept(
        id=str(entry["id"]),
        terms=_strings(entry, "terms", source),
        weak=_strings(entry, "weak", source),
        anchors=_strings(entry, "anchors", source),
    )


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def load_lexicon(directory: Path | None = None) -> Lexicon:
    """Read a lexicon folder; a missing optional file means an empty part."""
    folder = directory or Path(os.environ.get("LM_LEXICON_DIR", DEFAULT_LEXICON_DIR))
    return _load_cached(folder.resolve())


@lru_cache(maxsize=4)
def _load_cached(folder: Path) -> Lexicon:
    concepts_file = folder / "concepts.toml"
    with concepts_file.open("rb") as fh:
        data = tomllib.load(fh)
    concepts = tuple(_concept(e, concepts_file) for e in data.get("concept", []))
    topics = tuple(_concept(e, concepts_file) for e in data.get("topic", []))
    near = tuple(
        NearMiss(
            str(e["id"]),
            _strings(e, "terms", concepts_file),
            _strings(e, "suppresses", concepts_file),
        )
        for e in data.get("near_miss", [])
    )
    known = {c.id for c in concepts}
    for n in near:
        unknown = set(n.suppresses) - known
        if unknown:
            raise ValueError(f"{concepts_file.name}：near_miss {n.id} 引用了不存在的概念 {unknown}")
    places: dict[str, str] = {}
    for line in _read_lines(folder / "places.txt"):
        name, _, kind = line.partition("\t")
        places[name.strip()] = kind.strip() or "place"
    types: dict[str, tuple[str, ...]] = {}
    safety: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    stalled: tuple[str, ...] = ()
    types_file = folder / "message_types.toml"
    if types_file.is_file():
        with types_file.open("rb") as fh:
            tdata = tomllib.load(fh)
        types = {k: _strings(v, "terms", types_file) for k, v in tdata.get("types", {}).items()}
        urgency = tdata.get("urgency", {})
        safety = _strings(urgency, "safety", types_file)
        escalation = _strings(urgency, "escalation", types_file)
        stalled = _strings(tdata.get("stalled", {}), "terms", types_file)
    examples: list[tuple[str, str]] = []
    for path in sorted(folder.glob("examples*.tsv")):  # one file per writer or source
        for number, line in enumerate(_read_lines(path)[1:], start=2):
            label, _, text = line.partition("\t")
            if not text.strip():
                raise ValueError(f"{path.name} 第{number}行：应为“概念<TAB>留言”")
            examples.append((label.strip(), text.strip()))
    return Lexicon(
        examples=tuple(examples),
        concepts=concepts,
        near_misses=near,
        topics=topics,
        stopwords=frozenset(_read_lines(folder / "stopwords.txt")),
        places=places,
        message_types=types,
        safety_terms=safety,
        escalation_terms=escalation,
        stalled_terms=stalled,
    )
