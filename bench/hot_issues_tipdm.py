"""Hot-issue grouping on real message-board data (TipDM 附件3, 4,326 messages with likes).

    .venv/bin/python bench/hot_issues_tipdm.py [--shared ../shared] [--top 10] [--zero-shot]
        [--by-class]

Each message gets its first-level class from taxonomy mode over 附件1, trained on 附件2's 495
labelled messages (``--zero-shot``: from the class descriptions alone, which leaves most messages
without evidence and so in one class), then near-duplicates in the same place are grouped across
classes (the board's coarse classes split one complaint; ``--by-class``: within a class, as the
dashboard groups per project), on the words the dashboard groups by (``queries.issue_words``:
matched terms and the character bigrams of the title). Prints timing, the number of groups and
the largest ones. The data is read from ../shared and never copied into the project.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from livelihood_monitor.classify import Example
from livelihood_monitor.hot_issues import Message, group_hot_issues
from livelihood_monitor.normalize import normalize_text
from livelihood_monitor.queries import IssueMessage, issue_words
from livelihood_monitor.taxonomy import (
    board_text,
    read_board_messages,
    read_tree_csv,
    taxonomy_classifier,
)
from livelihood_monitor.values import parse_datetime

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--zero-shot", action="store_true", help="classes without training")
    parser.add_argument(
        "--by-class", action="store_true", help="group only within a class (the product default)"
    )
    args = parser.parse_args()
    data = args.shared / "data" / "raw" / "tipdm2020c"
    if not data.is_dir():
        raise SystemExit(f"找不到 {data}：本基准需要 ../shared 中的 TipDM 数据。")
    labels = read_tree_csv(data / "附件1_标签体系.csv")
    examples = []
    if not args.zero_shot:
        examples = [
            Example(m.text, m.label)
            for m in read_board_messages(data / "附件2_示例495条_一级标签.csv")
        ]
    clf = taxonomy_classifier(labels, examples)
    start = time.perf_counter()
    rows: list[IssueMessage] = []
    with (data / "附件3_全量4326条_点赞反对.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            title = normalize_text(row["留言主题"])
            text = normalize_text(board_text(row["留言主题"], row["留言详情"]))
            result = clf.classify_normalised(text)
            rows.append(
                IssueMessage(
                    feedback_id=int(row["留言编号"]),
                    # The title carries the subject; the body adds detail and noise.
                    text=title,
                    submitted_at=parse_datetime(row["留言时间"]),
                    likes=int(row["点赞数"] or 0),
                    district=None,
                    observation_point=None,
                    project_code=result.code,
                    matched_terms=";".join(result.matched_terms),
                )
            )
    # The dashboard's words for grouping: matched terms + character bigrams, less the bigrams
    # most messages of a class share.
    messages = [
        Message(str(m.feedback_id), m.project_code, words, m.text, m.submitted_at, m.likes)
        for m, words in zip(rows, issue_words(rows), strict=True)
    ]
    classified = time.perf_counter()
    issues = group_hot_issues(messages, by_project=args.by_class)
    grouped = time.perf_counter()
    multi = [i for i in issues if i.count > 1]
    print(
        f"messages: {len(messages):,}  classify+tokenise: {classified - start:.1f} s  "
        f"grouping: {grouped - classified:.2f} s"
    )
    print(
        f"groups: {len(issues):,}  with 2+ messages: {len(multi):,}  "
        f"messages in them: {sum(i.count for i in multi):,}"
    )
    print("largest groups by heat (reference time = newest message):")
    for issue in issues[: args.top]:
        print(
            f"  heat {issue.heat:7.2f}  n={issue.count:3d}  likes={issue.likes:5d}  "
            f"[{issue.project}] {issue.place or '-'}  {issue.sample[:40]}"
        )
    print("largest groups by size:")
    for issue in sorted(issues, key=lambda i: i.count, reverse=True)[: args.top]:
        print(
            f"  n={issue.count:3d}  likes={issue.likes:5d}  heat {issue.heat:7.2f}  "
            f"[{issue.project}] {issue.place or '-'}  {issue.sample[:40]}"
        )


if __name__ == "__main__":
    main()
