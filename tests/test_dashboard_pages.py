"""The supervisors' dashboard page by page (AppTest), its login, corrections and CSV export.

One small warehouse built in a temp folder holds what each page shows: the bundled 55-project
registry, progress reports and a milestone plan for JY01, six residents' messages (matched,
"none", low-confidence, unclassified), statuses at two dates from the real status engine,
letters with a file on disk, an ingestion run with rejected rows that look like formulas.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import os
import re
import stat
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from livelihood_monitor import cli_users, db, queries, registry, status, users
from livelihood_monitor.config import DEFAULT_REGISTRY, Settings
from livelihood_monitor.corrections import CorrectionError, record_correction
from livelihood_monitor.users import User

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboards" / "app.py"
SH = ZoneInfo("Asia/Shanghai")
YEAR = 2025

# fid, channel, observation point, district, submitted, text, (code, confidence, terms, type)
MESSAGES: list[
    tuple[
        int, str, str | None, str, datetime, str, tuple[str | None, float, str | None, str] | None
    ]
] = [
    (
        1,
        "observation_point",
        "广陵区东关街道民情观察点",
        "广陵区",
        datetime(2025, 6, 10, 9, 30, tzinfo=SH),
        "学校扩建工地停工一个月了，联系电话138****5678",
        ("JY01", 0.92, "学校;停工", "complaint"),
    ),
    (
        2,
        "direct_channel",
        None,
        "邗江区",
        datetime(2025, 6, 12, 10, 0, tzinfo=SH),
        "新学校什么时候开学？<script>alert(1)</script>",
        ("JY01", 0.88, "学校", "inquiry"),
    ),
    (
        3,
        "meeting_day",
        None,
        "江都区",
        datetime(2025, 6, 20, 15, 0, tzinfo=SH),
        "学校操场修得很好 *点赞*",
        ("JY01", 0.95, "学校", "praise"),
    ),
    (
        4,
        "observation_point",
        "广陵区文峰街道民情观察点",
        "广陵区",
        datetime(2025, 6, 21, 8, 0, tzinfo=SH),
        "物业费太贵了，服务也差",
        (None, 0.9, None, "complaint"),
    ),
    (
        5,
        "direct_channel",
        None,
        "广陵区",
        datetime(2025, 6, 22, 11, 0, tzinfo=SH),
        "老人吃饭不方便，希望社区多开几家食堂",
        ("YL02", 0.35, "社区", "suggestion"),
    ),
    (
        6,
        "hotline",
        None,
        "邗江区",
        datetime(2025, 6, 23, 19, 0, tzinfo=SH),
        "路灯坏了没人修",
        None,
    ),
]


def build_small_warehouse(path: Path, letter_file: Path | None = None) -> Path:
    """Create the warehouse this module's tests (and the browser test) read."""
    db.init_warehouse(path)
    projects = registry.read_registry(DEFAULT_REGISTRY, YEAR)
    with db.write_transaction(path) as con:
        registry.save_registry(con, projects, year=YEAR, file_name="s.csv", sha256="x")
        for n, (day, pct) in enumerate(
            [(date(2025, 3, 31), 10.0), (date(2025, 5, 31), 25.0), (date(2025, 6, 28), 30.0)]
        ):
            con.execute(
                "INSERT INTO progress_reports (year, project_code, report_date, progress_pct, "
                "note, unit, source, source_id) VALUES (2025, 'JY01', ?, ?, '按月报送', "
                "'市教育局', 'test', ?)",
                [day, pct, f"r{n}"],
            )
        con.execute(
            "INSERT INTO project_milestones (year, project_code, planned_on, planned_pct) "
            "VALUES (2025, 'JY01', DATE '2025-06-30', 40), (2025, 'JY01', DATE '2025-09-30', 80)"
        )
        for fid, channel, point, district, when, text, match in MESSAGES:
            con.execute(
                "INSERT INTO feedback (feedback_id, source, source_id, channel, observation_point, "
                "district, submitted_at, text_raw, text, content_hash) "
                "VALUES (?, 'test', ?, ?, ?, ?, ?, ?, ?, ?)",
                [fid, str(fid), channel, point, district, when, text, text, str(fid)],
            )
            if match is not None:
                code, confidence, terms, kind = match
                con.execute(
                    "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, "
                    "rank, method, matched_terms, message_type, urgency, decided_at) "
                    "VALUES (?, 2025, ?, ?, 1, 'auto', ?, ?, 1, ?)",
                    [fid, code, confidence, terms, kind, datetime(2025, 6, 24, tzinfo=SH)],
                )
        # The classifier's second guess for the low-confidence message.
        con.execute(
            "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, "
            "method, decided_at) VALUES (5, 2025, 'YL04', 0.3, 2, 'auto', ?)",
            [datetime(2025, 6, 24, tzinfo=SH)],
        )
        con.execute(
            "INSERT INTO letters (letter_no, year, serial, kind, unit, issued_on, due_on, status, "
            "path_docx) VALUES ('扬人常民函〔2025〕3号', 2025, 3, 'reminder_letter', '市教育局', "
            "DATE '2025-07-01', DATE '2025-07-15', 'issued', ?), "
            "('扬人常民函〔2025〕4号', 2025, 4, 'feedback_letter', '市民政局', NULL, NULL, "
            "'draft', NULL)",
            [str(letter_file) if letter_file else None],
        )
        con.execute(
            "INSERT INTO ingest_runs (run_id, source, started_at, finished_at, rows_read, "
            "rows_loaded, rows_rejected, status) VALUES ('run-1', 'file:observation_point', "
            "TIMESTAMPTZ '2025-06-25 09:00:00+08', TIMESTAMPTZ '2025-06-25 09:00:05+08', 10, 5, 5, "
            "'completed')"
        )
        for row, raw in enumerate(
            ['=HYPERLINK("http://x","点我")', "+86 138", "-1+2", "@SUM(A1)", "普通内容"], start=2
        ):
            con.execute(
                "INSERT INTO rejected_rows (run_id, source, file, row_number, reason, raw) "
                "VALUES ('run-1', 'file:observation_point', 'points.csv', ?, ?, ?)",
                [row, f"第{row}行：缺少反映内容", raw],
            )
    for as_of in (date(2025, 3, 31), date(2025, 6, 30)):
        with db.write_transaction(path) as con:
            status.compute_status(con, YEAR, as_of)
    return path


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dash")
    letter = folder / "reminder.docx"
    letter.write_bytes(b"PK fake docx")
    return build_small_warehouse(folder / "wh" / "livelihood.duckdb", letter)


@pytest.fixture
def warehouse(tmp_path: Path, small_warehouse: Path) -> Path:
    """A private copy, for tests that write."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(small_warehouse.read_bytes())
    return copy


@pytest.fixture
def users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    monkeypatch.setenv("LM_USERS_FILE", str(path))
    return path


def app(
    monkeypatch: pytest.MonkeyPatch,
    warehouse: Path,
    role: str | None = "editor",
    page: str | None = None,
) -> AppTest:
    """The app signed in as ``role`` (None: not signed in), opened on ``page``."""
    monkeypatch.setenv("LM_WAREHOUSE", str(warehouse))
    at = AppTest.from_file(str(APP), default_timeout=60)
    if role is not None:
        at.session_state["user"] = {"name": f"测试{role}", "role": role}
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# --- login -------------------------------------------------------------------------------------


def test_login_form_signs_in_and_out(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path, users_file: Path
) -> None:
    users.add_user(users_file, "zhang", "s3cret-pass", "viewer")
    at = app(monkeypatch, small_warehouse, role=None)
    assert at.title[0].value == "民生实事监督"
    assert not at.metric  # no page content before signing in
    at.text_input[0].input("zhang")
    at.text_input[1].input("s3cret-pass")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "民生实事项目总览"
    assert "**zhang**（只读）" in [m.value for m in at.sidebar.markdown]
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "民生实事监督"


def test_login_rejects_wrong_password(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path, users_file: Path
) -> None:
    users.add_user(users_file, "zhang", "s3cret-pass", "editor")
    at = app(monkeypatch, small_warehouse, role=None)
    at.text_input[0].input("zhang")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert at.error[0].value == "用户名或密码不正确。"
    assert at.title[0].value == "民生实事监督"
    assert "user" not in at.session_state


def test_login_without_accounts_says_which_command(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path, users_file: Path
) -> None:
    at = app(monkeypatch, small_warehouse, role=None)
    assert "livelihood-monitor users ensure-demo" in at.info[0].value


def test_oidc_provider_replaces_the_form(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path, users_file: Path
) -> None:
    monkeypatch.setenv("LM_WAREHOUSE", str(small_warehouse))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "lm",
        "client_secret": "s",
        "server_metadata_url": "https://idp.example.cn/.well-known/openid-configuration",
    }
    at.run()
    assert at.title[0].value == "民生实事监督"
    assert [b.label for b in at.button] == ["使用统一身份认证登录"]
    assert not at.text_input


def test_pages_are_not_reachable_without_login(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path, users_file: Path
) -> None:
    at = app(monkeypatch, small_warehouse, role=None)
    with pytest.raises(ValueError):  # only the login page is registered
        at.switch_page("views/quality.py")


# --- 总览 ----------------------------------------------------------------------------------------


def test_overview_shows_latest_status_coloured_by_status(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = app(monkeypatch, small_warehouse)
    assert at.title[0].value == "民生实事项目总览"
    assert at.sidebar.radio(key="checkpoint_2025").value == "mid"
    assert at.sidebar.date_input(key="as_of_2025_mid").value == date(2025, 6, 30)
    shown = metrics(at)
    assert shown["项目数"] == "55" and shown["已评估进度"] == "55 / 55"
    # Only JY01 has reports: at 2025-06-30 its 30% against a planned 40% is 滞后.
    assert shown["滞后"] == "1" and shown["未填报"] == "54"
    assert "评估日期：2025-06-30（年中）" in at.caption[0].value
    cards = markdown(at)
    assert "#f0a202" in cards and "填报 30.0% / 时序 40.0%" in cards


def test_overview_checkpoint_and_date_pick_the_stored_status(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = app(monkeypatch, small_warehouse)
    at.sidebar.radio(key="checkpoint_2025").set_value("start").run()
    assert "评估日期：2025-03-31（年初）" in at.caption[0].value
    plan = at.info[0].value  # only JY01 has a milestone plan
    assert plan.startswith("年初问计划：54 个项目计划不完整") and "进度计划（里程碑）" in plan
    at.sidebar.radio(key="checkpoint_2025").set_value("mid").run()
    at.sidebar.date_input(key="as_of_2025_mid").set_value(date(2025, 5, 15)).run()
    assert "2025-03-31" in at.caption[0].value and "此前最近一次" in at.caption[0].value
    at.sidebar.radio(key="checkpoint_2025").set_value("end").run()
    assert "2025-12-31" in at.sidebar.date_input(key="as_of_2025_end").value.isoformat()
    # The latest evaluation before the year end is still shown, with the date it was made.
    assert "2025-06-30" in at.caption[0].value
    assert at.info[0].value.startswith("年末问结果：达到目标值 0 个，未达到 0 个，无法判断 55 个")


def test_overview_filters_by_status(monkeypatch: pytest.MonkeyPatch, small_warehouse: Path) -> None:
    at = app(monkeypatch, small_warehouse)
    at.sidebar.multiselect[2].select("behind").run()  # 类别, 牵头单位, 状态
    assert metrics(at)["项目数"] == "1"
    assert [s.value for s in at.subheader if "项）" in s.value] == ["教育发展（1 项）"]


def test_empty_warehouse_pages_say_which_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "bare.duckdb"
    db.init_warehouse(path)
    with db.write_transaction(path) as con:
        registry.save_registry(
            con,
            registry.read_registry(DEFAULT_REGISTRY, YEAR),
            year=YEAR,
            file_name="s",
            sha256="x",
        )
    at = app(monkeypatch, path)
    assert "livelihood-monitor status --as-of" in at.info[0].value
    # Every other page of an empty year says what to run next, too.
    expected = {
        "views/opinion.py": "还没有群众意见",
        "views/letters.py": "livelihood-monitor letters draft",
        "views/quality.py": "还没有导入记录",
    }
    for page, hint in expected.items():
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert hint in at.info[0].value, page


# --- 项目详情 ------------------------------------------------------------------------------------


def open_project(monkeypatch: pytest.MonkeyPatch, warehouse: Path, code: str) -> AppTest:
    at = app(monkeypatch, warehouse, page="views/project.py")
    at.selectbox(key="project_code").set_value(code).run()
    assert not at.exception, at.exception
    return at


def test_project_detail_progress_reports_and_status(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = open_project(monkeypatch, small_warehouse, "JY01")
    assert at.title[0].value == "项目详情"
    assert at.header[0].value == "JY01 建设一批优质学校"
    shown = metrics(at)
    assert shown["时序进度"] == "40.0%" and shown["填报进度"] == "30.0%"
    assert shown["差距"] == "-10.0" and shown["状态"] == "滞后"
    assert "进度与时序进度" in [s.value for s in at.subheader]
    assert len(at.get("vega_lite_chart")) == 1
    reports = at.dataframe[0].value
    assert list(reports["进度（%）"]) == [10.0, 25.0, 30.0]


def test_project_detail_messages_are_masked_escaped_and_highlighted(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = open_project(monkeypatch, small_warehouse, "JY01")
    shown = metrics(at)
    assert shown["涉及本项目的意见"] == "3"
    assert shown["投诉"] == "1" and shown["咨询"] == "1" and shown["表扬"] == "1"
    text = markdown(at)
    assert "<mark>学校</mark>扩建工地<mark>停工</mark>" in text
    assert "138****5678" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    assert "热点问题" in text and "学校 <b>3</b>" in text
    letters = at.dataframe[-1].value
    assert list(letters["文号"]) == ["扬人常民函〔2025〕3号"]
    assert list(letters["类型"]) == ["进度提醒函"]


def test_project_without_feedback_or_reports_says_what_next(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = open_project(monkeypatch, small_warehouse, "WS06")
    infos = " ".join(i.value for i in at.info)
    assert "还没有进度填报" in infos and "还没有归入本项目的群众意见" in infos
    assert "livelihood-monitor letters draft" in infos


# --- 民情 ----------------------------------------------------------------------------------------


def test_opinion_page_breakdowns_and_hot_issues(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = app(monkeypatch, small_warehouse, page="views/opinion.py")
    assert at.title[0].value == "民情民意"
    assert "共收到群众意见 6 条" in at.caption[0].value
    assert "2025-05-25 至 2025-06-23" in at.caption[0].value
    assert len(at.get("vega_lite_chart")) == 5  # 渠道, 区县, 观察点, 按周, 问题词
    top = at.dataframe[0].value
    assert list(top["项目"]) == ["JY01 建设一批优质学校", "YL02 新建颐养社区"]
    assert list(top["意见条数"]) == [3, 1]
    shown = metrics(at)
    assert shown["待归类合计"] == "3"
    assert shown["未归入项目"] == "1" and shown["置信度低"] == "1" and shown["尚未分类"] == "1"


def test_breakdown_counts_by_dimension(small_warehouse: Path) -> None:
    start, end = queries.year_bounds(YEAR)
    frame = queries.feedback_breakdown(small_warehouse, start, end)
    by = {
        (d, k if isinstance(k, str) else None): n
        for d, k, n in zip(frame["dim"], frame["key"], frame["n"], strict=True)
    }
    assert by[("channel", "observation_point")] == 2 and by[("channel", "hotline")] == 1
    assert by[("district", "广陵区")] == 3 and by[("observation_point", None)] == 4
    weeks = frame[frame["dim"] == "week"]
    # Mondays in Asia/Shanghai: Jun 9, 16 and 23.
    assert sorted(str(w) for w in weeks["week_start"]) == ["2025-06-09", "2025-06-16", "2025-06-23"]
    assert list(weeks.sort_values("week_start")["n"]) == [2, 3, 1]


def test_viewer_sees_the_queue_read_only(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = app(monkeypatch, small_warehouse, role="viewer", page="views/opinion.py")
    queue = at.dataframe[-1].value
    assert sorted(queue["编号"]) == [4, 5, 6]
    assert "只读账号" in at.info[-1].value
    assert not [b for b in at.button if b.key == "triage_save"]


def test_editor_correction_writes_a_manual_match(
    monkeypatch: pytest.MonkeyPatch, warehouse: Path
) -> None:
    at = app(monkeypatch, warehouse, role="editor", page="views/opinion.py")
    at.selectbox(key="triage_feedback").set_value(5).run()
    # The classifier's candidates come first after "none of the projects".
    assert at.selectbox(key="triage_project_5").options[:3] == [
        "不属于任何项目",
        "YL02 新建颐养社区",
        "YL04 建设社区助餐点",
    ]
    at.selectbox(key="triage_project_5").set_value("YL04")
    at.button(key="triage_save").click().run()
    assert not at.exception, at.exception
    assert "已保存：意见 #5 归入“YL04 建设社区助餐点”" in at.success[0].value
    _, rows = db.read_rows(
        warehouse,
        "SELECT project_code, method, rank, decided_by, confidence FROM feedback_matches "
        "WHERE feedback_id = 5 AND method = 'manual'",
    )
    assert rows == [("YL04", "manual", 1, "测试editor", 1.0)]
    # The cache was cleared: the message left the queue on the very next render.
    assert sorted(at.dataframe[-1].value["编号"]) == [4, 6]
    assert metrics(at)["置信度低"] == "0"


def test_record_correction_rules(warehouse: Path) -> None:
    viewer, editor = User("v", "viewer"), User("e", "editor")
    with pytest.raises(PermissionError, match="只读账号"):
        record_correction(warehouse, 5, "YL04", viewer)
    with pytest.raises(CorrectionError, match="没有编号为 XX99"):
        record_correction(warehouse, 5, "XX99", editor)
    with pytest.raises(CorrectionError, match="找不到编号为 999"):
        record_correction(warehouse, 999, None, editor)
    done = record_correction(warehouse, 6, None, editor)  # unclassified, so year from its date
    assert (done.year, done.project_code) == (2025, None)
    start, end = queries.year_bounds(YEAR)
    queue = queries.triage_queue(warehouse, YEAR, start, end)
    assert queue.counts == {"none": 1, "low": 1}  # a manual decision leaves the queue
    _, n = db.read_rows(warehouse, "SELECT count(*) FROM feedback_matches WHERE method='manual'")
    assert n == [(1,)]


def test_triage_queue_ranks_and_reasons(small_warehouse: Path) -> None:
    start, end = queries.year_bounds(YEAR)
    queue = queries.triage_queue(small_warehouse, YEAR, start, end, threshold=0.9)
    # At 0.9, message 2 (0.88) is low confidence too; manual rows and sure matches are not.
    assert queue.counts == {"none": 1, "low": 2, "unclassified": 1}
    items = queue.items.set_index("feedback_id")
    assert items.loc[5, "candidates"] == "YL02 0.35；YL04 0.30"
    assert items.loc[6, "reason"] == "unclassified" and items.loc[4, "reason"] == "none"
    only_none = queries.triage_queue(small_warehouse, YEAR, start, end, kind="none")
    assert list(only_none.items["feedback_id"]) == [4]


# --- 函件 ----------------------------------------------------------------------------------------


def test_letters_register_filter_and_download(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = app(monkeypatch, small_warehouse, page="views/letters.py")
    assert at.title[0].value == "函件登记"
    shown = metrics(at)
    assert shown["函件合计"] == "2" and shown["已发出"] == "1" and shown["草稿"] == "1"
    register = at.dataframe[0].value
    assert list(register["文号"]) == ["扬人常民函〔2025〕4号", "扬人常民函〔2025〕3号"]
    at.multiselect(key="letter_status").select("issued").run()
    assert list(at.dataframe[0].value["状态"]) == ["已发出"]
    assert [b.label for b in at.get("download_button")] == ["下载 Word（.docx）"]
    at.multiselect(key="letter_status").unselect("issued").select("draft").run()
    assert "本机找不到该函件的文件" in at.info[0].value


# --- hot issues, satisfaction, replies ------------------------------------------------------------

# Four more messages about ZF02 (既有住宅加装电梯) in 广陵区: three near-duplicates about one lift
# shaft left open at 桐园新村, one asking about the subsidy: (fid, submitted, text, likes, terms).
LIFT_MESSAGES = [
    (
        101,
        datetime(2025, 6, 15, 9, tzinfo=SH),
        "桐园新村7幢加装电梯的基坑挖好就停工了，一个多月没人管",
        0,
        "加装电梯;停工",
    ),
    (
        102,
        datetime(2025, 6, 17, 9, tzinfo=SH),
        "桐园新村7幢电梯基坑停工一个多月了，没人管，老人上下楼难",
        5,
        "加装电梯;停工",
    ),
    (
        103,
        datetime(2025, 6, 19, 9, tzinfo=SH),
        "桐园新村7幢加装电梯停工，基坑一直没人管",
        0,
        "加装电梯;停工",
    ),
    (
        104,
        datetime(2025, 6, 18, 9, tzinfo=SH),
        "加装电梯的补贴怎么申请，需要准备哪些材料",
        0,
        "加装电梯;补贴",
    ),
]
# JY01 rated by three residents and a deputy: (100 + 100 + 60 + 0) / 4 = 65.
RATINGS = [
    ("resident", "满意"),
    ("resident", "满意"),
    ("resident", "基本满意"),
    ("deputy", "不满意"),
]
REPLY_TEXT = (
    "关于扬人常民函〔2025〕3号的答复：市教育局高度重视，已督促施工单位于7月5日全面复工，"
    "现场联系人手机13912345678。"
    + "后续工程按周报送进度，确保年底前建成投用。" * 12
    + "此句在二百字之后。"
)


def add_supervision_rows(path: Path) -> Path:
    """The small warehouse plus the lift messages, satisfaction ratings, a reply and events."""
    with db.write_transaction(path) as con:
        for fid, when, text, likes, terms in LIFT_MESSAGES:
            con.execute(
                "INSERT INTO feedback (feedback_id, source, source_id, channel, district, "
                "submitted_at, text_raw, text, likes, content_hash) "
                "VALUES (?, 'test', ?, 'direct_channel', '广陵区', ?, ?, ?, ?, ?)",
                [fid, str(fid), when, text, text, likes, str(fid)],
            )
            con.execute(
                "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, "
                "rank, method, matched_terms, message_type, urgency, decided_at) "
                "VALUES (?, 2025, 'ZF02', 0.9, 1, 'auto', ?, 'complaint', 1, ?)",
                [fid, terms, datetime(2025, 6, 24, tzinfo=SH)],
            )
        for n, (kind, rating) in enumerate(RATINGS):
            con.execute(
                "INSERT INTO satisfaction_ratings (rating_key, year, project_code, level, "
                "rater_kind, rating, score, rated_on, source_file, row_number) "
                "VALUES (?, 2025, 'JY01', 'project', ?, ?, ?, DATE '2025-12-20', 'r.csv', ?)",
                [f"k{n}", kind, rating, {"满意": 100, "基本满意": 60, "不满意": 0}[rating], n + 2],
            )
        letter = "扬人常民函〔2025〕3号"
        con.execute("UPDATE letters SET status = 'replied' WHERE letter_no = ?", [letter])
        con.execute(
            "INSERT INTO letter_replies (letter_no, via_letter_no, received_on, file_name, "
            "file_sha256, text, recorded_by) VALUES (?, ?, DATE '2025-07-10', '回函.docx', 'x', "
            "?, '王秘书')",
            [letter, letter, REPLY_TEXT],
        )
        for at, action, before, after, note in (
            ("2025-06-30 10:00:00+08", "drafted", None, "draft", "评估日期 2025-06-30"),
            ("2025-07-01 09:00:00+08", "issued", "draft", "issued", None),
            ("2025-07-10 15:00:00+08", "replied", "issued", "replied", "回函 回函.docx"),
        ):
            con.execute(
                'INSERT INTO letter_events (letter_no, "at", actor, action, from_status, '
                "to_status, note) VALUES (?, CAST(? AS TIMESTAMPTZ), '王秘书', ?, ?, ?, ?)",
                [letter, at, action, before, after, note],
            )
    return path


@pytest.fixture(scope="module")
def rich_warehouse(tmp_path_factory: pytest.TempPathFactory, small_warehouse: Path) -> Path:
    copy = tmp_path_factory.mktemp("rich") / "livelihood.duckdb"
    copy.write_bytes(small_warehouse.read_bytes())
    return add_supervision_rows(copy)


def issues_shown(at: AppTest) -> pd.DataFrame:
    """The hot-issue table (an HTML table in a Markdown element) as a frame of unescaped text."""
    block = next(m.value for m in at.markdown if 'data-table="hot-issues"' in m.value)
    header = [html.unescape(h) for h in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", block)]
    rows = [
        [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", block)[1:]
    ]
    frame = pd.DataFrame(rows, columns=header)
    return frame.astype({"热度": float, "条数": int})


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page that has ``column``."""
    for table in at.dataframe:
        frame = table.value
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a {column} column")


def test_project_hot_issues_group_near_duplicates(
    monkeypatch: pytest.MonkeyPatch, rich_warehouse: Path
) -> None:
    at = open_project(monkeypatch, rich_warehouse, "ZF02")
    issues = issues_shown(at)
    top = issues.iloc[0]
    assert (top["条数"], top["地点"]) == (3, "广陵区")
    assert "加装电梯" in top["关键词"]
    assert top["代表性意见"] == LIFT_MESSAGES[0][2]  # the first report of the group
    assert (top["首次反映"], top["最近反映"]) == ("2025-06-15", "2025-06-19")
    assert top["热度"] > issues.iloc[1]["热度"]
    assert list(issues["条数"]) == [3, 1]  # the subsidy question stands alone
    text = markdown(at)
    assert "**热点问题**（最新 4 条意见中" in text
    assert "加装电梯 <b>4</b>" in text  # the hot-term chips are still there


def test_opinion_hot_issues_across_projects(
    monkeypatch: pytest.MonkeyPatch, rich_warehouse: Path
) -> None:
    at = app(monkeypatch, rich_warehouse, page="views/opinion.py")
    issues = issues_shown(at)
    top = issues.iloc[0]
    assert (top["项目"], top["条数"], top["地点"]) == ("ZF02 既有住宅加装电梯", 3, "广陵区")
    # Every message about a project is in exactly one issue: JY01's three (different districts,
    # different wording), YL02's one, ZF02's four. Message 4 (none) and 6 (unclassified) are not.
    assert sorted(issues["条数"]) == [1, 1, 1, 1, 1, 3]
    assert any("138****5678" in t for t in issues["代表性意见"])  # the masked text


def test_group_issues_words_and_place() -> None:
    assert queries.cjk_bigrams("电梯停工了 A3区") == {"电梯", "梯停", "停工", "工了"}

    def msg(i: int, text: str, project: str = "ZF02") -> queries.IssueMessage:
        when = datetime(2025, 6, 1, tzinfo=SH)
        return queries.IssueMessage(i, text, when, 0, None, None, project, "电梯")

    # 希望 and 桐园 are in every message of ZF02 (≥ 10 messages): dropped; 尽快, 快桐 (half of them)
    # stays, and so do the matched terms.
    many = [msg(i, f"希望{'修好' if i % 2 else '尽快'}桐园新村{i}幢") for i in range(12)]
    words = queries.issue_words([*many, msg(99, "希望有个说法", project="YL04")])
    assert words[0] == {"电梯", "望尽", "尽快", "快桐"}
    assert "希望" in words[-1]  # YL04 has one message: nothing is common there
    # Without a district or observation point the place comes from the text.
    groups = queries.group_issues([msg(1, "桐园新村电梯停工"), msg(2, "桐园新村电梯停工了")])
    assert [(i.place, i.count) for i in groups.top] == [("桐园新村", 2)]
    assert groups.messages == 2


def test_group_issues_bounds_the_work_per_project_and_place() -> None:
    """Pairwise grouping is quadratic in a bucket: only its newest ISSUE_BUCKET_MAX messages."""
    cap = queries.ISSUE_BUCKET_MAX
    start = datetime(2025, 6, 1, tzinfo=SH)
    # Distinct texts (each its own issue), the i-th a minute after the one before.
    messages = [
        queries.IssueMessage(
            i,
            f"第{i}号意见" + chr(0x4E00 + i) * 3,
            start + timedelta(minutes=i),
            0,
            "广陵区",
            None,
            "ZF02",
            None,
        )
        for i in range(cap + 20)
    ]
    other = queries.IssueMessage(999, "邗江区的意见", start, 0, "邗江区", None, "ZF02", None)
    groups = queries.group_issues([*messages, other], top=cap + 50)
    assert groups.messages == cap + 1  # the other place's message is not crowded out
    grouped = {message_id for issue in groups.top for message_id in issue.message_ids}
    assert "999" in grouped and "19" not in grouped and "20" in grouped  # the oldest left out


def test_project_satisfaction_score(monkeypatch: pytest.MonkeyPatch, rich_warehouse: Path) -> None:
    at = open_project(monkeypatch, rich_warehouse, "JY01")
    shown = metrics(at)
    assert shown["满意度"] == "65.0" and shown["评价数"] == "4"
    assert shown["群众满意度"] == "86.7" and shown["人大代表满意度"] == "0.0"
    table = frame_with(at, "评价人")
    assert list(table["评价人"]) == ["群众", "人大代表", "合计"]
    assert list(table["满意"]) == [2, 0, 2] and list(table["不满意"]) == [0, 1, 1]
    assert list(table["满意度"]) == [86.7, 0.0, 65.0]


def test_project_without_ratings_says_how_to_import(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = open_project(monkeypatch, small_warehouse, "JY01")
    assert "满意度" not in metrics(at)
    infos = " ".join(i.value for i in at.info)
    assert "`livelihood-monitor satisfaction import 文件`" in infos


def test_overview_satisfaction_column_only_with_ratings(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path, rich_warehouse: Path
) -> None:
    at = app(monkeypatch, rich_warehouse)
    table = frame_with(at, "项目名称")
    scores = dict(zip(table["编号"], table["满意度"], strict=True))
    assert scores["JY01"] == 65.0 and pd.isna(scores["ZF02"])
    at = app(monkeypatch, small_warehouse)
    assert "满意度" not in frame_with(at, "项目名称").columns


def test_letters_show_replies_and_audit_trail(
    monkeypatch: pytest.MonkeyPatch, rich_warehouse: Path
) -> None:
    at = app(monkeypatch, rich_warehouse, page="views/letters.py")
    register = at.dataframe[0].value.set_index("文号")
    assert register.loc["扬人常民函〔2025〕3号", "回函"] == "1 件，最近 2025-07-10"
    assert register.loc["扬人常民函〔2025〕4号", "回函"] == ""
    at.selectbox(key="letter_download").set_value("扬人常民函〔2025〕3号").run()
    assert not at.exception, at.exception
    text = markdown(at)
    assert "关于扬人常民函〔2025〕3号的答复：市教育局高度重视" in text
    assert "139****5678" in text and "13912345678" not in text  # masked
    assert "此句在二百字之后" not in text  # only the first 200 characters
    captions = " ".join(c.value for c in at.caption)
    assert "收到日期：2025-07-10" in captions and "文件：回函.docx" in captions
    assert "以上为前 200 字" in captions
    expander = at.expander[0]
    assert expander.label == "操作记录（3 条）"
    events = expander.dataframe[0].value
    assert list(events["操作"]) == ["起草", "发出", "收到回函"]
    assert list(events["状态变化"]) == ["— → 草稿", "草稿 → 已发出", "已发出 → 已回函"]
    assert list(events["操作人"]) == ["王秘书"] * 3


# --- 数据质量 ------------------------------------------------------------------------------------


def test_quality_page_runs_and_rejected_rows(
    monkeypatch: pytest.MonkeyPatch, small_warehouse: Path
) -> None:
    at = app(monkeypatch, small_warehouse, page="views/quality.py")
    assert at.title[0].value == "数据质量"
    assert metrics(at)["被拒收的行"] == "5"
    runs = at.dataframe[0].value
    assert list(runs["批次"]) == ["run-1"] and list(runs["状态"]) == ["完成"]
    summary = at.dataframe[1].value
    assert list(summary["原因"]) == ["缺少反映内容"] and list(summary["行数"]) == [5]
    assert len(at.dataframe[2].value) == 5
    assert [b.label for b in at.get("download_button")] == ["下载被拒收的行（CSV）"]


def test_csv_export_escapes_formulas(small_warehouse: Path) -> None:
    data = queries.rejected_rows_csv(small_warehouse)
    assert data.startswith("\ufeff".encode())  # Excel reads the BOM as UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    raw = sorted(r["原始内容"] for r in rows)
    assert raw == sorted(
        ['\'=HYPERLINK("http://x","点我")', "'+86 138", "'-1+2", "'@SUM(A1)", "普通内容"]
    )
    assert {r["行号"] for r in rows} == {"2", "3", "4", "5", "6"}  # numbers stay numbers


def test_escape_formula_cases() -> None:
    assert queries.escape_formula("=1+1") == "'=1+1"
    assert queries.escape_formula("\t=x") == "'\t=x"
    assert queries.escape_formula("正常") == "正常"
    assert queries.escape_formula(-3) == -3


def test_missing_warehouse_page_says_make_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = app(monkeypatch, tmp_path / "none.duckdb", page=None)
    assert "make demo" in at.warning[0].value


# --- helpers -------------------------------------------------------------------------------------


def test_expected_line_follows_plan() -> None:
    start, due = date(2025, 1, 1), date(2025, 12, 31)
    assert [(p.on, p.pct) for p in queries.expected_line(start, due)] == [(start, 0), (due, 100)]
    line = queries.expected_line(start, due, [(date(2025, 6, 30), 40.0)])
    assert [p.pct for p in line] == [0.0, 40.0, 100.0]
    # The chart's corner points give exactly the status engine's 时序进度 in between.
    mid = date(2025, 4, 1)
    a, b = line[0], line[1]
    interpolated = a.pct + (b.pct - a.pct) * (mid - a.on).days / (b.on - a.on).days
    engine = status.expected_pct(start, due, mid, [status.Milestone(date(2025, 6, 30), 40.0)])
    assert interpolated == pytest.approx(engine)


def test_feedback_window_ends_at_latest_message() -> None:
    latest = datetime(2025, 6, 23, 19, 0, tzinfo=SH)
    start, end = queries.feedback_window(latest, datetime(2026, 1, 5, tzinfo=SH), 30, 2025)
    assert (start.date(), end.date()) == (date(2025, 5, 25), date(2025, 6, 24))
    start, _ = queries.feedback_window(latest, datetime(2026, 1, 5, tzinfo=SH), 366, 2025)
    assert start.date() == date(2025, 1, 1)


def test_highlight_escapes_and_marks() -> None:
    sys.path.insert(0, str(REPO / "dashboards"))
    from common import highlight, split_terms

    out = highlight("电梯<b>坏了</b>\n电梯&amp", split_terms("电梯;amp"))
    assert (
        out == "<mark>电梯</mark>&lt;b&gt;坏了&lt;/b&gt;<br><mark>电梯</mark>&amp;<mark>amp</mark>"
    )
    assert split_terms("学校；停工、 噪音") == ["学校", "停工", "噪音"]
    assert split_terms(None) == []


# --- users ---------------------------------------------------------------------------------------


def test_users_hash_with_salt_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "u" / "users.toml"
    users.add_user(path, "李四", "password-1", "editor")
    users.add_user(path, "wang", "password-1", "viewer")
    assert users.verify(path, "李四", "password-1") == User("李四", "editor")
    assert users.verify(path, "wang", "password-1") == User("wang", "viewer")
    assert users.verify(path, "wang", "password-2") is None
    assert users.verify(path, "nobody", "password-1") is None
    text = path.read_text(encoding="utf-8")
    assert "password-1" not in text
    entries = users.load_users(path)
    assert entries["李四"]["salt"] != entries["wang"]["salt"]
    assert entries["李四"]["hash"] != entries["wang"]["hash"]  # same password, other salt
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_users_refuse_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    with pytest.raises(users.UserError, match="密码太短"):
        users.add_user(path, "a", "short")
    with pytest.raises(users.UserError, match="角色"):
        users.add_user(path, "a", "long-enough", "admin")
    with pytest.raises(users.UserError, match="用户名"):
        users.add_user(path, 'a"]\n[users.x', "long-enough")


def test_demo_user_password_is_stable_until_replaced(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    name, password = users.ensure_demo_user(path)
    assert name == "demo" and len(password) >= 12
    assert users.ensure_demo_user(path) == (name, password)
    assert users.verify(path, name, password) == User("demo", "editor")
    users.add_user(path, "demo", "changed-by-admin", "editor")
    _, fresh = users.ensure_demo_user(path)
    assert fresh != password and users.verify(path, "demo", fresh) is not None


def _users_cli(argv: list[str], settings: Settings, stdin: str = "") -> tuple[int, str, str]:
    """Run the ``users`` subcommands through a parser wired like ``cli.build_parser``."""
    import argparse
    import contextlib

    parser = argparse.ArgumentParser(prog="livelihood-monitor")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str,
        help_text: str,
        handler: cli_users.Handler,
        parent: argparse._SubParsersAction[argparse.ArgumentParser] = sub,
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text)
        p.set_defaults(handler=handler)
        return p

    cli_users.register(sub, add)
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = args.handler(args, settings)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def test_users_cli_add_and_ensure_demo(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    code, out, _ = _users_cli(["users", "add", "zhao", "--role", "editor"], settings, "pw-123456\n")
    assert code == 0 and "已保存账号 zhao（编辑）" in out
    assert users.verify(tmp_path / "users.toml", "zhao", "pw-123456") == User("zhao", "editor")
    code, _, err = _users_cli(["users", "add", "qian"], settings, "short\n")
    assert code == 2 and "密码太短" in err
    code, out, _ = _users_cli(["users", "ensure-demo"], settings)
    assert code == 0 and "演示编辑账号  用户名：demo  密码：" in out
    password = out.split("密码：")[1].split()[0]
    assert users.verify(tmp_path / "users.toml", "demo", password) is not None


# --- concurrency ---------------------------------------------------------------------------------

WRITER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from livelihood_monitor import db
path, n = Path(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    with db.write_transaction(path) as con:
        fid = 1000 + i
        con.execute(
            "INSERT INTO feedback (feedback_id, source, source_id, channel, submitted_at, "
            "text_raw, text, content_hash) VALUES (?, 'writer', ?, 'hotline', ?, '新消息', "
            "'新消息', ?)",
            [fid, str(fid), datetime(2025, 6, 23, 12, tzinfo=timezone.utc), str(fid)],
        )
        con.execute(
            "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, "
            "method) VALUES (?, 2025, 'JY01', 0.2, 1, 'auto')",
            [fid],
        )
print("writer done", flush=True)
"""


@pytest.mark.slow
def test_dashboard_queries_keep_working_while_a_flow_writes(warehouse: Path) -> None:
    writes = 60
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(warehouse), str(writes)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    start, end = queries.year_bounds(YEAR)
    reads, errors, seen = 0, [], []
    try:
        while writer.poll() is None or reads < 5:
            try:
                queue = queries.triage_queue(warehouse, YEAR, start, end)
                page = queries.opinion_page(warehouse, YEAR, 30)
                queries.project_page(warehouse, YEAR, "JY01", "市教育局")
                seen.append((queue.counts.get("low", 0), page.messages))
                reads += 1
            except Exception as exc:  # anything escaping the retry layer fails the test
                errors.append(repr(exc))
            if reads > 2000:
                break
    finally:
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert "writer done" in out
    assert not errors, errors[:3]
    assert reads >= 5, reads
    print(f"reads={reads} while {writes} write transactions ran")
    # Committed writes never disappear between reads, and all of them arrive.
    for (low_a, n_a), (low_b, n_b) in itertools.pairwise(seen):
        assert low_a <= low_b and n_a <= n_b
    final = queries.opinion_page(warehouse, YEAR, 30)
    assert final.messages == len(MESSAGES) + writes
