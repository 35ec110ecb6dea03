"""Matching resident messages to the year's livelihood projects, or to none of them.

How a decision is made, in short:

1. The text is normalised (Traditional, pinyin annotations, full-width) and PII-masked.
2. An explicit ``jieba.Tokenizer`` whose dictionary holds every lexicon phrase and place name
   segments it, so 装电梯 or 外墙掉皮 arrive as single tokens.
3. Each label (a project, or any class with a description) owns weighted terms: words of its own
   name and description, plus the resident words of every lexicon concept linked to it through an
   anchor found in its text. Terms shared by many labels weigh less (an IDF-like discount).
4. Near-miss phrases (电梯故障, 民办幼儿园收费) cancel the evidence of the concepts they resemble;
   topic phrases (物业费, 噪音) are evidence for "none of the projects".
5. Examples (supervisors' corrections, or labelled training data) add evidence through the words
   they share with the message: a correction on one message moves its paraphrases too.
6. Scores become probabilities with a softmax that includes a "none" class; below the threshold the
   classifier abstains. Temperature and threshold are parameters chosen on a dev set.

Everything is plain data and dictionaries: per message the cost is one segmentation plus a few
dictionary look-ups per token.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import jieba
import numpy as np
from pypinyin import lazy_pinyin

from livelihood_monitor.domain_lexicon import Lexicon, load_lexicon
from livelihood_monitor.normalize import normalize_text
from livelihood_monitor.privacy import mask_pii
from livelihood_monitor.registry import Project

jieba.setLogLevel(logging.WARNING)

NONE = "NONE"  # the "none of the projects" class in candidates and evaluation files
_SAFETY, _ESCALATION = 1, 2  # urgency flags
_SOFTMAX_LABELS = 8  # labels kept in the softmax besides "none"
MAX_CHARS = 5000  # longer texts are cut: the gist of a complaint is in its first pages
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDLIKE = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9]{2,}$")
_NUMBERISH = re.compile(r"^[0-9.%]+$")

MESSAGE_TYPES = ("complaint", "suggestion", "inquiry", "praise")
MESSAGE_TYPE_LABELS = {
    "complaint": "投诉",
    "suggestion": "建议",
    "inquiry": "咨询",
    "praise": "表扬",
}


@dataclass(frozen=True)
class Label:
    """A class the classifier can choose: a project, or a taxonomy class with a description."""

    code: str
    name: str
    texts: tuple[tuple[str, float], ...]  # (text, weight): name heavier than description


@dataclass(frozen=True)
class Example:
    """A message with a known label: a supervisor's correction or training data."""

    text: str
    label: str  # a label code, or NONE
    seed: bool = False  # shipped training data; False for a supervisor's correction


@dataclass(frozen=True)
class Params:
    temperature: float = 1.6  # softmax sharpness
    none_score: float = 1.0  # the score "none of the projects" starts with
    topic_weight: float = 0.5  # how much a non-project topic phrase adds to "none"
    weak_weight: float = 0.35
    concept_weight: float = 1.0
    label_text_weight: float = 1.2  # times the field weight of a label's own text
    inner_word_factor: float = 0.5  # 电梯 inside 加装电梯 counts half
    length_bonus: float = 0.3  # per character beyond two
    example_weight: float = 2.5  # evidence from a similar shipped example
    correction_weight: float = 10.0  # evidence from a similar message a supervisor decided
    example_min_similarity: float = 0.3
    learned_weight: float = 0.1  # per unit of log-odds learned from examples
    use_seed_examples: bool = True  # the lexicon's examples.tsv
    seed_neighbours: bool = False  # also compare each message with every shipped example (slow)
    bayes_weight: float = 1.5  # naive Bayes posterior from examples, times this
    bayes_alpha: float = 0.1
    abstain: bool = True  # False: always choose a label (taxonomies without a "none" class)
    secondary_min_prob: float = 0.3  # a second project also reported when this likely


@dataclass(frozen=True)
class Classification:
    code: str | None  # None: concerns none of the labels
    confidence: float
    candidates: tuple[tuple[str, float], ...]  # best three, NONE included where it ranks
    matched_terms: tuple[str, ...]
    also: tuple[str, ...] = ()  # further labels the message clearly concerns (0..k)
    message_type: str = "suggestion"
    urgency: int = 0
    reason: str | None = None  # why no decision could be made (empty text, ...)

    def candidates_text(self) -> str:
        return ";".join(f"{code}:{score:.3f}" for code, score in self.candidates)


@dataclass
class _Term:
    """What one token says: (label index, weight, concept id or None) triples."""

    hits: list[tuple[int, float, str | None]] = field(default_factory=list)


# Only bracketed lists of options (新(改、扩)建); a single bracketed word like (郊) is an annotation.
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{3,}")


@lru_cache(maxsize=32768)
def _syllable(char: str) -> str:
    return str(lazy_pinyin(char)[0])


def _sound(term: str) -> str:
    return "".join(_syllable(ch) for ch in term)


_ALTERNATIVES = re.compile(
    r"([\u4e00-\u9fff])\(([\u4e00-\u9fff]{1,4}(?:[、,，][\u4e00-\u9fff]{1,4}){1,5})\)([\u4e00-\u9fff])"
)


def expand_alternatives(text: str) -> str:
    """Spell out official shorthand: 新(改、扩)建 → 新建 改建 扩建 新改扩建, as residents write it."""

    def spell(match: re.Match[str]) -> str:
        head, inner, tail = match.groups()
        options = [head, *re.split(r"[、,，]", inner)]
        words = [o + tail for o in options if o] + ["".join(options) + tail]
        return " " + " ".join(words) + " "

    return _ALTERNATIVES.sub(spell, text)


class NaiveBayes:
    """Multinomial naive Bayes over the words of labelled examples (word presence per message,
    so one long message does not outvote many short ones). ``None`` is the "none" class.

    Per-word log-likelihood ratios sit in one matrix row per word, so a message costs one
    row gather and sum instead of a Python loop over classes."""

    def __init__(self, docs: Sequence[tuple[frozenset[str], int | None]], alpha: float) -> None:
        per_class: Counter[int | None] = Counter(label for _, label in docs)
        self.classes: list[int | None] = list(per_class)
        column = {c: j for j, c in enumerate(self.classes)}
        self.rows: dict[str, int] = {}
        counts: list[np.ndarray] = []
        for words, label in docs:
            for word in words:
                row = self.rows.setdefault(word, len(counts))
                if row == len(counts):
                    counts.append(np.zeros(len(self.classes)))
                counts[row][column[label]] += 1
        matrix = np.vstack(counts) if counts else np.zeros((0, len(self.classes)))
        totals = matrix.sum(axis=0)
        vocabulary = max(len(counts), 1)
        n = sum(per_class.values())
        self.prior = np.log(np.array([per_class[c] / n for c in self.classes]))
        self.per_word = math.log(alpha) - np.log(totals + alpha * vocabulary)
        self.evidence = np.log(matrix + alpha) - math.log(alpha)

    def posteriors(self, words: Iterable[str]) -> list[tuple[int | None, float]]:
        get = self.rows.get
        rows = [r for r in map(get, words) if r is not None]
        if not rows:
            return []
        logs = self.evidence[rows].sum(axis=0)
        logs += self.prior
        logs += len(rows) * self.per_word
        logs -= logs.max()
        probs = np.exp(logs, out=logs)
        probs /= probs.sum()
        # Only the classes with a real share: the rest would add nothing visible.
        keep = np.flatnonzero(probs > 0.02)
        classes = self.classes
        return list(zip([classes[j] for j in keep.tolist()], probs[keep].tolist(), strict=True))


def labels_from_projects(projects: Sequence[Project]) -> list[Label]:
    return [
        Label(p.code, p.name, ((p.name, 1.0), (p.target, 0.5), (p.category, 0.15)))
        for p in projects
    ]


class Classifier:
    """Built once per registry (or label set); ``classify`` is thread-safe."""

    def __init__(
        self,
        labels: Sequence[Label],
        lexicon: Lexicon | None = None,
        examples: Iterable[Example] = (),
        params: Params | None = None,
    ) -> None:
        if not labels:
            raise ValueError("没有任何可匹配的项目：请先导入当年的民生实事项目清单。")
        self.labels = list(labels)
        self.lexicon = lexicon or load_lexicon()
        self.params = params or Params()
        self._codes = [lb.code for lb in self.labels]
        self._index = {code: i for i, code in enumerate(self._codes)}
        self._lock = threading.Lock()
        self._content_verdicts: dict[str, bool] = {}
        self._tokenizer = self._build_tokenizer()
        self._terms: dict[str, _Term] = {}
        self._near: dict[str, tuple[str, ...]] = {}
        self._suppressed_terms: dict[str, frozenset[str]] = {}
        self._topic_terms: set[str] = set()
        self._concept_labels: dict[str, list[int]] = defaultdict(list)
        self._build_terms()
        self._build_sound_index()
        # Per cue token: (message-type index or -1, urgency flags). A later type wins for a cue
        # listed twice (rare, harmless).
        self._signal_of: dict[str, tuple[int, int]] = {}
        for index, kind in enumerate(MESSAGE_TYPES):
            for cue in self.lexicon.message_types.get(kind, ()):
                self._signal_of[cue] = (index, 0)
        for flag, cues in (
            (_SAFETY, self.lexicon.safety_terms),
            (_ESCALATION, self.lexicon.escalation_terms),
        ):
            for cue in cues:
                index, old = self._signal_of.get(cue, (-1, 0))
                self._signal_of[cue] = (index, old | flag)
        self._examples: list[tuple[frozenset[str], int | None, float]] = []
        self._learned: dict[str, list[tuple[int | None, float]]] = {}
        self._learned_hits: dict[str, tuple[tuple[int, float], ...]] = {}
        self._learned_none: dict[str, float] = {}
        self._bayes: NaiveBayes | None = None
        self._example_index: dict[str, list[int]] = defaultdict(list)
        self.add_examples([*self._seed_examples(), *examples])

    # --- building ---------------------------------------------------------------------------

    def _build_tokenizer(self) -> jieba.Tokenizer:
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        # High frequency so a curated phrase wins over the general dictionary's split.
        for word in sorted(self.lexicon.all_terms()):
            tokenizer.add_word(word, freq=50_000)
        return tokenizer

    def segment(self, text: str) -> list[str]:
        """Every token of an already normalised text, as jieba cuts it with our dictionary."""
        return list(self._tokenizer.cut(text, HMM=False))

    def content_words(self, segments: Iterable[str]) -> list[str]:
        # Tokens repeat endlessly across messages: remember the verdict per token (bounded).
        verdicts = self._content_verdicts
        stop = self.lexicon.stopwords
        words = []
        for token in segments:
            keep = verdicts.get(token)
            if keep is None:
                keep = bool(_WORDLIKE.match(token)) and token not in stop
                keep = keep and not _NUMBERISH.match(token)
                if len(verdicts) < 500_000:
                    verdicts[token] = keep
            if keep:
                words.append(token)
        return words

    def tokens(self, text: str) -> list[str]:
        """Content tokens of an already normalised text."""
        return self.content_words(self.segment(text))

    def _label_tokens(self, text: str) -> dict[str, float]:
        """Words of a label's own text, with the words inside long words at half weight: a
        message saying only 电梯 should still meet a project named 既有住宅加装电梯."""
        whole = set(self.tokens(text))
        inner = {
            t
            for t in self._tokenizer.lcut_for_search(text, HMM=False)
            if _WORDLIKE.match(t) and t not in self.lexicon.stopwords and not _NUMBERISH.match(t)
        }
        return {t: (1.0 if t in whole else self.params.inner_word_factor) for t in whole | inner}

    def _build_terms(self) -> None:
        p = self.params
        weights: dict[str, dict[int, tuple[float, str | None]]] = defaultdict(dict)

        def add(term: str, label: int, weight: float, concept: str | None) -> None:
            if len(term) < 2 or term in self.lexicon.stopwords:
                return
            # Longer phrases are more specific (加装电梯 says more than 审批).
            weight *= 1.0 + p.length_bonus * (min(len(term), 6) - 2)
            old = weights[term].get(label)
            if old is None or old[0] < weight:
                weights[term][label] = (weight, concept)

        for i, label in enumerate(self.labels):
            for text, weight in label.texts:
                for token, factor in self._label_tokens(
                    expand_alternatives(normalize_text(text))
                ).items():
                    add(token, i, weight * factor * p.label_text_weight, None)
            joined = normalize_text(" ".join(t for t, _ in label.texts))
            for concept in self.lexicon.concepts:
                if any(a and a in joined for a in concept.anchors):
                    self._concept_labels[concept.id].append(i)
                    for term in (*concept.terms, *concept.anchors):
                        add(term, i, p.concept_weight, concept.id)
                    for term in concept.weak:
                        add(term, i, p.weak_weight, concept.id)
        # Terms shared by many labels tell them apart less well.
        for term, by_label in weights.items():
            spread = len(by_label)
            discount = 1.0 / math.sqrt(spread)
            self._terms[term] = _Term([(i, w * discount, c) for i, (w, c) in by_label.items()])
        self._term_labels = {
            t: frozenset(h[0] for h in term.hits) for t, term in self._terms.items()
        }
        own_words = {
            t for t, term in self._terms.items() if any(c is None for _, _, c in term.hits)
        }
        concept_words: dict[str, set[str]] = {}
        for concept in self.lexicon.concepts:
            concept_words[concept.id] = {*concept.terms, *concept.weak, *concept.anchors}
        for near in self.lexicon.near_misses:
            for term in near.terms:
                self._near[term] = near.suppresses
            # A suppressed concept also silences the label-text words it is built from
            # (幼儿园 in 新(改、扩)建幼儿园 when the message is about a private kindergarten's fees).
            silenced: set[str] = set()
            for cid in near.suppresses:
                words = concept_words.get(cid, set())
                silenced |= words
                # Every piece of a concept word: look-ups instead of a scan of all terms.
                silenced |= {
                    w[a:b] for w in words for a in range(len(w)) for b in range(a + 2, len(w) + 1)
                } & own_words
            self._suppressed_terms[near.id] = frozenset(silenced)
        self._near_ids = {t: near.id for near in self.lexicon.near_misses for t in near.terms}
        for topic in self.lexicon.topics:
            self._topic_terms.update(t for t in topic.terms if len(t) >= 2)

    def _build_sound_index(self) -> None:
        """Pinyin of every term of three or more characters, to catch homophone typos
        (充点桩 → 充电桩, 新见 → 新建 is left alone: two-syllable homophones are too common)."""
        self._sounds: dict[str, str] = {}
        # First syllable -> the term lengths starting with it: most windows are skipped at once.
        self._sound_starts: dict[str, set[int]] = defaultdict(set)
        for term in self._terms:
            if 3 <= len(term) <= 6 and _CJK.fullmatch(term[0]) and all(_CJK.match(c) for c in term):
                self._sounds.setdefault(_sound(term), term)
                self._sound_starts[_syllable(term[0])].add(len(term))

    def _sound_alike_words(self, text: str) -> list[str]:
        found: list[str] = []
        for run in _CJK_RUN.findall(text):
            syllables = [_syllable(ch) for ch in run]
            for start, first in enumerate(syllables):
                for size in self._sound_starts.get(first, ()):
                    if start + size > len(run):
                        continue
                    term = self._sounds.get("".join(syllables[start : start + size]))
                    if term is not None and term != run[start : start + size]:
                        found.append(term)
        return found

    def _seed_examples(self) -> list[Example]:
        """The lexicon's example messages, labelled by concept, turned into this label set's
        codes: a concept linked to several labels goes to the one its words point to most."""
        if not self.params.use_seed_examples:
            return []
        seeds: list[Example] = []
        for concept_id, text in self.lexicon.examples:
            if concept_id == NONE:
                seeds.append(Example(text, NONE, seed=True))
                continue
            linked = self._concept_labels.get(concept_id, [])
            if len(linked) > 1:
                scores, _, _ = self._scores(self.tokens(normalize_text(text)))
                linked = [max(linked, key=scores.__getitem__)]
            if linked:
                seeds.append(Example(text, self._codes[linked[0]], seed=True))
        return seeds

    def add_examples(self, examples: Iterable[Example]) -> None:
        """Learn from labelled messages (corrections, training data); cheap to call again."""
        p = self.params
        with self._lock:
            for example in examples:
                label = None if example.label == NONE else self._index.get(example.label)
                if example.label != NONE and label is None:
                    continue  # a correction to a project not in this registry
                words = frozenset(self.tokens(normalize_text(example.text)))
                if not words:
                    continue
                position = len(self._examples)
                # A supervisor's decision outweighs shipped examples for messages like it.
                weight = p.example_weight if example.seed else p.correction_weight
                self._examples.append((words, label, weight))
                if example.seed and not p.seed_neighbours:
                    continue  # shipped examples teach through the learned weights only
                for word in words:
                    self._example_index[word].append(position)
            self._learn_term_weights()

    def _learn_term_weights(self) -> None:
        """Words that separate one label's examples from the rest (smoothed log-odds of
        document frequency, positive part). With many examples this is what generalises; the
        nearest-example evidence above is what makes a single correction count at once."""
        self._learned, self._learned_hits, self._learned_none = {}, {}, {}
        total = len(self._examples)
        self._bayes = (
            NaiveBayes([(w, lb) for w, lb, _ in self._examples], self.params.bayes_alpha)
            if total >= 2 and self.params.bayes_weight > 0
            else None
        )
        if total < 2 or self.params.learned_weight <= 0:
            return
        alpha = 0.5
        per_label: Counter[int | None] = Counter(label for _, label, _ in self._examples)
        df: Counter[str] = Counter()
        df_label: dict[int | None, Counter[str]] = defaultdict(Counter)
        for words, label, _ in self._examples:
            df.update(words)
            df_label[label].update(words)
        for label, counts in df_label.items():
            n_in, n_out = per_label[label], total - per_label[label]
            for word, inside in counts.items():
                if inside < 2:
                    continue  # one message is a correction, not a pattern
                outside = df[word] - inside
                ratio = math.log((inside + alpha) / (n_in + 2 * alpha)) - math.log(
                    (outside + alpha) / (n_out + 2 * alpha)
                )
                if ratio > 0:
                    self._learned.setdefault(word, []).append((label, ratio))
        # The same, weighted and split for the scoring loop (labels vs "none").
        w = self.params.learned_weight
        self._learned_hits = {
            word: tuple((lb, w * r) for lb, r in hits if lb is not None)
            for word, hits in self._learned.items()
        }
        self._learned_none = {
            word: sum(w * r for lb, r in hits if lb is None)
            for word, hits in self._learned.items()
            if any(lb is None for lb, _ in hits)
        }

    # --- scoring ----------------------------------------------------------------------------

    def _scores(self, words: list[str]) -> tuple[list[float], float, list[str]]:
        """Evidence per label and for "none"; also the words that may explain a decision."""
        p = self.params
        unique = list(dict.fromkeys(words))
        silenced: set[str] = set()
        suppressed_concepts: set[str] = set()
        for word in unique:
            if word in self._near:
                suppressed_concepts.update(self._near[word])
                silenced |= self._suppressed_terms[self._near_ids[word]]
        scores = [0.0] * len(self.labels)
        none = p.none_score
        explaining: list[str] = []
        for word in unique:
            if word in self._topic_terms:
                none += p.topic_weight
            term = self._terms.get(word)
            if term is None or word in silenced:
                continue
            explaining.append(word)
            for label, weight, concept in term.hits:
                if concept is not None and concept in suppressed_concepts:
                    continue
                scores[label] += weight
        if suppressed_concepts:
            none += p.topic_weight
        if self._example_index:
            none += self._example_evidence(unique, scores)
        learned, learned_none = self._learned_hits, self._learned_none
        for word in unique:
            hits = learned.get(word)
            if hits is not None:
                for learned_label, weight in hits:
                    scores[learned_label] += weight
            none += learned_none.get(word, 0.0)
        if self._bayes is not None and not self._decided(scores, none, p.bayes_weight):
            for bayes_label, prob in self._bayes.posteriors(unique):
                if bayes_label is None:
                    none += p.bayes_weight * prob
                else:
                    scores[bayes_label] += p.bayes_weight * prob
        return scores, none, explaining

    @staticmethod
    def _decided(scores: list[float], none: float, at_most: float) -> bool:
        """True when evidence worth at most ``at_most`` in total cannot change the winner: the
        naive Bayes share is then skipped (it costs more than the rest of the scoring)."""
        first = second = none
        for score in scores:
            if score > first:
                first, second = score, first
            elif score > second:
                second = score
        return first - second > at_most

    def _matched_terms(self, label: int, explaining: list[str]) -> tuple[str, ...]:
        """The lexicon and project words behind a decision for ``label`` (computed once, for the
        chosen label only, to keep the scoring loop lean)."""
        labels_of = self._term_labels
        return tuple(w for w in dict.fromkeys(explaining) if label in labels_of[w])

    def _example_evidence(self, words: list[str], scores: list[float]) -> float:
        """Add evidence from the most similar known messages; returns what goes to NONE."""
        p = self.params
        overlap: Counter[int] = Counter()
        for word in words:
            for position in self._example_index.get(word, ()):
                overlap[position] += 1
        if not overlap:
            return 0.0
        size = len(words)
        best: dict[int | None, float] = {}
        for position, shared in overlap.items():
            example_words, label, weight = self._examples[position]
            similarity = shared / math.sqrt(size * len(example_words))
            if similarity >= p.example_min_similarity:
                best[label] = max(best.get(label, 0.0), weight * similarity)
        none_boost = 0.0
        for label, evidence in best.items():
            if label is None:
                none_boost = evidence
            else:
                scores[label] += evidence
        return none_boost

    # --- deciding ---------------------------------------------------------------------------

    def classify(self, text: str | None) -> Classification:
        raw = "" if text is None else str(text)
        if not raw.strip():
            return Classification(None, 1.0, ((NONE, 1.0),), (), reason="文本为空")
        normalised = mask_pii(normalize_text(raw[:MAX_CHARS]))
        return self.classify_normalised(normalised)

    def classify_normalised(self, text: str) -> Classification:
        """Classify a text that is already normalised and masked (as stored in ``feedback.text``)."""
        segments = self.segment(text)
        words = self.content_words(segments)
        message_type, urgency = self.message_signals(text, segments)
        if not words:
            empty_reason = (
                "文本中没有可识别的中文内容" if not _CJK.search(text) else "文本过短，无法判断"
            )
            return Classification(
                None,
                1.0,
                ((NONE, 1.0),),
                (),
                message_type=message_type,
                urgency=urgency,
                reason=empty_reason,
            )
        scores, none, explaining = self._scores(words)
        p = self.params
        if len(explaining) <= 1 and max(scores) < none + p.concept_weight:
            # Hardly a known word and nothing that beats "none" by a concept term's worth (one
            # generic word such as 公共 can): perhaps a typo. Try words that sound like known
            # terms.
            extra = self._sound_alike_words(text)
            if extra:
                scores, none, explaining = self._scores(words + extra)
        # Softmax over the labels with any evidence plus "none": a label nothing points to has
        # probability 0, so 55 silent projects do not dilute a clear "none".
        # Only the strongest labels: the rest would add a sliver of probability mass each.
        live = [i for i, score in enumerate(scores) if score > 0]
        if len(live) > _SOFTMAX_LABELS:
            live = sorted(live, key=scores.__getitem__, reverse=True)[:_SOFTMAX_LABELS]
        if not p.abstain:  # a taxonomy where every message has a class: no "none"
            live = live or list(range(len(scores)))
        top = max([scores[i] for i in live] + ([none] if p.abstain else [])) * p.temperature
        exps = {i: math.exp(scores[i] * p.temperature - top) for i in live}
        none_exp = math.exp(none * p.temperature - top) if p.abstain else 0.0
        total = sum(exps.values()) + none_exp
        probs = {i: e / total for i, e in exps.items()}
        none_prob = none_exp / total
        order = sorted(probs, key=probs.__getitem__, reverse=True)
        ranked: list[tuple[str, float]] = [(self._codes[i], probs[i]) for i in order[:3]]
        if p.abstain:
            ranked.append((NONE, none_prob))
        ranked.sort(key=lambda kv: kv[1], reverse=True)
        candidates = tuple((c, round(s, 4)) for c, s in ranked[:3])
        reason = None if _CJK.search(text) else "文本中没有中文内容"
        if not order or (p.abstain and none_prob >= probs[order[0]]):
            terms = self._matched_terms(order[0], explaining) if order else ()
            return Classification(
                None,
                round(none_prob, 4),
                candidates,
                terms,
                message_type=message_type,
                urgency=urgency,
                reason=reason,
            )
        best = order[0]
        also = tuple(
            self._codes[i]
            for i in order[1:3]
            if probs[i] >= p.secondary_min_prob and scores[i] > none
        )
        return Classification(
            self._codes[best],
            round(probs[best], 4),
            candidates,
            self._matched_terms(best, explaining),
            also=also,
            message_type=message_type,
            urgency=urgency,
        )

    def message_signals(self, text: str, segments: Iterable[str]) -> tuple[str, int]:
        """Message type (complaint/suggestion/inquiry/praise) and urgency 0..3 from cue words.

        Cue words are in the tokenizer's dictionary, so they arrive as whole tokens: one dict
        look-up per token (most find nothing) instead of a substring search per cue."""
        counts = [0, 0, 0, 0]  # in MESSAGE_TYPES order
        flags = 0
        signal_of = self._signal_of
        for token in segments:
            signal = signal_of.get(token)
            if signal is not None:
                kind, flag = signal
                if kind >= 0:
                    counts[kind] += 1
                flags |= flag
        if "?" in text or "？" in text:
            counts[2] += 1
        if flags:
            counts[0] += 1  # a danger or a repeated report is a complaint
        best = max(range(4), key=lambda k: (counts[k], -k))
        message_type = MESSAGE_TYPES[best] if counts[best] else "suggestion"
        urgency = (2 if flags & _SAFETY else 0) + (1 if flags & _ESCALATION else 0)
        return message_type, min(urgency, 3)


def classifier_for_projects(
    projects: Sequence[Project], examples: Iterable[Example] = (), params: Params | None = None
) -> Classifier:
    return Classifier(labels_from_projects(projects), examples=examples, params=params)
