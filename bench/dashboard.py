"""Dashboard benchmark: every page must render in < 1 s on a warehouse of 1,000,000 feedback rows.

    .venv/bin/python bench/dashboard.py [--rows 1000000] [--keep DIR]

Builds a warehouse in a temporary folder with DuckDB SQL (generate_series, so it takes seconds,
not minutes): the 55 projects of the bundled registry, ``--rows`` feedback messages over 2025 with
classifier matches (rank 1 for all, rank 2 for a third, a few manual corrections), 55 × 24 progress
reports, statuses at four dates computed by the real status engine, letters with their audit trail
and replies, 20,000 satisfaction ratings, ingest runs and rejected rows. Then times each page's query functions (median of 5, cache-free) and an AppTest
render of each page (median of 5, Streamlit's data cache cleared before each), and prints a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboards" / "app.py"
YEAR = 2025
STATUS_DATES = (date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 11, 30))
LIMIT_S = 1.0

# Fragments residents' messages are made of; what matters here is realistic length and variety.
_TEXTS = [
    "小区加装电梯说了好久，到现在还没开工，老人上下楼太难了",
    "路口的路灯坏了一个多月，晚上走路很危险，希望尽快修好",
    "社区食堂的菜太咸，价格也比去年贵了，希望改进",
    "学校门口早晚高峰太堵，建议增设临时停车位",
    "老旧小区改造工程质量差，墙皮已经开始脱落",
    "口袋公园建得很好，周末带孩子去玩很方便，点赞",
    "公交32路班次太少，等车要半个多小时",
    "请问今年的养老服务补贴什么时候发放",
    "雨污分流施工停工好几周了，路面一直挖开没人管",
    "菜市场改造后干净多了，就是停车不方便",
    "卫生服务中心看病排队时间长，建议增加医生",
    "物业费又涨了，服务却没有改善",
]
_TERMS = [
    "加装电梯",
    "路灯",
    "社区食堂",
    "停车",
    "老旧小区",
    "口袋公园",
    "公交",
    "养老",
    "雨污分流",
    "菜市场",
    "卫生服务中心",
    "停工",
    "质量",
    "排队",
]
_POINTS = [
    "广陵区东关街道",
    "广陵区文峰街道",
    "广陵区湾头镇",
    "邗江区蒋王街道",
    "邗江区汊河街道",
    "邗江区瓜洲镇",
    "江都区仙女镇",
    "江都区邵伯镇",
    "仪征市真州镇",
    "仪征市月塘镇",
    "高邮市卸甲镇",
    "高邮市界首镇",
    "宝应县安宜镇",
    "宝应县射阳湖镇",
    "开发区文汇街道",
]
_DISTRICTS = ["广陵区", "邗江区", "江都区", "仪征市", "高邮市", "宝应县", "开发区"]


def _sql_list(values: list[str]) -> str:
    # Constants of this script, not user input: inlined as a DuckDB list literal.
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build_warehouse(path: Path, rows: int) -> dict[str, float]:
    """Create and fill the bench warehouse; returns seconds per step."""
    sys.path.insert(0, str(REPO / "src"))
    from livelihood_monitor import db, registry, status
    from livelihood_monitor.config import DEFAULT_REGISTRY

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    db.init_warehouse(path)
    projects = registry.read_registry(DEFAULT_REGISTRY, YEAR)
    codes = [p.code for p in projects]
    points = [p + "民情观察点" for p in _POINTS]
    with db.write_transaction(path) as con:
        registry.save_registry(con, projects, year=YEAR, file_name="bench.csv", sha256="bench")
        # Feedback spread evenly over 2025 (Asia/Shanghai), with hash-based variety.
        con.execute(
            f"""
            INSERT INTO feedback (feedback_id, source, source_id, channel, observation_point,
                                  deputy_code, district, submitted_at, text_raw, text,
                                  contact_masked, likes, content_hash, ingested_at)
            SELECT i,
                   'bench:' || ch,
                   'b' || i,
                   ch,
                   CASE WHEN ch = 'observation_point' THEN list_element({_sql_list(points)}, 1 + h % 15) END,
                   CASE WHEN ch = 'direct_channel' THEN 'D' || lpad(CAST(h % 400 AS VARCHAR), 4, '0') END,
                   list_element({_sql_list(_DISTRICTS)}, 1 + (h // 7) % 7),
                   ts,
                   txt || '（' || i || '）',
                   txt || '（' || i || '）',
                   CASE WHEN h % 3 = 0 THEN '138****' || lpad(CAST(h % 10000 AS VARCHAR), 4, '0') END,
                   CASE WHEN ch = 'direct_channel' THEN CAST(h % 40 AS INTEGER) END,
                   md5(CAST(i AS VARCHAR)),
                   ts + INTERVAL 1 HOUR
            FROM (
                SELECT i, h,
                       list_element(['observation_point', 'direct_channel', 'meeting_day', 'hotline'],
                                    1 + CAST(h % 10 AS INTEGER) // 3) AS ch,
                       TIMESTAMPTZ '2025-01-01 00:00:00+08'
                           + to_seconds(CAST((i - 1) * (365 * 86400 - 1) / $rows AS BIGINT)) AS ts,
                       list_element({_sql_list(_TEXTS)}, 1 + (h // 11) % {len(_TEXTS)}) AS txt
                FROM (SELECT i, CAST(hash(i) % 1000003 AS BIGINT) AS h FROM generate_series(1, $rows) AS t(i))
            )
            """,
            {"rows": rows},
        )
        timings["feedback"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        # Rank-1 matches for every message (a quarter "none of the projects"), rank 2 for a third.
        con.execute(
            f"""
            INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, method,
                                          matched_terms, message_type, urgency, decided_at)
            SELECT i, {YEAR},
                   CASE WHEN h % 4 = 0 THEN NULL ELSE list_element({_sql_list(codes)}, 1 + h % 55) END,
                   0.2 + (h % 800) / 1000.0,
                   1, 'auto',
                   list_element({_sql_list(_TERMS)}, 1 + h % 14) || ';'
                       || list_element({_sql_list(_TERMS)}, 1 + (h // 14) % 14),
                   list_element(['complaint', 'suggestion', 'inquiry', 'praise'], 1 + (h // 3) % 4),
                   CAST(h % 4 AS INTEGER),
                   f.ingested_at + INTERVAL 2 HOUR
            FROM (SELECT i, CAST(hash(i * 7919) % 1000003 AS BIGINT) AS h FROM generate_series(1, $rows) AS t(i)) AS g
            JOIN feedback AS f ON f.feedback_id = g.i
            """,
            {"rows": rows},
        )
        con.execute(
            f"""
            INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, method,
                                          decided_at)
            SELECT feedback_id, year, list_element({_sql_list(codes)}, CAST(1 + hash(feedback_id) % 55 AS BIGINT)),
                   confidence / 2, 2, 'auto', decided_at
            FROM feedback_matches WHERE rank = 1 AND feedback_id % 3 = 0
            """
        )
        con.execute(
            f"""
            INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, method,
                                          decided_by, decided_at)
            SELECT feedback_id, year, list_element({_sql_list(codes)}, 1 + (feedback_id % 55)),
                   1.0, 1, 'manual', 'bench', decided_at + INTERVAL 1 DAY
            FROM feedback_matches WHERE rank = 1 AND feedback_id % 997 = 0
            """
        )
        timings["feedback_matches"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        # 24 reports a project (mid and end of each month), each project at its own pace.
        con.execute(
            """
            INSERT INTO progress_reports (year, project_code, report_date, progress_pct,
                                          completed_value, note, unit, source, source_id)
            SELECT p.year, p.code, d,
                   least(100.0, round(k * (2.6 + (hash(p.code) % 30) / 15.0), 1)),
                   NULL, '按计划推进', p.unit, 'bench', p.code || '-' || k
            FROM projects AS p,
                 (SELECT k, make_date(2025, (k + 1) // 2, CASE WHEN k % 2 = 1 THEN 15 ELSE 28 END) AS d
                  FROM generate_series(1, 24) AS t(k))
            WHERE p.year = 2025
            """
        )
        con.execute(
            """
            INSERT INTO letters (letter_no, year, serial, kind, unit, issued_on, due_on, status,
                                 path_docx, path_pdf)
            SELECT '扬人常民函〔2025〕' || s || '号', 2025, s,
                   CASE WHEN s % 2 = 0 THEN 'feedback_letter' ELSE 'reminder_letter' END,
                   unit, DATE '2025-03-01' + CAST(s * 2 AS INTEGER), DATE '2025-03-15' + CAST(s * 2 AS INTEGER),
                   list_element(['draft', 'issued', 'replied', 'overdue'], 1 + s % 4),
                   NULL, NULL
            FROM (SELECT row_number() OVER () AS s, unit
                  FROM (SELECT DISTINCT unit FROM projects), generate_series(1, 4))
            """
        )
        # Each letter's audit trail (drafted, then issued unless a draft, then replied), and a
        # reply of ~1,500 characters to each replied letter.
        con.execute(
            """
            INSERT INTO letter_events (letter_no, "at", actor, action, from_status, to_status, note)
            SELECT letter_no, CAST(coalesce(issued_on, DATE '2025-03-01') AS TIMESTAMPTZ) + to_hours(k),
                   'bench', list_element(['drafted', 'issued', 'replied'], k),
                   list_element([NULL, 'draft', 'issued'], k),
                   list_element(['draft', 'issued', 'replied'], k), 'bench'
            FROM letters, generate_series(1, 3) AS t(k)
            WHERE k = 1 OR (k = 2 AND status <> 'draft') OR (k = 3 AND status = 'replied')
            """
        )
        con.execute(
            """
            INSERT INTO letter_replies (letter_no, via_letter_no, received_on, file_name,
                                        file_sha256, text, recorded_by)
            SELECT letter_no, letter_no, due_on - 2, '回函.docx', md5(letter_no),
                   repeat('关于来函所提问题，我单位高度重视，已逐项研究落实，联系电话13912345678。', 40),
                   'bench'
            FROM letters WHERE status = 'replied'
            """
        )
        # 满意度测评: item ratings of residents' messages and project ratings by deputies.
        con.execute(
            f"""
            INSERT INTO satisfaction_ratings (rating_key, year, project_code, feedback_id, level,
                                              rater_kind, rating, score, rated_on, source_file,
                                              row_number)
            SELECT 'bench-' || i, {YEAR}, list_element({_sql_list(codes)}, 1 + i % 55),
                   CASE WHEN i % 10 < 8 THEN i * 37 END,
                   CASE WHEN i % 10 < 8 THEN 'item' ELSE 'project' END,
                   CASE WHEN i % 10 < 8 THEN 'resident' ELSE 'deputy' END,
                   list_element(['满意', '基本满意', '不满意'], 1 + CAST(hash(i) % 3 AS INTEGER)),
                   list_element([100.0, 60.0, 0.0], 1 + CAST(hash(i) % 3 AS INTEGER)),
                   DATE '2025-12-20', 'bench.csv', i + 1
            FROM generate_series(1, 20000) AS t(i)
            """
        )
        con.execute(
            """
            INSERT INTO ingest_runs (run_id, source, started_at, finished_at, rows_read,
                                     rows_loaded, rows_rejected, rows_duplicate, status)
            SELECT 'run-' || i, 'bench:observation_point',
                   TIMESTAMPTZ '2025-01-01 08:00:00+08' + to_hours(i * 12),
                   TIMESTAMPTZ '2025-01-01 08:00:00+08' + to_hours(i * 12) + INTERVAL 40 SECOND,
                   2000, 1990, 10, 0, 'completed'
            FROM generate_series(1, 500) AS t(i)
            """
        )
        con.execute(
            """
            INSERT INTO rejected_rows (run_id, source, file, row_number, reason, raw)
            SELECT 'run-' || (1 + i % 500), 'bench:observation_point', 'points-' || (i % 500) || '.csv',
                   i % 2000 + 2,
                   '第' || (i % 2000 + 2) || '行：'
                       || list_element(['缺少反映内容', '反映时间无法识别', '反映时间晚于今天'], 1 + i % 3),
                   '=HYPERLINK("x")' || i
            FROM generate_series(1, 5000) AS t(i)
            """
        )
        timings["reports_letters_runs"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    for as_of in STATUS_DATES:
        with db.write_transaction(path) as con:
            status.compute_status(con, YEAR, as_of)
    timings["status"] = time.perf_counter() - t3
    with db.write_transaction(path) as con:
        con.execute("CHECKPOINT")
    timings["total"] = time.perf_counter() - t0
    return timings


def _median(fn: Callable[[], Any], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the warehouse here")
    parser.add_argument("--repeat", type=int, default=5, help="samples per median")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lm-bench-") as tmp:
        folder = args.keep or Path(tmp)
        path = folder / "bench.duckdb"
        if not path.exists():
            built = build_warehouse(path, args.rows)
            print("warehouse build (s): " + ", ".join(f"{k} {v:.1f}" for k, v in built.items()))
        ok = run_bench(path, args.repeat)
    return 0 if ok else 1


def _page_queries(path: Path) -> dict[str, list[tuple[str, Callable[[], Any]]]]:
    """Each page's query calls with the parameters the page uses when it opens."""
    sys.path.insert(0, str(REPO / "src"))
    from livelihood_monitor import queries

    year_start, year_end = queries.year_bounds(YEAR)
    latest, _ = queries.feedback_latest(path, year_start, year_end)
    assert latest is not None
    window_end = queries.day_start(latest.astimezone(queries.SHANGHAI).date() + timedelta(days=1))
    window_start = window_end - timedelta(days=30)
    dates = queries.status_dates(path, YEAR)
    as_of = dates["as_of"].iloc[-1]
    projects = queries.projects_overview(path, YEAR)
    code, unit = str(projects["code"].iloc[0]), str(projects["unit"].iloc[0])
    return {
        "总览": [
            ("years", lambda: queries.years(path)),
            ("status_dates", lambda: queries.status_dates(path, YEAR)),
            ("overview_page", lambda: queries.overview_page(path, YEAR, as_of)),
        ],
        "项目详情": [
            ("projects_overview", lambda: queries.projects_overview(path, YEAR)),
            ("project_page", lambda: queries.project_page(path, YEAR, code, unit, 30)),
            ("  of which project_feedback", lambda: queries.project_feedback(path, YEAR, code, 30)),
            (
                "  of which project_feedback_summary",
                lambda: queries.project_feedback_summary(path, YEAR, code),
            ),
            (
                "  of which project_hot_issues",
                lambda: queries.project_hot_issues(path, YEAR, code),
            ),
            (
                "  of which project_satisfaction",
                lambda: queries.project_satisfaction(path, YEAR, code),
            ),
        ],
        "民情": [
            ("opinion_page", lambda: queries.opinion_page(path, YEAR, 30)),
            (
                "  of which feedback_breakdown",
                lambda: queries.feedback_breakdown(path, year_start, year_end),
            ),
            (
                "  of which hot_issues",
                lambda: queries.hot_issues(path, YEAR, window_start, window_end),
            ),
            (
                "  of which triage_queue",
                lambda: queries.triage_queue(path, YEAR, window_start, window_end, limit=50),
            ),
            (
                "  of which window_hot_issues",
                lambda: queries.window_hot_issues(path, YEAR, window_start, window_end),
            ),
            (
                "opinion_page (全年 window)",
                lambda: queries.opinion_page(path, YEAR, 366),
            ),
            (
                "triage_queue (全年)",
                lambda: queries.triage_queue(path, YEAR, year_start, year_end, limit=50),
            ),
        ],
        "函件": [
            ("letters_page", lambda: queries.letters_page(path, YEAR)),
        ],
        "数据质量": [
            ("quality_page", lambda: queries.quality_page(path)),
            ("rejected_rows_csv (download)", lambda: queries.rejected_rows_csv(path)),
        ],
    }


PAGES = {
    "总览": "views/overview.py",
    "项目详情": "views/project.py",
    "民情": "views/opinion.py",
    "函件": "views/letters.py",
    "数据质量": "views/quality.py",
}
# Not part of opening a page: a wider choice in the sidebar, or a click on a download button.
NOT_ON_OPEN = {
    "opinion_page (全年 window)",
    "triage_queue (全年)",
    "rejected_rows_csv (download)",
}
# Parts of a bundle above, timed alone (own connection) to show where the time goes.
PARTS = "  of which"


def _render_times(path: Path, repeat: int) -> dict[str, float]:
    """Median AppTest render per page, the data cache cleared before every run (cold)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["LM_WAREHOUSE"] = str(path)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["user"] = {"name": "bench", "role": "editor"}
    at.run()  # first run pays for imports (altair, pandas styling), not for a page
    times: dict[str, float] = {}
    for title, script in PAGES.items():
        at.switch_page(script)
        at.run()  # warm the page's own imports
        if at.exception:
            raise RuntimeError(f"{title}: {at.exception[0].value}")

        def render() -> None:
            st.cache_data.clear()
            at.run()

        times[title] = _median(render, repeat)
        if at.exception:
            raise RuntimeError(f"{title}: {at.exception[0].value}")
    return times


def run_bench(path: Path, repeat: int = 5) -> bool:
    """Print the table; True when every page opens in under a second."""
    os.environ["LM_WAREHOUSE"] = str(path)
    pages = _page_queries(path)
    renders = _render_times(path, repeat)
    ok = True
    print(f"\n{'page':<10} {'query / render':<34} {'median ms':>10}")
    print("-" * 58)
    for title, calls in pages.items():
        on_open = 0.0
        for name, fn in calls:
            t = _median(fn, repeat)
            if name not in NOT_ON_OPEN and not name.startswith(PARTS):
                on_open += t
            note = "  (not on open)" if name in NOT_ON_OPEN else ""
            print(f"{title:<10} {name:<34} {t * 1000:>10.0f}{note}")
        print(f"{title:<10} {'= queries on open':<34} {on_open * 1000:>10.0f}")
        verdict = "ok" if renders[title] < LIMIT_S else "TOO SLOW"
        ok = ok and renders[title] < LIMIT_S
        print(
            f"{title:<10} {'AppTest render (cold cache)':<34} {renders[title] * 1000:>10.0f}  {verdict}"
        )
        print("-" * 58)
    return ok


if __name__ == "__main__":
    sys.exit(main())
