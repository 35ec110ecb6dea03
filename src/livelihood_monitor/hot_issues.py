"""Hot issues: near-duplicate messages grouped into one issue with a heat score.

Residents report the same broken thing many times. Messages are grouped when they concern the
same project and the same place and share most of their words; the heat of a group grows with
the number of reports, their recency and, where a source has them, likes.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# Anonymised or real administrative names: "A3区", "广陵区", "春华镇", "汶河街道", "金鼎村".
_PLACE = re.compile(r"[A-Z]\d*[市区县]|[\u4e00-\u9fff]{2,4}(?:区|县|街道|镇|乡|村|社区|小区|新村)")


@dataclass(frozen=True)
class Message:
    id: str
    project: str | None  # project code (or any class); None = none of the projects
    words: frozenset[str]  # content words, as the classifier tokenised them
    text: str
    submitted_at: datetime | None = None
    likes: int = 0
    place: str | None = None  # a known place; found in the text when not given


@dataclass
class HotIssue:
    project: str | None
    place: str | None
    words: set[str]  # what the group's messages say
    message_ids: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    likes: int = 0
    heat: float = 0.0
    sample: str = ""  # the representative message text

    @property
    def count(self) -> int:
        return len(self.message_ids)

    def label(self, top: int = 4) -> str:
        """A short heading: place and the group's most typical words."""
        return "、".join(sorted(self.words, key=len, reverse=True)[:top])


def find_place(text: str, known_places: Iterable[str] = ()) -> str | None:
    for place in known_places:
        if place in text:
            return place
    match = _PLACE.search(text)
    return match.group(0) if match else None


def _similarity(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Cosine on word sets: short texts (路灯坏了 / 路灯不亮) may group on one shared word, texts of
    three or more words each need two at the default threshold (1/3 < 0.45)."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _without_place(words: frozenset[str], place: str | None) -> frozenset[str]:
    """Words minus pieces of the place (A7县 → A7, 广陵区 → 广陵): every message of the bucket has
    them, and they let a group's core shrink to the place and take in every message of it. A
    message that says nothing but its place keeps its words."""
    if not place:
        return words
    rest = frozenset(w for w in words if w not in place)
    return rest or words


def _core(counts: dict[str, int], members: int) -> set[str]:
    """Words at least half the members used; at least the two most used (earliest first on a
    tie), so a core never shrinks to one word that matches anything containing it."""
    core = {w for w, n in counts.items() if n * 2 >= members}
    if len(core) < 2:
        ranked = sorted(counts, key=lambda w: -counts[w])  # stable: first-seen order on ties
        core = set(ranked[:2])
    return core


def _majority(projects: Counter[str | None]) -> str | None:
    """The project most messages have; a classified one over None; the earliest on a tie."""
    classified = Counter({p: n for p, n in projects.items() if p is not None})
    return (classified or projects).most_common(1)[0][0]


def group_hot_issues(
    messages: Iterable[Message],
    *,
    now: datetime | None = None,
    min_similarity: float = 0.45,
    half_life_days: float = 30.0,
    known_places: Sequence[str] = (),
    by_project: bool = True,
) -> list[HotIssue]:
    """Group messages into issues, hottest first.

    Greedy single pass per (project, place) bucket: a message joins the issue whose core words
    it shares most (cosine on word sets ≥ ``min_similarity``, see ``_similarity``; pieces of the
    place left out), else it starts a new issue. The core of an issue starts as its first
    message's words and becomes the words most members repeat (``_core``), so the group does
    not drift as it grows.

    ``by_project=False`` groups by place and wording only and gives each issue the project most
    of its messages have: for coarse, noisy classes (a message board's categories) where the
    same complaint lands in two classes.
    """
    buckets: dict[tuple[str | None, str | None], list[HotIssue]] = defaultdict(list)
    word_counts: dict[int, dict[str, int]] = {}
    votes: dict[int, Counter[str | None]] = defaultdict(Counter)  # by_project=False only
    issues: list[HotIssue] = []
    for message in messages:
        place = message.place or find_place(message.text, known_places)
        bucket = buckets[(message.project if by_project else None, place)]
        words = _without_place(message.words, place)
        best, best_sim = None, min_similarity
        for issue in bucket:
            sim = _similarity(words, issue.words)
            if sim >= best_sim:
                best, best_sim = issue, sim
        if best is None:
            best = HotIssue(message.project, place, set(words), sample=message.text)
            bucket.append(best)
            issues.append(best)
            word_counts[id(best)] = dict.fromkeys(words, 1)
        else:
            counts = word_counts[id(best)]
            for word in words:
                counts[word] = counts.get(word, 0) + 1
            best.words = _core(counts, best.count + 1)
        best.message_ids.append(message.id)
        if not by_project:
            votes[id(best)][message.project] += 1
        best.likes += max(message.likes, 0)
        if message.submitted_at is not None:
            if best.first_seen is None or message.submitted_at < best.first_seen:
                best.first_seen = message.submitted_at
            if best.last_seen is None or message.submitted_at > best.last_seen:
                best.last_seen = message.submitted_at
    reference = now or max((i.last_seen for i in issues if i.last_seen), default=None)
    for issue in issues:
        if not by_project:
            issue.project = _majority(votes[id(issue)])
        recency = 1.0
        if reference is not None and issue.last_seen is not None:
            age = max((reference - issue.last_seen).total_seconds() / 86400, 0.0)
            recency = 0.5 ** (age / half_life_days)
        # Each report counts; likes count as a fraction of a report each, with diminishing returns.
        issue.heat = round((issue.count + math.log1p(issue.likes)) * recency, 3)
    return sorted(issues, key=lambda i: (i.heat, i.count), reverse=True)
