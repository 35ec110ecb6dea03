"""The letters register: drafting, numbering, de-duplication, replies, overdue, closing the loop."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from livelihood_monitor import cli_letters, db, letters, supervision
from livelihood_monitor.config import Settings
from livelihood_monitor.db import Connection
from livelihood_monitor.letters import DraftOptions, LetterError
from livelihood_monitor.normalize import normalize_text
from livelihood_monitor.privacy import mask_pii
from livelihood_monitor.registry import Project, save_registry
from livelihood_monitor.tabular import FileUnreadable
from livelihood_monitor.values import SHANGHAI

YEAR = 2025
AS_OF = date(2025, 9, 25)
LETTER_DATE = date(2025, 9, 26)
DUE = date(2025, 10, 16)  # 10 working days after 26 September 2025 (国庆 skipped)
EDU = "市教育局"
HOUSING = "市住房和城乡建设局"
PROJECTS = [
    ("JY01", "教育发展", "建设一批优质学校", "新建学校4所", EDU),
    ("JY02", "教育发展", "推进义务教育集团化办学", "组建3个教育集团", EDU),
    ("ZJ01", "城乡建设", "既有住宅加装电梯", "加装电梯200台", HOUSING),
    ("ZJ02", "城乡建设", "城镇老旧小区改造", "改造小区30个", HOUSING),
]
OPTS = DraftOptions(letter_date=LETTER_DATE, actor="测试员", pdf=False)


def _id_number(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


ID_NUMBER = _id_number("32100219850312123")


# --- fixtures -----------------------------------------------------------------------------


def seed_projects(con: Connection) -> None:
    save_registry(
        con,
        [
            Project(
                YEAR,
                code,
                cat,
                name,
                target,
                None,
                None,
                unit,
                date(2025, 1, 1),
                date(2025, 12, 31),
            )
            for code, cat, name, target, unit in PROJECTS
        ],
        year=YEAR,
        file_name="test.csv",
        sha256="x",
    )


def set_status(con: Connection, as_of: date, **statuses: str) -> None:
    """Store project_status rows for ``as_of``: code=status (others on_track)."""
    con.execute("DELETE FROM project_status WHERE as_of = ?", [as_of])
    for code, *_ in PROJECTS:
        st = statuses.get(code, "on_track")
        reported = {"behind": 60.0, "seriously_behind": 40.0, "missing": None}.get(st, 80.0)
        con.execute(
            "INSERT INTO project_status (year, project_code, as_of, checkpoint, expected_pct, "
            "reported_pct, gap_pct, status) VALUES (?, ?, ?, 'mid', 73.0, ?, ?, ?)",
            [YEAR, code, as_of, reported, None if reported is None else reported - 73.0, st],
        )


@dataclass
class FeedbackFactory:
    con: Connection
    next_id: int = 1
    raw_texts: list[str] = field(default_factory=list)

    def add(
        self,
        code: str | None,
        text: str,
        *,
        terms: str | None = None,
        submitter: str | None = None,
        channel: str = "observation_point",
        source_id: str | None = None,
        day: date = date(2025, 9, 10),
        message_type: str = "complaint",
        method: str = "auto",
    ) -> int:
        fid = self.next_id
        self.next_id += 1
        self.raw_texts.append(text)
        self.con.execute(
            "INSERT INTO feedback (feedback_id, source, source_id, channel, submitted_at, "
            "text_raw, text, submitter, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                fid,
                f"test:{channel}",
                source_id or f"S{fid}",
                channel,
                datetime(day.year, day.month, day.day, 10, 0, tzinfo=SHANGHAI),
                text,
                mask_pii(normalize_text(text)),
                submitter,
                f"h{fid}",
            ],
        )
        self.match(fid, code, terms=terms, message_type=message_type, method=method)
        return fid

    def match(
        self,
        fid: int,
        code: str | None,
        *,
        terms: str | None = None,
        message_type: str | None = "complaint",
        method: str = "auto",
    ) -> None:
        self.con.execute(
            "INSERT INTO feedback_matches (feedback_id, year, project_code, confidence, rank, "
            "method, matched_terms, message_type, decided_at) VALUES (?, ?, ?, 0.9, 1, ?, ?, ?, ?)",
            [fid, YEAR, code, method, terms, message_type, datetime.now(SHANGHAI)],
        )


@pytest.fixture
def wh(con: Connection) -> Connection:
    seed_projects(con)
    return con


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(warehouse=tmp_path / "wh.duckdb", data_dir=tmp_path / "var")


@pytest.fixture
def fb(wh: Connection) -> FeedbackFactory:
    return FeedbackFactory(wh)


def docx_text(path: Path) -> str:
    """All paragraph and table text of a .docx, headers and footers included."""
    document = Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        for hf in (section.first_page_header, section.header, section.footer):
            parts.extend(p.text for p in hf.paragraphs)
    return "\n".join(parts)


def events(con: Connection, letter_no: str) -> list[tuple[str, str | None, str | None, str]]:
    return [
        (e.action, e.from_status, e.to_status, e.actor)
        for e in letters.letter_history(con, letter_no)
    ]


# --- register lifecycle ----------------------------------------------------------------------


def test_register_lifecycle_with_audit_trail(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    set_status(wh, AS_OF, JY01="seriously_behind", JY02="behind")
    run = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path / "out", settings, options=OPTS)
    assert [r.letter_no for r in run.letters] == ["扬人常民函〔2025〕1号"]
    rendered = run.letters[0]
    assert rendered.unit == EDU and rendered.due == DUE
    assert rendered.docx.name == "扬人常民函〔2025〕1号_进度提醒函_市教育局.docx"
    text = docx_text(rendered.docx)
    assert "扬人常民函〔2025〕1号" in text and "市教育局：" in text
    assert "建设一批优质学校（JY01）" in text and "严重滞后" in text
    assert "请于2025年10月16日前" in text
    assert "城镇老旧小区改造" not in text  # on track, another unit
    no = rendered.letter_no
    letter = letters.get_letter(wh, no)
    assert (letter.status, letter.due_on, letter.letter_date) == ("draft", DUE, LETTER_DATE)
    assert letter.path_docx == str(rendered.docx) and letter.path_pdf is None
    items = wh.execute(
        "SELECT project_code, status_at_letter FROM letter_items WHERE letter_no = ? ORDER BY position",
        [no],
    ).fetchall()
    assert items == [("JY01", "seriously_behind"), ("JY02", "behind")]

    # Only the allowed transitions.
    with pytest.raises(LetterError, match="不能办结"):
        letters.close_letter(wh, no, actor="甲")
    letters.issue_letter(wh, no, issued_on=LETTER_DATE, actor="甲")
    with pytest.raises(LetterError, match="不能发出"):
        letters.issue_letter(wh, no, actor="甲")
    reply = tmp_path / "回函.txt"
    reply.write_text(
        "关于加快推进民生实事项目的回复\n一、建设一批优质学校\n已完成招标，10月底开工。\n"
        "二、推进义务教育集团化办学\n已组建2个集团。\n",
        encoding="utf-8",
    )
    result = letters.record_reply(wh, no, reply, received_on=date(2025, 10, 10), actor="乙")
    assert result.letter.status == "replied"
    letters.close_letter(wh, no, actor="丙", note="答复完整")
    assert letters.get_letter(wh, no).status == "closed"
    with pytest.raises(LetterError):
        letters.record_reply(wh, no, reply, actor="乙")

    assert events(wh, no) == [
        ("drafted", None, "draft", "测试员"),
        ("issued", "draft", "issued", "甲"),
        ("replied", "issued", "replied", "乙"),
        ("closed", "replied", "closed", "丙"),
    ]
    history = letters.letter_history(wh, no)
    assert "2025-10-16" in (history[0].note or "")
    assert history[-1].note == "答复完整"
    assert all(e.at.tzinfo is not None for e in history)


def test_actor_defaults_to_the_os_user(wh: Connection, settings: Settings, tmp_path: Path) -> None:
    set_status(wh, AS_OF, ZJ02="behind")
    options = DraftOptions(letter_date=LETTER_DATE, pdf=False)
    run = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=options)
    no = run.letters[0].letter_no
    letters.issue_letter(wh, no, issued_on=LETTER_DATE)
    assert {e.actor for e in letters.letter_history(wh, no)} == {letters.default_actor()}
    assert letters.default_actor()


def test_letter_numbers_are_resolved_loosely(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    set_status(wh, AS_OF, ZJ02="behind")
    letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    for typed in (
        "扬人常民函〔2025〕1号",
        "扬人常民函[2025]1号",
        "2025-1",
        "扬人常民函（2025）1号",
    ):
        assert letters.resolve_letter_no(wh, typed) == "扬人常民函〔2025〕1号"
    with pytest.raises(LetterError, match="没有 2025 年第 9 号"):
        letters.resolve_letter_no(wh, "2025-9")


# --- numbering -------------------------------------------------------------------------------


def test_serial_counter_never_repeats(wh: Connection, settings: Settings, tmp_path: Path) -> None:
    set_status(wh, AS_OF, JY01="behind", ZJ01="behind")
    first = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    numbers = sorted(r.letter_no for r in first.letters)
    assert numbers == ["扬人常民函〔2025〕1号", "扬人常民函〔2025〕2号"]
    # Delete the latest draft: its number stays used, its files go, its history stays.
    deleted = letters.delete_draft(wh, "扬人常民函〔2025〕2号", actor="甲")
    assert deleted.path_docx and not Path(deleted.path_docx).exists()
    assert events(wh, deleted.letter_no)[-1] == ("deleted", "draft", None, "甲")
    again = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    assert [r.letter_no for r in again.letters] == ["扬人常民函〔2025〕3号"]
    # A number written by another tool is never handed out again either.
    wh.execute(
        "INSERT INTO letters (letter_no, year, serial, kind, unit, status) "
        "VALUES ('扬人常民函〔2025〕7号', 2025, 7, 'feedback_letter', '市民政局', 'issued')"
    )
    assert letters.next_serial(wh, 2025) == 8
    # Each year counts from 1, with the prefix from the settings.
    assert letters.next_serial(wh, 2026) == 1
    custom = Settings(
        warehouse=settings.warehouse, data_dir=settings.data_dir, letter_prefix="测人函"
    )
    set_status(wh, date(2026, 1, 5), JY02="behind")
    later = letters.draft_reminder_letters(
        wh, YEAR, date(2026, 1, 5), tmp_path, custom, options=DraftOptions(pdf=False)
    )
    assert [r.letter_no for r in later.letters] == ["测人函〔2026〕2号"]
    serials = wh.execute("SELECT year, serial FROM letters ORDER BY year, serial").fetchall()
    assert len(serials) == len(set(serials))


# --- reminders -------------------------------------------------------------------------------


def test_reminders_are_not_repeated_within_a_month_unless_worse(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    def draft(as_of: date) -> letters.DraftRun:
        options = DraftOptions(actor="测试员", pdf=False)  # letter dated the as-of date
        return letters.draft_reminder_letters(wh, YEAR, as_of, tmp_path, settings, options=options)

    set_status(wh, date(2025, 9, 5), JY01="behind", ZJ01="missing")
    first = draft(date(2025, 9, 5))
    assert sorted(r.unit for r in first.letters) == [HOUSING, EDU]

    # Same month, same statuses: nothing new, and the operator is told why.
    set_status(wh, date(2025, 9, 15), JY01="behind", ZJ01="missing")
    second = draft(date(2025, 9, 15))
    assert second.letters == []
    assert any("JY01" in n and "不再重复提醒" in n for n in second.notes)
    # Better is not worse either (missing → behind).
    set_status(wh, date(2025, 9, 20), JY01="behind", ZJ01="behind")
    assert draft(date(2025, 9, 20)).letters == []

    # Worse (behind → seriously_behind) is reminded again; a newly lagging project too; the
    # unchanged one is not.
    set_status(wh, date(2025, 9, 25), JY01="seriously_behind", JY02="behind", ZJ01="missing")
    third = draft(date(2025, 9, 25))
    assert [r.unit for r in third.letters] == [EDU]
    codes = wh.execute(
        "SELECT project_code FROM letter_items WHERE letter_no = ? ORDER BY position",
        [third.letters[0].letter_no],
    ).fetchall()
    assert codes == [("JY01",), ("JY02",)]

    # A new month starts afresh.
    set_status(wh, date(2025, 10, 9), JY01="seriously_behind", ZJ01="missing")
    fourth = draft(date(2025, 10, 9))
    assert sorted(r.unit for r in fourth.letters) == [HOUSING, EDU]


def test_reminder_computes_status_when_not_stored(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    wh.execute(
        "INSERT INTO progress_reports (year, project_code, report_date, progress_pct, source, "
        "source_id) VALUES (2025, 'JY01', DATE '2025-09-01', 20, 'test', '1'), "
        "(2025, 'JY02', DATE '2025-09-01', 80, 'test', '2'), "
        "(2025, 'ZJ01', DATE '2025-09-01', 90, 'test', '3'), "
        "(2025, 'ZJ02', DATE '2025-09-01', 75, 'test', '4')"
    )
    run = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    assert run.status_computed
    stored = wh.execute(
        "SELECT project_code, status FROM project_status WHERE as_of = ? ORDER BY 1", [AS_OF]
    ).fetchall()
    assert ("JY01", "seriously_behind") in stored and len(stored) == 4
    assert [r.unit for r in run.letters] == [EDU]
    assert "JY01" in docx_text(run.letters[0].docx)


def test_due_note_is_kept_when_the_calendar_does_not_know_the_year(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    far = date(2200, 3, 3)
    set_status(wh, far, ZJ02="behind")
    options = DraftOptions(letter_date=far, pdf=False, actor="测试员")
    run = letters.draft_reminder_letters(wh, YEAR, far, tmp_path, settings, options=options)
    rendered = run.letters[0]
    assert rendered.due_note and "2200年" in rendered.due_note
    assert letters.get_letter(wh, rendered.letter_no).due_note == rendered.due_note
    assert any("注意" in line and "2200年" in line for line in run.lines())
    assert "2200年" in (letters.letter_history(wh, rendered.letter_no)[0].note or "")


# --- feedback letters --------------------------------------------------------------------------


def test_feedback_letter_groups_problems_hot_first(
    wh: Connection, fb: FeedbackFactory, settings: Settings, tmp_path: Path
) -> None:
    for i in range(3):
        fb.add("JY01", f"学校工地施工噪声太大，晚上还在干活{i}", terms="噪声;施工")
    fb.add("JY01", "学校门口交通拥堵，接送孩子很难", terms="交通拥堵")
    fb.add("JY01", "新学校什么时候开学？", terms=None, message_type="inquiry")
    fb.add("JY01", "学校建得真漂亮，点赞", terms="学校", message_type="praise")
    # Manual beats auto: the classifier said JY02, an editor said ZJ01 (another unit).
    moved = fb.add("JY02", "小区加装电梯迟迟不动工", terms="加装电梯", method="auto")
    fb.match(moved, "ZJ01", terms=None, method="manual")
    fb.add(None, "路灯坏了", terms="路灯")  # concerns none of the projects

    run = letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    by_unit = {r.unit: r for r in run.letters}
    assert set(by_unit) == {EDU, HOUSING}
    edu = docx_text(by_unit[EDU].docx)
    assert "关于转交2025年民生实事项目" in edu
    subs = [line for line in edu.split("\n") if line.startswith("（")]
    assert subs[0].startswith("（一）“噪声”相关问题。共3条。群众反映：“")
    assert subs[1].startswith("（二）“交通拥堵”相关问题。共1条。")
    assert subs[2].startswith("（三）其他问题。共1条。")
    assert "点赞" not in edu  # praise is not a problem to forward
    assert "电梯" not in edu and "电梯" in docx_text(by_unit[HOUSING].docx)
    items = wh.execute(
        "SELECT i.project_code, i.problem_key, i.feedback_count, count(x.feedback_id) "
        "FROM letter_items i LEFT JOIN letter_item_feedback x USING (item_id) "
        "WHERE i.letter_no = ? GROUP BY i.position, 1, 2, 3 ORDER BY i.position",
        [by_unit[EDU].letter_no],
    ).fetchall()
    assert items == [("JY01", "噪声", 3, 3), ("JY01", "交通拥堵", 1, 1), ("JY01", "其他", 1, 1)]


def test_feedback_problems_are_not_repeated_while_a_letter_is_open(
    wh: Connection, fb: FeedbackFactory, settings: Settings, tmp_path: Path
) -> None:
    fb.add("JY01", "工地噪声扰民", terms="噪声")
    fb.add("JY01", "工地噪声太吵", terms="噪声")
    first = letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    assert len(first.letters) == 1
    no = first.letters[0].letter_no

    # Nothing new: no letter. A pending draft also holds back new problems of its unit.
    assert (
        letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS).letters
        == []
    )
    fb.add("JY01", "学校门口太堵了", terms="交通拥堵", day=date(2025, 9, 20))
    held = letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    assert held.letters == [] and any("草稿" in n and no in n for n in held.notes)

    letters.issue_letter(wh, no, issued_on=LETTER_DATE, actor="甲")
    # The same problem again while the letter is open: held back; the new problem goes out.
    fb.add("JY01", "噪声问题还是没解决", terms="噪声", day=date(2025, 9, 21))
    second = letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    assert len(second.letters) == 1
    text = docx_text(second.letters[0].docx)
    assert "交通拥堵" in text and "噪声" not in text
    assert any("“噪声”相关问题已在" + no in n for n in second.notes)

    # Once the first letter is answered, the held message about the old problem is forwarded.
    letters.issue_letter(wh, second.letters[0].letter_no, issued_on=LETTER_DATE, actor="甲")
    letters.save_reply(
        wh, no, file_name="r.txt", file_sha256="0", text="噪声已整改", received_on=date(2025, 10, 9)
    )
    third = letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    assert len(third.letters) == 1
    assert "噪声问题还是没解决" in docx_text(third.letters[0].docx)
    forwarded = wh.execute(
        "SELECT feedback_id, count(*) FROM letter_item_feedback GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    assert forwarded == []  # no message forwarded twice


# --- de-identification -------------------------------------------------------------------------

SUBMITTERS = ["张建国", "李秀英", "王小明"]
PHONES = ["13912345678", "15850001234", "0514-87654321"]


def test_no_letter_carries_a_residents_identity(
    wh: Connection, fb: FeedbackFactory, settings: Settings, tmp_path: Path
) -> None:
    fb.add(
        "JY01",
        "我是张建国，住3栋2单元501室，学校工地噪声太大，电话13912345678",
        terms="噪声",
        submitter="张建国",
    )
    fb.add("JY01", f"噪声扰民，身份证{ID_NUMBER}，请联系我", terms="噪声", submitter="李秀英")
    fb.add(
        "JY01",
        "李秀英说噪声问题反映多次了，王先生也有意见，座机0514-87654321",
        terms="噪声",
        submitter="王小明",
    )
    fb.add(
        "ZJ01",
        "王小明家楼下加装电梯不动工，手机15850001234",
        terms="加装电梯",
        submitter="赵敏",
        channel="direct_channel",
        source_id="DC2025000112",
    )
    set_status(wh, AS_OF, JY01="behind", ZJ01="seriously_behind")
    out = tmp_path / "letters"
    letters.draft_feedback_letters(wh, YEAR, AS_OF, out, settings, options=OPTS)
    letters.draft_reminder_letters(wh, YEAR, AS_OF, out, settings, options=OPTS)
    for letter in letters.list_letters(wh):
        letters.issue_letter(wh, letter.letter_no, issued_on=LETTER_DATE, actor="甲")
    letters.mark_overdue(wh, date(2025, 10, 20), actor="甲")
    urges = letters.draft_urge_letters(wh, date(2025, 10, 20), out, settings, options=OPTS)
    assert len(urges.letters) == 4

    produced = sorted(out.glob("*.docx"))
    assert len(produced) == 8
    secrets = [*SUBMITTERS, "赵敏", *PHONES, ID_NUMBER, "5678", "1234", "501", "王先生", "3栋"]
    for path in produced:
        text = docx_text(path)
        for secret in secrets:
            assert secret not in text, (path.name, secret)
        assert not re.search(r"\d\*+|\*+\d", text), path.name  # no half-masked numbers
    # The residents' point survives, and nothing identifying is stored with the letter either.
    feedback_text = "\n".join(docx_text(p) for p in produced if "意见反馈函" in p.name)
    assert "学校工地噪声太大" in feedback_text and "某栋某单元" in feedback_text
    bodies = "\n".join(str(r[0]) for r in wh.execute("SELECT body_text FROM letters").fetchall())
    for secret in secrets:
        assert secret not in bodies, secret


# --- replies -------------------------------------------------------------------------------------


def _issued_feedback_letter(
    wh: Connection, fb: FeedbackFactory, settings: Settings, tmp_path: Path
) -> str:
    fb.add("JY01", "工地噪声扰民", terms="噪声", channel="direct_channel", source_id="DC1")
    fb.add("JY01", "门口交通拥堵", terms="交通拥堵", channel="direct_channel", source_id="DC2")
    fb.add("JY02", "集团化办学名额太少", terms="名额", source_id="OP3")
    run = letters.draft_feedback_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    no = run.letters[0].letter_no
    letters.issue_letter(wh, no, issued_on=LETTER_DATE, actor="甲")
    return no


REPLY_PARAGRAPHS = [
    "市人大常委会：",
    "现将有关问题办理情况函复如下：",
    "一、关于“建设一批优质学校”项目",
    "针对工地噪声问题，已要求施工单位22时后停止高噪声作业。",
    "针对交通拥堵问题，已增设临时停车区域并安排交警疏导。",
    "二、关于“推进义务教育集团化办学”项目",
    "集团化办学名额将在明年扩大。",
    "市教育局",
]


def test_reply_from_txt_and_docx_is_linked_to_items(
    wh: Connection, fb: FeedbackFactory, settings: Settings, tmp_path: Path
) -> None:
    no = _issued_feedback_letter(wh, fb, settings, tmp_path)
    docx_reply = tmp_path / "回函.docx"
    document = Document()
    for text in REPLY_PARAGRAPHS:
        document.add_paragraph(text)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "联系人"
    table.rows[0].cells[1].text = "王某"
    document.save(str(docx_reply))
    text = letters.read_reply_text(docx_reply)
    assert "22时后停止高噪声作业" in text and "联系人\t王某" in text

    store = tmp_path / "replies"
    result = letters.record_reply(
        wh, no, docx_reply, received_on=date(2025, 10, 10), actor="乙", store_dir=store
    )
    assert result.letter.status == "replied"
    by_key = {link.problem_key: link for link in result.links}
    assert set(by_key) == {"噪声", "交通拥堵", "名额"}
    assert all(link.linked_by == "mention" for link in result.links)
    assert "22时后停止高噪声作业" in by_key["噪声"].excerpt
    assert "交警" not in by_key["噪声"].excerpt  # the paragraph on the other problem
    assert "交警" in by_key["交通拥堵"].excerpt
    assert "明年扩大" in by_key["名额"].excerpt and "噪声" not in by_key["名额"].excerpt
    stored = wh.execute(
        "SELECT file_name, received_on, recorded_by, stored_path FROM letter_replies"
    ).fetchall()
    assert stored[0][:3] == ("回函.docx", date(2025, 10, 10), "乙")
    assert Path(stored[0][3]).is_file()

    # A supplementary .txt (GB18030, as Windows Notepad may save it) keeps the status.
    txt = tmp_path / "补充回函.txt"
    txt.write_bytes("补充说明：建设一批优质学校已于10月20日开工。".encode("gb18030"))
    again = letters.record_reply(wh, no, txt, received_on=date(2025, 10, 21), actor="乙")
    assert again.letter.status == "replied"
    assert events(wh, no)[-1][:3] == ("reply_added", "replied", "replied")
    # A reply naming no project is linked to every item, with the whole text.
    plain = tmp_path / "简短回函.txt"
    plain.write_text("已全部整改完毕。", encoding="utf-8")
    whole = letters.record_reply(wh, no, plain, actor="乙")
    assert {link.linked_by for link in whole.links} == {"whole_letter"}


def test_reply_file_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LetterError, match="不支持的回函格式"):
        bad = tmp_path / "回函.doc"
        bad.write_bytes(b"x")
        letters.read_reply_text(bad)
    with pytest.raises(LetterError, match="找不到回函文件"):
        letters.read_reply_text(tmp_path / "absent.txt")
    empty = tmp_path / "空.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(LetterError, match="没有可读取的文字"):
        letters.read_reply_text(empty)
    pdf = tmp_path / "回函.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    monkeypatch.setattr("livelihood_monitor.letters.shutil.which", lambda name: None)
    with pytest.raises(LetterError, match="poppler-utils"):
        letters.read_reply_text(pdf)


@pytest.mark.slow
def test_reply_from_pdf_and_letter_pdf(wh: Connection, settings: Settings, tmp_path: Path) -> None:
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        pytest.skip("未安装 LibreOffice 或 pdftotext：跳过 PDF 测试，CI 的 .ci/run 会安装")
    set_status(wh, AS_OF, ZJ02="behind")
    options = DraftOptions(letter_date=LETTER_DATE, actor="测试员", pdf=True)
    run = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=options)
    rendered = run.letters[0]
    assert rendered.pdf is not None and rendered.pdf.is_file(), rendered.pdf_note
    assert rendered.pdf.parent == rendered.docx.parent and rendered.pdf.stem == rendered.docx.stem
    assert letters.get_letter(wh, rendered.letter_no).path_pdf == str(rendered.pdf)
    # The letter's own PDF serves as a reply file: pdftotext reads it.
    letters.issue_letter(wh, rendered.letter_no, issued_on=LETTER_DATE, actor="甲")
    result = letters.record_reply(wh, rendered.letter_no, rendered.pdf, actor="乙")
    assert result.links[0].linked_by == "mention"
    assert "城镇老旧小区改造" in result.links[0].excerpt


# --- overdue and 催办函 ----------------------------------------------------------------------------


def test_overdue_letters_get_one_urge_letter(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    set_status(wh, AS_OF, JY01="behind", ZJ01="behind")
    run = letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
    by_unit = {r.unit: r.letter_no for r in run.letters}
    for no in by_unit.values():
        letters.issue_letter(wh, no, issued_on=LETTER_DATE, actor="甲")
    # Answered in time: never overdue.
    letters.save_reply(
        wh, by_unit[HOUSING], file_name="r.txt", file_sha256="0", text="加装电梯已提速", actor="乙"
    )
    assert letters.mark_overdue(wh, DUE, actor="甲") == []  # due today is not late yet
    overdue = letters.mark_overdue(wh, date(2025, 10, 20), actor="甲")
    assert [(o.letter.letter_no, o.days_overdue, o.newly_marked) for o in overdue] == [
        (by_unit[EDU], 4, True)
    ]
    assert letters.get_letter(wh, by_unit[EDU]).status == "overdue"

    urge_opts = DraftOptions(actor="甲", pdf=False)  # dated the day it is drafted
    urges = letters.draft_urge_letters(
        wh, date(2025, 10, 20), tmp_path, settings, options=urge_opts
    )
    assert len(urges.letters) == 1
    urge = urges.letters[0]
    assert urge.kind == "urge_letter" and urge.unit == EDU
    assert urge.due == date(2025, 10, 27)  # 5 working days
    assert urge.docx.name.startswith(urge.letter_no) and "催办函" in urge.docx.name
    text = docx_text(urge.docx)
    assert f"关于{by_unit[EDU]}" in text and "办理情况的催办函" in text
    assert "并请于2025年10月16日前书面函复" in text and "已超过答复期限4天" in text
    assert "“建设一批优质学校”" in text and "请你单位高度重视" in text
    record = letters.get_letter(wh, urge.letter_no)
    assert record.refers_to == by_unit[EDU] and record.kind == "urge_letter"
    assert ("urged", None, None, "甲") in events(wh, by_unit[EDU])

    # Still overdue the next day: listed again, but no second 催办函 while this one is open.
    again = letters.mark_overdue(wh, date(2025, 10, 21), actor="甲")
    assert [(o.letter.letter_no, o.newly_marked) for o in again] == [(by_unit[EDU], False)]
    assert (
        letters.draft_urge_letters(
            wh, date(2025, 10, 21), tmp_path, settings, options=urge_opts
        ).letters
        == []
    )

    # The reply recorded against the 催办函 answers the original (which carries the items).
    letters.issue_letter(wh, urge.letter_no, issued_on=date(2025, 10, 21), actor="甲")
    reply = tmp_path / "回函.txt"
    reply.write_text("关于建设一批优质学校：已开工。", encoding="utf-8")
    result = letters.record_reply(wh, urge.letter_no, reply, actor="乙")
    assert result.letter.letter_no == by_unit[EDU] and result.letter.status == "replied"
    assert result.also_replied == (urge.letter_no,)
    assert letters.get_letter(wh, urge.letter_no).status == "replied"
    assert result.links[0].project_code == "JY01" and result.links[0].linked_by == "mention"
    assert events(wh, by_unit[EDU])[-1][:3] == ("replied", "overdue", "replied")


def test_an_urge_draft_is_dropped_once_the_original_is_answered(
    wh: Connection, settings: Settings, tmp_path: Path
) -> None:
    set_status(wh, AS_OF, JY01="behind")
    no = (
        letters.draft_reminder_letters(wh, YEAR, AS_OF, tmp_path, settings, options=OPTS)
        .letters[0]
        .letter_no
    )
    letters.issue_letter(wh, no, issued_on=LETTER_DATE, actor="甲")
    letters.mark_overdue(wh, date(2025, 10, 20), actor="甲")
    urge = letters.draft_urge_letters(
        wh, date(2025, 10, 20), tmp_path, settings, options=OPTS
    ).letters[0]
    manual = letters.draft_urge_letters(wh, date(2025, 10, 20), tmp_path, settings, options=OPTS)
    assert manual.letters == []  # one open urge is enough
    result = letters.save_reply(
        wh, no, file_name="r.txt", file_sha256="0", text="已整改", actor="乙"
    )
    # The reply makes the unissued 催办函 pointless: the draft goes, its number stays used.
    assert result.discarded == (urge.letter_no,)
    assert not urge.docx.exists()
    assert events(wh, urge.letter_no)[-1][:2] == ("deleted", "draft")
    with pytest.raises(LetterError, match="登记簿中没有"):
        letters.issue_letter(wh, urge.letter_no, actor="甲")


# --- closing the loop: 民意直通车 ---------------------------------------------------------------------

TOKEN = "test-token"


@dataclass
class Recorder:
    """What the fake 民意直通车 server saw, and the failures it should serve first."""

    posts: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_first: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def api() -> Iterator[tuple[str, Recorder]]:
    """A real HTTP server on 127.0.0.1 recording ``POST /opinions/{id}/result``."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            match = re.fullmatch(r"/opinions/([^/]+)/result", self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if match is None:
                self._reply(404, {"error": "not found"})
                return
            opinion = match.group(1)
            payload = json.loads(body)
            with recorder.lock:
                recorder.posts.append((opinion, payload, self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"error": "unauthorized"})
                    return
                if recorder.fail_first.get(opinion, 0) > 0:
                    recorder.fail_first[opinion] -= 1
                    self._reply(500, {"error": "try again"})
                    return
                recorder.results.setdefault(opinion, payload)  # a repeat is a no-op
            self._reply(200, {"ok": True})

        def _reply(self, code: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()


def _file_warehouse(settings: Settings, build: Callable[[Connection], None]) -> None:
    db.init_warehouse(settings.warehouse)
    with db.write_transaction(settings.warehouse) as con:
        seed_projects(con)
        build(con)


def test_push_results_retries_and_is_idempotent(
    settings: Settings, tmp_path: Path, api: tuple[str, Recorder]
) -> None:
    url, recorder = api

    def build(con: Connection) -> None:
        fb = FeedbackFactory(con)
        fb.add("JY01", "工地噪声扰民", terms="噪声", channel="direct_channel", source_id="DC1")
        fb.add("JY01", "门口交通拥堵", terms="交通拥堵", channel="direct_channel", source_id="DC2")
        fb.add("JY02", "集团化办学名额太少", terms="名额", source_id="OP3")  # not 民意直通车
        no = (
            letters.draft_feedback_letters(con, YEAR, AS_OF, tmp_path, settings, options=OPTS)
            .letters[0]
            .letter_no
        )
        letters.issue_letter(con, no, issued_on=LETTER_DATE, actor="甲")

    _file_warehouse(settings, build)
    policy = letters.PushPolicy(attempts=3, backoff_s=0.01, timeout_s=5)
    # Issued but not answered: nothing to push yet.
    assert supervision.push_results(settings.warehouse, url, TOKEN, policy=policy).outcomes == []

    with db.write_transaction(settings.warehouse) as con:
        no = letters.list_letters(con)[0].letter_no
        letters.save_reply(
            con,
            no,
            file_name="r.txt",
            file_sha256="0",
            text="\n".join(REPLY_PARAGRAPHS),
            received_on=date(2025, 10, 10),
            actor="乙",
        )
    recorder.fail_first["DC1"] = 1  # the first try of DC1 gets a 500
    summary = supervision.push_results(settings.warehouse, url, TOKEN, policy=policy)
    assert summary.pushed == 2 and summary.failed == []
    assert [p[0] for p in recorder.posts].count("DC1") == 2  # retried after the 500
    assert [p[0] for p in recorder.posts].count("DC2") == 1
    assert "OP3" not in recorder.results
    assert recorder.results["DC1"]["letter_no"] == no
    assert "22时后停止高噪声作业" in recorder.results["DC1"]["result"]
    assert "市教育局" in recorder.results["DC1"]["result"]
    assert "交警" in recorder.results["DC2"]["result"]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in recorder.posts)
    _, rows = db.read_rows(
        settings.warehouse,
        "SELECT source_id, status, attempts, http_status FROM result_pushes ORDER BY 1",
    )
    assert rows == [("DC1", "pushed", 2, 200), ("DC2", "pushed", 1, 200)]

    # Idempotent: a second run pushes nothing.
    before = len(recorder.posts)
    assert supervision.push_results(settings.warehouse, url, TOKEN, policy=policy).outcomes == []
    assert len(recorder.posts) == before


def test_push_failures_are_recorded_and_retried_next_run(
    settings: Settings, tmp_path: Path, api: tuple[str, Recorder]
) -> None:
    url, recorder = api

    def build(con: Connection) -> None:
        fb = FeedbackFactory(con)
        fb.add("JY01", "工地噪声扰民", terms="噪声", channel="direct_channel", source_id="DC9")
        no = (
            letters.draft_feedback_letters(con, YEAR, AS_OF, tmp_path, settings, options=OPTS)
            .letters[0]
            .letter_no
        )
        letters.issue_letter(con, no, issued_on=LETTER_DATE, actor="甲")
        letters.save_reply(
            con, no, file_name="r.txt", file_sha256="0", text="噪声已整改", actor="乙"
        )

    _file_warehouse(settings, build)
    policy = letters.PushPolicy(attempts=2, backoff_s=0.01, timeout_s=5)
    wrong = supervision.push_results(settings.warehouse, url, "wrong-token", policy=policy)
    assert wrong.pushed == 0 and wrong.failed[0].http_status == 401
    assert wrong.failed[0].attempts == 1  # a 4xx is not retried
    assert any("HTTP 401" in line for line in wrong.lines())
    recorder.fail_first["DC9"] = 5  # more 500s than attempts
    failing = supervision.push_results(settings.warehouse, url, TOKEN, policy=policy)
    assert failing.failed[0].attempts == 2 and failing.failed[0].http_status == 500
    recorder.fail_first["DC9"] = 0
    fixed = supervision.push_results(settings.warehouse, url, TOKEN, policy=policy)
    assert fixed.pushed == 1
    _, rows = db.read_rows(settings.warehouse, "SELECT status, attempts FROM result_pushes")
    assert rows == [("pushed", 4)]  # 1 + 2 + 1 attempts over three runs


def test_push_retries_a_timeout(settings: Settings) -> None:
    import requests

    item = letters.PushItem(1, "DC1", "扬人常民函〔2025〕1号", EDU, 1, date(2025, 10, 10), "已整改")
    calls: list[float] = []

    class Session(requests.Session):
        def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
            calls.append(kwargs["timeout"])
            if len(calls) == 1:
                raise requests.Timeout("slow")
            response = requests.Response()
            response.status_code = 200
            return response

    waits: list[float] = []
    outcome = letters.push_result(
        Session(),
        "http://x",
        TOKEN,
        item,
        policy=letters.PushPolicy(backoff_s=0.5),
        sleep=waits.append,
    )
    assert outcome.ok and outcome.attempts == 2 and waits == [0.5]


# --- satisfaction ------------------------------------------------------------------------------------


def test_satisfaction_ratings_and_score(
    wh: Connection, fb: FeedbackFactory, tmp_path: Path
) -> None:
    fb.add("JY01", "工地噪声扰民", terms="噪声", channel="direct_channel", source_id="DC2025000112")
    fb.add(None, "路灯坏了", channel="direct_channel", source_id="DC2025000999")
    path = tmp_path / "测评.csv"
    rows = [
        ["意见编号", "项目编号", "评价人类型", "评价", "评价日期"],
        ["DC2025000112", "", "群众", "满意", "2025-12-01"],
        ["", "JY01", "人大代表", "基本满意", "2025-12-02"],
        ["", "jy01", "代表", "不满意", ""],
        ["", "ZJ01", "居民", "满意", ""],
        ["", "ZJ01", "居民", "很好", ""],  # unknown rating
        ["", "XX99", "居民", "满意", ""],  # unknown project
        ["NOPE", "", "居民", "满意", ""],  # unknown item
        ["DC2025000999", "", "居民", "满意", ""],  # item about no project
        ["", "", "居民", "满意", ""],  # no target at all
    ]
    with path.open("w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = letters.import_satisfaction(wh, path, YEAR)
    assert result.loaded == 4 and result.duplicates == 0
    reasons = [r.reason for r in result.rejects]
    assert len(reasons) == 5
    assert any("第6行" in r and "“很好”无法识别" in r for r in reasons)
    assert any("第7行" in r and "XX99" in r for r in reasons)
    assert any("第8行" in r and "找不到意见编号 NOPE" in r for r in reasons)
    assert any("第9行" in r and "未归入" in r for r in reasons)
    stored = wh.execute(
        "SELECT count(*) FROM rejected_rows WHERE source = 'file:satisfaction'"
    ).fetchone()
    assert stored == (5,)
    level = wh.execute(
        "SELECT level, feedback_id FROM satisfaction_ratings WHERE rater_kind = 'resident' "
        "AND project_code = 'JY01'"
    ).fetchall()
    assert level == [("item", 1)]

    scores = {s.code: s for s in letters.satisfaction_scores(wh, YEAR)}
    assert scores["JY01"].score == pytest.approx(53.3)  # (100 + 60 + 0) / 3
    assert scores["JY01"].resident_score == 100.0 and scores["JY01"].deputy_score == 30.0
    assert (
        scores["JY01"].satisfied,
        scores["JY01"].basically_satisfied,
        scores["JY01"].dissatisfied,
    ) == (1, 1, 1)
    assert scores["ZJ01"].score == 100.0 and scores["ZJ02"].score is None
    assert [s.code for s in letters.satisfaction_scores(wh, YEAR)][:2] == ["JY01", "ZJ01"]

    # Re-importing the same file adds nothing.
    again = letters.import_satisfaction(wh, path, YEAR)
    assert again.loaded == 0 and again.duplicates == 4
    assert letters.satisfaction_scores(wh, YEAR)[0].ratings == 3


def test_satisfaction_file_without_a_target_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("评价人类型,评价\n群众,满意\n", encoding="utf-8")
    with pytest.raises(FileUnreadable, match="意见编号"):
        letters.read_satisfaction_file(path)


# --- command line and the daily run -----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    """A stand-in for cli.build_parser: the same ``add`` helper, our register() only."""
    parser = argparse.ArgumentParser(prog="livelihood-monitor")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str,
        help_text: str,
        handler: Callable[[argparse.Namespace, Settings], int],
        parent: argparse._SubParsersAction[Any] = sub,
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    cli_letters.register(sub, add)
    return parser


def _cli(settings: Settings, *argv: str) -> int:
    args = _parser().parse_args(list(argv))
    code: int = args.handler(args, settings)
    return code


def test_cli_letters_end_to_end(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def build(con: Connection) -> None:
        set_status(con, AS_OF, JY01="seriously_behind")
        FeedbackFactory(con).add("ZJ01", "加装电梯迟迟不动工", terms="加装电梯")

    _file_warehouse(settings, build)
    out = tmp_path / "out"
    assert (
        _cli(
            settings,
            "letters",
            "draft",
            "--as-of",
            "2025-09-26",
            "--out",
            str(out),
            "--no-pdf",
            "--actor",
            "张科员",
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "已先行评估" in printed  # no status stored for 2025-09-26: computed first
    assert "已起草" in printed and "未生成 PDF" in printed

    assert _cli(settings, "letters", "list", "--status", "draft") == 0
    listing = capsys.readouterr().out
    assert "草稿" in listing and "共 " in listing
    numbers = re.findall(r"扬人常民函〔2025〕\d+号", listing)
    assert numbers
    first = numbers[-1]
    assert first == "扬人常民函〔2025〕1号"

    assert (
        _cli(settings, "letters", "issue", "2025-1", "--date", "2025-09-26", "--actor", "张科员")
        == 0
    )
    assert "已登记发出" in capsys.readouterr().out
    assert _cli(settings, "letters", "issue", "2025-1") == 2
    assert "不能发出" in capsys.readouterr().err

    assert (
        _cli(settings, "letters", "overdue", "--today", "2025-10-20", "--out", str(out), "--no-pdf")
        == 0
    )
    overdue = capsys.readouterr().out
    assert "逾期未复的函件 1 件" in overdue and "已起草催办函" in overdue

    reply = tmp_path / "回函.txt"
    reply.write_text("关于建设一批优质学校：已开工。", encoding="utf-8")
    assert (
        _cli(
            settings,
            "letters",
            "reply",
            first,
            "--file",
            str(reply),
        )
        == 0
    )
    replied = capsys.readouterr().out
    assert "已登记回函" in replied and "已回复" in replied
    assert _cli(settings, "letters", "history", "2025-1") == 0
    history = capsys.readouterr().out
    assert "张科员" in history and "起草" in history and "逾期" in history

    assert _cli(settings, "letters", "push-results", "--url", "http://127.0.0.1:9") == 0
    assert "没有需要推送" in capsys.readouterr().out

    ratings = tmp_path / "评价.csv"
    ratings.write_text(
        "项目编号,评价人类型,评价\nJY01,群众,满意\nJY01,代表,不满意\n", encoding="utf-8"
    )
    assert _cli(settings, "satisfaction", "import", str(ratings)) == 0
    assert "导入满意度评价 2 条" in capsys.readouterr().out
    assert _cli(settings, "satisfaction", "score") == 0
    score = capsys.readouterr().out
    assert "JY01" in score and "50.0" in score


def test_daily_supervision_run(settings: Settings, tmp_path: Path) -> None:
    def build(con: Connection) -> None:
        con.execute(
            "INSERT INTO progress_reports (year, project_code, report_date, progress_pct, source, "
            "source_id) VALUES (2025, 'JY01', DATE '2025-09-01', 20, 'test', '1'), "
            "(2025, 'ZJ01', DATE '2025-09-01', 70, 'test', '2')"
        )
        FeedbackFactory(con).add("ZJ01", "加装电梯迟迟不动工", terms="加装电梯")

    _file_warehouse(settings, build)
    options = DraftOptions(pdf=False, actor="supervision")
    report = supervision.run_daily_supervision(settings.warehouse, AS_OF, settings, options=options)
    kinds = {(r.kind, r.unit) for r in report.drafted.letters}
    assert kinds == {
        ("feedback_letter", HOUSING),
        ("reminder_letter", EDU),
        ("reminder_letter", HOUSING),
    }
    assert all(
        r.docx.parent == settings.data_dir / "letters" / "2025" for r in report.drafted.letters
    )
    assert report.status_counts["missing"] == 2  # JY02 and ZJ02 never reported
    text = "\n".join(report.lines())
    assert "进度评估" in text and "已起草进度提醒函" in text

    # The next day nothing is repeated; once letters are issued and late, 催办函 follow.
    again = supervision.run_daily_supervision(
        settings.warehouse, date(2025, 9, 26), settings, options=options
    )
    assert again.drafted.letters == []
    with db.write_transaction(settings.warehouse) as con:
        for letter in letters.list_letters(con):
            letters.issue_letter(con, letter.letter_no, issued_on=AS_OF, actor="甲")
    late = supervision.run_daily_supervision(
        settings.warehouse, date(2025, 10, 20), settings, options=options
    )
    assert len(late.overdue.overdue) == 3 and len(late.overdue.urges.letters) == 3


def test_results_reach_the_reference_server(settings: Settings, tmp_path: Path) -> None:
    """The same push against the project's own 民意直通车 reference server (real HTTP)."""
    from livelihood_monitor.direct_channel import serve_sample_api

    opinions = tmp_path / "opinions.json"
    opinions.write_text(
        json.dumps(
            [
                {
                    "id": sid,
                    "deputy_code": "YZ-GL-001",
                    "submitted_at": "2025-09-01T09:00:00+08:00",
                    "content": text,
                    "contact": "",
                    "location": "广陵区",
                }
                for sid, text in (("DC1", "工地噪声扰民"), ("DC2", "门口交通拥堵"))
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )

    def build(con: Connection) -> None:
        fb = FeedbackFactory(con)
        fb.add("JY01", "工地噪声扰民", terms="噪声", channel="direct_channel", source_id="DC1")
        fb.add("JY01", "门口交通拥堵", terms="交通拥堵", channel="direct_channel", source_id="DC2")
        no = (
            letters.draft_feedback_letters(con, YEAR, AS_OF, tmp_path, settings, options=OPTS)
            .letters[0]
            .letter_no
        )
        letters.issue_letter(con, no, issued_on=LETTER_DATE, actor="甲")
        letters.save_reply(
            con,
            no,
            file_name="r.txt",
            file_sha256="0",
            text="\n".join(REPLY_PARAGRAPHS),
            received_on=date(2025, 10, 10),
            actor="乙",
        )

    _file_warehouse(settings, build)
    server = serve_sample_api(port=0, token=TOKEN, opinions_path=opinions)
    try:
        policy = letters.PushPolicy(attempts=2, backoff_s=0.01, timeout_s=5)
        summary = supervision.push_results(settings.warehouse, server.url, TOKEN, policy=policy)
        assert summary.pushed == 2 and summary.failed == []
        assert set(server.results) == {"DC1", "DC2"}
        assert "市教育局" in server.results["DC1"]["result"]
        again = supervision.push_results(settings.warehouse, server.url, TOKEN, policy=policy)
        assert again.outcomes == []
    finally:
        server.shutdown()
