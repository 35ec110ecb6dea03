"""A discriminative text model for taxonomy mode, trained on labelled examples (numpy only).

Features: TF-IDF (sublinear tf) in four blocks, each L2-normalised, then the whole vector:
title words, body words, title character 2-3-grams, body character 2-3-grams. The title is the
first line of a text that has more than one line (message boards send 主题 + 详情); words come
from the caller's tokenizer (the classifier's jieba dictionary), character n-grams catch what
segmentation splits differently (住房公积金 / 公积金缴存). IDF may also count unlabelled texts
from the same source: more documents give steadier weights for rare terms.

Model: one-vs-rest ridge classifiers on naive-Bayes-scaled features (NB-SVM, Wang & Manning
2012, with a squared loss): each feature is multiplied by the log-ratio of its document frequency
inside and outside the class, so the few hundred examples a taxonomy usually has weigh the
discriminative words first. With n examples the ridge solution lives in the span of the examples,
so it is solved exactly as an n x n linear system per class: training on ~500 messages takes
about a second. Prediction is a sparse dot product with the stored weight matrix.

Label descriptions as examples: a taxonomy's own terms (附件1's second/third levels: 传销, 噪音污染,
景区管理 …) join the training set as short pseudo-messages of their label, their feature vectors
shortened to ``description_scale``. They still count as whole rows in the ridge loss and the
naive-Bayes counts, so besides teaching words they move a label's bias in proportion to how many
terms describe it (on TipDM that tracks class size; a smaller scale moves it more, since a short
vector is fitted through the bias). Weighting them in the loss instead (a row of weight 0.5)
was the cleaner idea but measured lower: 89.7 % vs 90.3 % mean over fold seeds 7/11/23/42. On
TipDM 附件2 (bench/taxonomy_tipdm.py) the descriptions lifted 5-fold accuracy by about three
points: a few hundred messages do not mention every sub-topic, the taxonomy does.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Tokenize = Callable[[str], list[str]]
FloatArray = npt.NDArray[np.float64]

_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z0-9]+")
_TITLE_MAX = 100  # a longer first line is a paragraph, not a subject line
_BLOCKS = ("tw", "bw", "tc", "bc")  # title words, body words, title chars, body chars


@dataclass(frozen=True)
class TextModelParams:
    ridge: float = 0.3  # L2 penalty of the ridge classifiers (features are unit-length)
    nb_alpha: float = 1.0  # smoothing of the naive-Bayes document-frequency ratios
    min_df: int = 2  # a feature must occur in this many training texts (with 20+ texts)
    char_ngrams: tuple[int, ...] = (2, 3)
    block_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # as _BLOCKS
    # Length of a description term's vector next to a real message's (1.0; see the module
    # docstring). On TipDM 附件2, mean over fold seeds 7/11/23/42: 0.3 89.9%, 0.5 90.3%, 1.0 90.2%.
    description_scale: float = 0.5


def split_title(text: str) -> tuple[str, str]:
    """(title, body): the first line is a title when more lines follow and it is short."""
    head, sep, rest = text.strip().partition("\n")
    if sep and rest.strip() and len(head) <= _TITLE_MAX:
        return head.strip(), rest
    return "", text


def _char_ngrams(text: str, sizes: tuple[int, ...]) -> list[str]:
    grams: list[str] = []
    for run in _RUN.findall(text):
        for n in sizes:
            grams.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return grams


def featurize(text: str, tokenize: Tokenize, sizes: tuple[int, ...] = (2, 3)) -> list[Counter[str]]:
    """Raw term counts per block, in the order of ``_BLOCKS``."""
    title, body = split_title(text)
    return [
        Counter(tokenize(title)) if title else Counter(),
        Counter(tokenize(body)),
        Counter(_char_ngrams(title, sizes)),
        Counter(_char_ngrams(body, sizes)),
    ]


@dataclass
class DocumentFrequencies:
    """In how many texts each feature occurs: unlabelled texts' share of the IDF.

    Built once from any number of texts (streamed, not kept); features seen in a single text are
    dropped, which keeps the table small and changes an IDF by little."""

    docs: int = 0
    counts: list[dict[str, int]] = field(default_factory=lambda: [{} for _ in _BLOCKS])

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], tokenize: Tokenize, sizes: tuple[int, ...] = (2, 3)
    ) -> DocumentFrequencies:
        counters: list[Counter[str]] = [Counter() for _ in _BLOCKS]
        docs = 0
        for text in texts:
            docs += 1
            for counter, block in zip(counters, featurize(text, tokenize, sizes), strict=True):
                counter.update(block.keys())
        return cls(docs, [{k: n for k, n in c.items() if n >= 2} for c in counters])


class TextModel:
    """One-vs-rest NB-scaled ridge classifiers over TF-IDF features; see the module docstring."""

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        tokenize: Tokenize,
        params: TextModelParams | None = None,
        unlabelled: DocumentFrequencies | None = None,
        descriptions: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``descriptions``: (term, label) pairs describing labels, trained on as pseudo-messages
        (the term as both subject and content), scaled by ``params.description_scale``."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        self.params = p = params or TextModelParams()
        self.tokenize = tokenize
        all_labels = [*labels, *(label for _, label in descriptions)]
        self.classes: list[str] = sorted(set(all_labels))
        if len(self.classes) < 2:
            raise ValueError("a text model needs examples of at least two classes")
        docs = [featurize(t, tokenize, p.char_ngrams) for t in texts]
        docs += [featurize(f"{term}\n{term}", tokenize, p.char_ngrams) for term, _ in descriptions]
        scales = [1.0] * len(texts) + [p.description_scale] * len(descriptions)
        min_df = p.min_df if len(texts) >= 20 else 1  # a handful of corrections: keep every word
        extra = unlabelled or DocumentFrequencies()
        n_docs = len(docs) + extra.docs
        self._columns: list[dict[str, int]] = []
        idf: list[float] = []
        for b in range(len(_BLOCKS)):
            df: Counter[str] = Counter()
            for doc in docs:
                df.update(doc[b].keys())
            columns: dict[str, int] = {}
            for term, n in df.items():
                if n >= min_df:
                    columns[term] = len(idf)
                    idf.append(math.log((n_docs + 1) / (n + extra.counts[b].get(term, 0) + 1)) + 1)
            self._columns.append(columns)
        self._idf = np.array(idf)
        size = len(idf)
        x = np.zeros((len(docs), size), dtype=np.float32)
        for row, (doc, scale) in enumerate(zip(docs, scales, strict=True)):
            cols, vals = self._vector(doc)
            x[row, cols] = vals * scale
        self.weights, self.bias = self._fit(x, all_labels)

    def _vector(self, blocks: list[Counter[str]]) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Column indices and TF-IDF values of one text (each block unit-length, then the whole)."""
        cols: list[int] = []
        vals: list[FloatArray] = []
        for columns, counts, weight in zip(
            self._columns, blocks, self.params.block_weights, strict=True
        ):
            found = [(columns[t], n) for t, n in counts.items() if t in columns]
            if not found:
                continue
            index = np.array([c for c, _ in found], dtype=np.int64)
            tf = 1.0 + np.log(np.array([n for _, n in found], dtype=np.float64))
            value = tf * self._idf[index]
            cols.extend(index.tolist())
            vals.append(value * (weight / np.linalg.norm(value)))
        if not vals:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        value = np.concatenate(vals)
        return np.array(cols, dtype=np.int64), value / np.linalg.norm(value)

    def _fit(
        self, x: npt.NDArray[np.float32], labels: Sequence[str]
    ) -> tuple[FloatArray, FloatArray]:
        p = self.params
        y = np.array([self.classes.index(label) for label in labels])
        present = (x > 0).astype(np.float32)
        weights = np.zeros((x.shape[1], len(self.classes)))
        bias = np.zeros(len(self.classes))
        n = x.shape[0]
        for c in range(len(self.classes)):
            inside = y == c
            n_in, n_out = int(inside.sum()), int(n - inside.sum())
            share_in = (present[inside].sum(axis=0) + p.nb_alpha) / (n_in + 2 * p.nb_alpha)
            share_out = (present[~inside].sum(axis=0) + p.nb_alpha) / (n_out + 2 * p.nb_alpha)
            ratio = np.log(share_in / share_out).astype(np.float32)
            scaled = x * ratio
            # Ridge in the span of the examples: w = scaled.T @ a, (K + 1 + ridge I) a = t; the
            # "+ 1" is an unpenalised-ish bias folded into the kernel.
            kernel = (scaled @ scaled.T).astype(np.float64) + 1.0
            target = np.where(inside, 1.0, -1.0)
            a = np.linalg.solve(kernel + p.ridge * np.eye(n), target)
            weights[:, c] = ratio * (scaled.T @ a)
            bias[c] = a.sum()
        return weights, bias

    def scores(self, text: str) -> FloatArray:
        """Decision value per class (order of ``classes``): above 0 leans to the class."""
        cols, vals = self._vector(featurize(text, self.tokenize, self.params.char_ngrams))
        return np.asarray(vals @ self.weights[cols] + self.bias, dtype=np.float64)
