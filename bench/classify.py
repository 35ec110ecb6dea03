"""Classification cost next to plain jieba segmentation of the same texts, in one run.

    .venv/bin/python bench/classify.py [--messages 100000] [--repeats 3]

Texts cycle through the team's labelled messages (tests/fixtures) behind a varying prefix (a
place and who speaks; neither side caches per text, so repeats cost the same as new texts); they
are produced lazily, so memory stays flat. Prints msgs/s for both, the ratio (median of the
repeats) and peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import logging
import resource
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import jieba

from livelihood_monitor.classify import classifier_for_projects
from livelihood_monitor.config import DEFAULT_REGISTRY
from livelihood_monitor.registry import read_registry

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
PLACES = ["广陵区", "邗江区", "江都区", "仪征", "高邮", "宝应", "东关街", "文昌路", "汶河街道"]
SPEAKERS = ["居民", "群众", "网友", "市民", "老党员", "家长", "业主"]


def base_texts() -> list[str]:
    texts: list[str] = []
    for name in ("dev_messages.csv", "holdout_messages.csv"):
        with (FIXTURES / name).open(encoding="utf-8") as fh:
            texts.extend(row["text"] for row in csv.DictReader(fh))
    return texts


def messages(n: int, texts: list[str]) -> Iterator[str]:
    for i in range(n):
        speaker = SPEAKERS[(i // len(PLACES)) % len(SPEAKERS)]
        yield f"{PLACES[i % len(PLACES)]}{speaker}反映：{texts[i % len(texts)]}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    jieba.setLogLevel(logging.WARNING)
    texts = base_texts()
    clf = classifier_for_projects(read_registry(DEFAULT_REGISTRY, 2025))
    jieba.lcut("预热")  # load jieba's own dictionary before timing
    clf.classify("预热")
    total_chars = sum(len(t) for t in messages(args.messages, texts))
    seg_times, cls_times = [], []
    rss_before = peak_rss_mb()
    for _ in range(args.repeats):
        start = time.perf_counter()
        for text in messages(args.messages, texts):
            jieba.lcut(text)
        seg_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for text in messages(args.messages, texts):
            clf.classify(text)
        cls_times.append(time.perf_counter() - start)
    ratios = [c / s for c, s in zip(cls_times, seg_times, strict=True)]
    seg, cls = statistics.median(seg_times), statistics.median(cls_times)
    print(f"messages: {args.messages:,}  characters: {total_chars:,}  repeats: {args.repeats}")
    print(
        f"jieba.lcut          : {args.messages / seg:10,.0f} msgs/s  ({total_chars / seg / 1e6:.2f} M chars/s)"
    )
    print(
        f"classify (full)     : {args.messages / cls:10,.0f} msgs/s  ({total_chars / cls / 1e6:.2f} M chars/s)"
    )
    print(
        f"ratio classify/jieba: median {statistics.median(ratios):.2f}  (runs: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before timing {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
