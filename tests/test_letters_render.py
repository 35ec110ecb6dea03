"""Letters in the GB/T 9704-2012 letter format, de-identified quotes, working-day deadlines, PDF."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from lxml import etree

from livelihood_monitor import letters_render as lr
from livelihood_monitor.letters_render import (
    LaggingProject,
    LetterContent,
    Paragraph,
    ProblemGroup,
    ProjectProblems,
    Quote,
    deidentify_quote,
    feedback_letter_content,
    format_date_cn,
    format_letter_no,
    parse_letter_no,
    reminder_letter_content,
    render_letter,
)
from livelihood_monitor.workdays import add_working_days, calendar_knows

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
LETTER_DATE = date(2025, 9, 26)
AS_OF = date(2025, 9, 25)
DUE = date(2025, 10, 16)
UNIT = "市教育局"
CONTACT = "联系人：王某，电话：0514-87654321"
OFFICIAL_FONTS = {"仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312", "宋体"}


def _id_number(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


ID_NUMBER = _id_number("32100219850312123")
# What residents wrote, with what must never reach a unit: names, phones, ID, house numbers.
SOURCE_FEEDBACK = [
    Quote("我是张建国，住3栋2单元501室，学校门口施工噪声太大，电话13912345678", "张建国"),
    Quote("晚上十点还在施工，孩子没法写作业，请联系李秀英 139 2468 1357", "李秀英"),
    Quote(f"身份证{ID_NUMBER}，我反映过三次了，6-2-1102的邻居也有意见", None),
    Quote("张先生说接送孩子的车把路堵死了，建议错峰放学", "王小明"),
    Quote("新教室的空调一直没装好，夏天太热", "赵敏"),
]
SECRETS = [
    "张建国",
    "李秀英",
    "王小明",
    "赵敏",
    "张先生",
    "13912345678",
    "1392468",
    "2468 1357",
    "5678",
    ID_NUMBER,
    ID_NUMBER[:6] + "*",
    "19850312",
    "501",
    "1102",
    "3栋",
    "2单元",
]


def _lagging() -> list[LaggingProject]:
    return [
        LaggingProject("JY02", "推进义务教育集团化办学", "组建3个教育集团", "behind", 75, 62.5),
        LaggingProject(
            "JY01",
            "建设一批优质学校",
            "启动新(改、扩)建义务教育学校4所、普通高中1所、中等职业学校1所",
            "seriously_behind",
            75,
            40,
        ),
        LaggingProject(
            "JY04", "提升教室硬件设施水平", "更换老旧课桌椅11112套", "missing", 75, None
        ),
    ]


def _reminder() -> LetterContent:
    return reminder_letter_content(
        UNIT,
        _lagging(),
        AS_OF,
        DUE,
        letter_no=format_letter_no("扬人常民函", 2025, 12),
        letter_date=LETTER_DATE,
        contact_line=CONTACT,
    )


def _feedback() -> LetterContent:
    noise = ProblemGroup("施工噪声影响学生学习", 12, tuple(SOURCE_FEEDBACK[:3]), ("a1", "a2"))
    traffic = ProblemGroup("上下学接送交通拥堵", 20, (SOURCE_FEEDBACK[3],), ("b1",))
    aircon = ProblemGroup("教室空调安装滞后", 4, (SOURCE_FEEDBACK[4],), ("c1",))
    return feedback_letter_content(
        UNIT,
        [
            ProjectProblems("JY04", "提升教室硬件设施水平", (aircon,)),
            ProjectProblems("JY01", "建设一批优质学校", (noise, traffic), total=35),
        ],
        DUE,
        letter_no=format_letter_no("扬人常民函", 2025, 13),
        letter_date=LETTER_DATE,
        period=(date(2025, 9, 1), date(2025, 9, 25)),
        names=["王小明"],
        contact_line=CONTACT,
    )


@pytest.fixture(scope="module")
def reminder_docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_letter(_reminder(), tmp_path_factory.mktemp("letters") / "reminder.docx")


@pytest.fixture(scope="module")
def feedback_docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_letter(_feedback(), tmp_path_factory.mktemp("letters") / "feedback.docx")


def _all_text(document: Any) -> str:
    """Every text node of the package's main parts: body, tables, headers, footers, properties."""
    parts = [document.element.body]
    section = document.sections[0]
    for part in (
        section.first_page_header,
        section.header,
        section.first_page_footer,
        section.footer,
        section.even_page_footer,
    ):
        parts.append(part._element)
    texts = ["".join(t.text or "" for t in part.iter(qn("w:t"))) for part in parts]
    props = document.core_properties
    texts += [props.title or "", props.author or "", props.subject or "", props.keywords or ""]
    return "\n".join(texts)


def _east_asia(element: Any) -> set[str]:
    return {f.get(qn("w:eastAsia")) for f in element.iter(qn("w:rFonts"))}


def _body_paragraphs(document: Any) -> list[Any]:
    return [p for p in document.paragraphs if p.text.strip()]


# --- layout in the .docx ---------------------------------------------------------------------


def test_page_is_a4_with_the_official_margins(reminder_docx: Path) -> None:
    section = Document(str(reminder_docx)).sections[0]
    tolerance = Mm(0.1)
    for actual, expected in (
        (section.page_width, 210),
        (section.page_height, 297),
        (section.top_margin, 37),
        (section.bottom_margin, 35),
        (section.left_margin, 28),
        (section.right_margin, 26),
    ):
        assert abs(actual - Mm(expected)) < tolerance
    # The mark lives in a first-page-only header starting about 30 mm from the top edge.
    assert section.different_first_page_header_footer
    assert Mm(28) < section.header_distance < Mm(31)
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:linePitch")) == "579"  # 28.95 pt: 22 lines in 225 mm


def test_fonts_are_named_for_east_asian_text(reminder_docx: Path, feedback_docx: Path) -> None:
    for path in (reminder_docx, feedback_docx):
        document = Document(str(path))
        section = document.sections[0]
        assert _east_asia(document.element.body) <= OFFICIAL_FONTS
        # Theme font attributes would override the names (unused styles may keep theirs).
        defaults = document.styles.element.find(qn("w:docDefaults"))
        for element in (document.element, defaults, document.styles["Normal"].element):
            xml = etree.tostring(element, encoding="unicode")
            assert "eastAsiaTheme" not in xml and "asciiTheme" not in xml
        body = [p for p in _body_paragraphs(document) if p.paragraph_format.first_line_indent]
        for paragraph in body:
            for run in paragraph.runs:
                assert run.font.size in (Pt(16),)  # 3号
        mark = section.first_page_header.paragraphs[0]
        assert mark.text == "扬州市人民代表大会常务委员会"
        assert _east_asia(mark._p) == {"方正小标宋简体"}
        assert {str(run.font.color.rgb) for run in mark.runs} == {"FF0000"}
    document = Document(str(reminder_docx))
    title = next(p for p in document.paragraphs if p.text.startswith("关于"))
    assert _east_asia(title._p) == {"方正小标宋简体"}
    assert {run.font.size for run in title.runs} == {Pt(22)}  # 2号
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    styles_defaults = document.styles.element.find(qn("w:docDefaults"))
    assert _east_asia(styles_defaults) == {"仿宋_GB2312"}

    feedback = Document(str(feedback_docx))
    heading = next(p for p in feedback.paragraphs if p.text.startswith("一、"))
    assert _east_asia(heading._p) == {"黑体"}
    sub = next(p for p in feedback.paragraphs if p.text.startswith("（一）"))
    assert sub.runs[0].text.startswith("（一）")
    assert _east_asia(sub.runs[0]._r) == {"楷体_GB2312"}
    assert _east_asia(sub.runs[1]._r) == {"仿宋_GB2312"}


def test_document_number_and_recipient_line(reminder_docx: Path) -> None:
    paragraphs = _body_paragraphs(Document(str(reminder_docx)))
    number = paragraphs[0]
    assert number.text == "扬人常民函〔2025〕12号"
    assert number.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert paragraphs[1].text.startswith("关于加快推进2025年民生实事项目")
    recipient = paragraphs[2]
    assert recipient.text == "市教育局："  # full-width colon, flush left
    assert recipient.alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert not recipient.paragraph_format.first_line_indent
    assert not recipient.paragraph_format.left_indent


def test_letter_numbers_use_hexagonal_brackets_without_padding() -> None:
    assert format_letter_no("扬人常民函", 2025, 7) == "扬人常民函〔2025〕7号"
    assert format_letter_no("扬人常民函", 2026, 120) == "扬人常民函〔2026〕120号"
    assert parse_letter_no("扬人常民函〔2025〕7号") == ("扬人常民函", 2025, 7)
    for bad in ("扬人常民函[2025]7号", "扬人常民函〔2025〕07号", "扬人常民函〔2025〕第7号"):
        with pytest.raises(ValueError):
            parse_letter_no(bad)
    with pytest.raises(ValueError):
        format_letter_no("扬人常民函", 2025, 0)
    assert format_date_cn(date(2025, 10, 6)) == "2025年10月6日"


def test_body_paragraphs_are_indented_two_characters_on_exact_lines(reminder_docx: Path) -> None:
    document = Document(str(reminder_docx))
    indented = 0
    for paragraph in document.paragraphs:
        ppr = paragraph._p.pPr
        spacing = ppr.find(qn("w:spacing"))
        if paragraph.text.strip() and paragraph.runs[0].font.size == Pt(16):
            assert spacing.get(qn("w:lineRule")) == "exact"
            assert spacing.get(qn("w:line")) == "579"
        ind = ppr.find(qn("w:ind"))
        if ind is not None and ind.get(qn("w:firstLineChars")):
            indented += 1
            assert ind.get(qn("w:firstLineChars")) == "200"
            # The absolute indent LibreOffice uses: two characters, about 32 pt (640 twips).
            assert 600 <= int(ind.get(qn("w:firstLine"))) <= 650
    assert indented >= 5
    # Condensed 3号 characters: exactly 28 fit the 156 mm line (checked on the PDF as well).
    width_pt = lr.TEXT_WIDTH_MM / lr.MM_PER_PT
    assert lr.CHARS_PER_LINE * lr.CHAR_PITCH_PT <= width_pt < (lr.CHARS_PER_LINE + 1) * 16
    spacing = document.paragraphs[-2].runs[0]._r.rPr.find(qn("w:spacing"))
    assert spacing.get(qn("w:val")) == "-5"  # -0.25 pt


def test_red_double_rules_are_borders_before_spacing(reminder_docx: Path) -> None:
    section = Document(str(reminder_docx)).sections[0]
    rules = [
        (section.first_page_header.paragraphs[0], "thickThin"),  # thick over thin
        (section.first_page_footer.paragraphs[0], "thinThick"),  # thin over thick
    ]
    for paragraph, style in rules:
        ppr = paragraph._p.pPr
        tags = [child.tag for child in ppr]
        border = ppr.find(qn("w:pBdr"))
        assert border is not None
        for later in ("w:spacing", "w:ind", "w:jc"):
            assert tags.index(qn("w:pBdr")) < tags.index(qn(later))
        line = border[0]
        assert line.get(qn("w:val")).startswith(style)
        assert line.get(qn("w:color")) == "FF0000"
        # 170 mm: the 156 mm text block plus 7 mm on each side.
        left = int(ppr.find(qn("w:ind")).get(qn("w:left")))
        assert abs(156 - 2 * left / 20 * 25.4 / 72 - 170) < 0.5


def test_no_page_number_on_the_first_page(reminder_docx: Path) -> None:
    document = Document(str(reminder_docx))
    section = document.sections[0]
    assert "PAGE" not in section.first_page_footer._element.xml
    assert "PAGE" in section.footer._element.xml
    assert "PAGE" in section.even_page_footer._element.xml
    assert document.settings.odd_and_even_pages_header_footer
    assert "seal" not in document.element.xml and not document.inline_shapes  # stamped by hand


def test_reminder_lists_lagging_projects_worst_first_with_the_deadline(
    reminder_docx: Path,
) -> None:
    document = Document(str(reminder_docx))
    table = document.tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["序号", "项目名称", "目标任务", "时序进度", "填报进度", "进度状态"]
    assert rows[1][1].startswith("建设一批优质学校") and rows[1][3:] == ["75%", "40%", "严重滞后"]
    assert rows[2][1].startswith("推进义务教育集团化办学") and rows[2][3:] == [
        "75%",
        "62.5%",
        "滞后",
    ]
    assert rows[3][1].startswith("提升教室硬件设施水平") and rows[3][4:] == ["未填报", "未填报"]
    assert "组建3个教育集团" in rows[2][2]
    text = _all_text(document)
    assert "请于2025年10月16日前" in text
    assert "低于时序进度35个百分点" in text
    assert "请立即补报最新进度" in text
    paragraphs = _body_paragraphs(document)
    assert [p.text for p in paragraphs[-3:]] == [
        "扬州市人民代表大会常务委员会",
        "2025年9月26日",
        f"（{CONTACT}）",
    ]
    assert paragraphs[-2].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    # Room for the seal: blank lines between the last body paragraph and the signature.
    all_paragraphs = document.paragraphs
    signature = next(
        i for i, p in enumerate(all_paragraphs) if p.text == "扬州市人民代表大会常务委员会"
    )
    assert all_paragraphs[signature - 1].text == "" and all_paragraphs[signature - 2].text == ""
    assert all_paragraphs[signature - 3].text == "特此函告。"


def test_reminder_needs_a_project() -> None:
    with pytest.raises(ValueError):
        reminder_letter_content(UNIT, [], AS_OF, DUE, letter_no="x〔2025〕1号", letter_date=AS_OF)


def test_feedback_letter_puts_hot_issues_first(feedback_docx: Path) -> None:
    content = _feedback()
    document = Document(str(feedback_docx))
    headings = [
        p.text for p in document.paragraphs if re.match(r"^[一二三四五六七八九十]+、", p.text)
    ]
    assert headings == ["一、关于“建设一批优质学校”项目", "二、关于“提升教室硬件设施水平”项目"]
    subs = [p.text for p in document.paragraphs if p.text.startswith("（")]
    assert subs[0].startswith("（一）上下学接送交通拥堵。共20条。")
    assert subs[1].startswith("（二）施工噪声影响学生学习。共12条。群众反映：“")
    assert subs[1].count("“") == 2  # at most two quotes per issue
    text = _all_text(document)
    assert "该项目（编号JY01）共收到群众反映35条" in text
    assert "共收到涉及你单位牵头实施的民生实事项目的群众反映39条" in text
    assert "于2025年10月16日前将办理情况书面函复" in text
    assert content.project_codes == ("JY01", "JY04")
    assert content.feedback_ids == ("b1", "a1", "a2", "c1")


def test_feedback_letter_carries_no_identity(feedback_docx: Path) -> None:
    document = Document(str(feedback_docx))
    text = _all_text(document)
    for secret in SECRETS:
        assert secret not in text, secret
    assert not re.search(r"\d\*+|\*+\d", text)  # no half-masked numbers either
    # The resident's point survives de-identification.
    assert "学校门口施工噪声太大" in text
    assert "某栋某单元" in text
    assert "某先生说接送孩子的车把路堵死了" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "我是张三，住3栋2单元501室，晚上还在施工，电话13812345678",
            "我是某某，住某栋某单元，晚上还在施工",
        ),
        ("3-2-501漏水，2025-03-05发现", "某栋某单元漏水，2025-03-05发现"),
        ("住在1201室的张师傅反映，小高层", "住在某室的某师傅反映，小高层"),
        ("五栋三单元602门口", "某栋某单元门口"),
        ("12号楼3单元 1101", "某号楼某单元"),
        ("A座12楼1203", "某座12楼某室"),
        ("幸福里小区10幢2-301", "幸福里小区某幢"),
        ("张女士和邮箱 zhang@qq.com", "某女士和"),
        ("这两栋楼之间一直漏水", "这两栋楼之间一直漏水"),
        ("共改造3栋楼，1200元，2025年3月5日", "共改造某栋楼，1200元，2025年3月5日"),
        ("加装电梯惠及1200户，这栋楼2024年建成", "加装电梯惠及1200户，这栋楼2024年建成"),
        ("３－２－５０１的住户", "某栋某单元的住户"),
    ],
)
def test_deidentify_quote(raw: str, expected: str) -> None:
    assert deidentify_quote(raw, ["张三"]) == expected


def test_deidentify_ignores_one_character_names() -> None:
    assert deidentify_quote("扩张道路，张先生", ["张", " "]) == "扩张道路，张先生"
    assert deidentify_quote("Tom said", iter(["tom"])) == "某某 said"


def test_deidentify_masks_numbers_without_names() -> None:
    out = deidentify_quote(f"证件号码{ID_NUMBER}，手机+86 139-1234-5678，卡号6222021234567890123")
    assert not re.search(r"\d{4}", out), out


def test_letter_content_lines_and_validation() -> None:
    content = _reminder()
    assert content.title_text == "关于加快推进2025年民生实事项目实施进度的提醒函"
    assert content.lines()[:4] == [
        "扬州市人民代表大会常务委员会",
        "扬人常民函〔2025〕12号",
        content.title_text,
        "市教育局：",
    ]
    assert isinstance(content.blocks[0], Paragraph)
    assert lr.chinese_ordinal(1) == "一" and lr.chinese_ordinal(10) == "十"
    assert lr.chinese_ordinal(12) == "十二" and lr.chinese_ordinal(20) == "二十"
    with pytest.raises(ValueError):
        lr.chinese_ordinal(0)


# --- working days ------------------------------------------------------------------------------


def test_deadline_skips_national_day_and_counts_adjusted_weekends() -> None:
    result = add_working_days(date(2025, 9, 26), 10)
    assert result.due == date(2025, 10, 16)
    assert result.calendar_known and result.note is None
    # 28 September (Sunday) and 11 October (Saturday) were working days, 1-8 October off.
    assert add_working_days(date(2025, 9, 26), 1).due == date(2025, 9, 28)
    assert add_working_days(date(2025, 9, 30), 1).due == date(2025, 10, 9)


def test_deadline_around_spring_festival_2025() -> None:
    # The calendar itself: 26 January (Sunday) and 8 February (Saturday) were working days.
    assert date(2025, 1, 26).weekday() == 6 and chinese_calendar.is_workday(date(2025, 1, 26))
    assert date(2025, 2, 8).weekday() == 5 and chinese_calendar.is_workday(date(2025, 2, 8))
    assert add_working_days(date(2025, 1, 24), 1).due == date(2025, 1, 26)
    assert add_working_days(date(2025, 1, 27), 1).due == date(2025, 2, 5)  # 28 Jan-4 Feb off
    assert add_working_days(date(2025, 2, 7), 1).due == date(2025, 2, 8)
    # Ten working days from 20 January end on the working Saturday 8 February.
    assert add_working_days(date(2025, 1, 20), 10).due == date(2025, 2, 8)


def test_deadline_zero_and_negative() -> None:
    assert add_working_days(date(2025, 10, 1), 0).due == date(2025, 10, 1)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 10, 1), -1)


def test_deadline_in_a_year_the_calendar_does_not_know_falls_back_to_weekends() -> None:
    assert not calendar_knows(date(2200, 1, 1))
    result = add_working_days(date(2200, 1, 3), 10)  # a Friday
    assert result.due == date(2200, 1, 17)  # two weeks of Monday-Friday
    assert not result.calendar_known
    assert result.note is not None and "2200年" in result.note and "周六、周日" in result.note


def test_deadline_running_into_an_unknown_year_says_so() -> None:
    last_known = next(y for y in range(2025, 2200) if not calendar_knows(date(y + 1, 1, 1)))
    result = add_working_days(date(last_known, 12, 24), 10)
    assert result.due.year == last_known + 1
    assert not result.calendar_known
    assert result.note is not None and f"{last_known + 1}年" in result.note
    assert f"{last_known}年" not in result.note.replace(f"{last_known + 1}年", "")


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_is_skipped_with_a_reason_without_libreoffice(
    reminder_docx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lr.shutil, "which", lambda name: None)
    result = lr.to_pdf(reminder_docx, tmp_path)
    assert result.path is None
    assert result.skipped_reason is not None and "LibreOffice" in result.skipped_reason
    assert "libreoffice-writer-nogui" in result.skipped_reason
    assert reminder_docx.is_file() and not list(tmp_path.glob("*.pdf"))


def _fake_soffice(directory: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script = directory / "soffice"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}/usr/bin{os.pathsep}/bin")


def test_pdf_timeout_kills_libreoffice_and_says_so(
    reminder_docx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_soffice(tmp_path, "exec sleep 30", monkeypatch)
    started = time.monotonic()
    result = lr.to_pdf(reminder_docx, tmp_path / "out", timeout=1)
    assert time.monotonic() - started < 10
    assert result.path is None
    assert result.skipped_reason is not None and "超时" in result.skipped_reason


def test_pdf_failure_is_reported_with_libreoffice_output(
    reminder_docx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_soffice(tmp_path, "echo 'Error: source file could not be loaded'; exit 0", monkeypatch)
    result = lr.to_pdf(reminder_docx, tmp_path / "out")
    assert result.path is None
    assert result.skipped_reason is not None
    assert "source file could not be loaded" in result.skipped_reason
    _fake_soffice(tmp_path, "echo boom >&2; exit 3", monkeypatch)
    failed = lr.to_pdf(reminder_docx, tmp_path / "out")
    assert failed.skipped_reason is not None and "退出码 3" in failed.skipped_reason
    with pytest.raises(FileNotFoundError):
        lr.to_pdf(tmp_path / "absent.docx")


def test_fontconfig_maps_the_official_font_names(tmp_path: Path) -> None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        pytest.skip("未安装 fontconfig（fc-match）：跳过字体映射检查")
    env = dict(os.environ, FONTCONFIG_FILE=str(lr.write_fontconfig(tmp_path)))
    cjk = ("Noto Serif CJK", "Noto Sans CJK", "AR PL", "WenQuanYi", "Source Han")

    def match(name: str) -> str:
        out = subprocess.run(
            [fc_match, "-f", "%{family[0]}|%{style[0]}", name],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return out.stdout

    if not any(f in match("Noto Serif CJK SC") for f in cjk):
        pytest.skip("未安装中文字体（fonts-noto-cjk）：跳过字体映射检查")
    for name in sorted(OFFICIAL_FONTS):
        assert any(family in match(name) for family in cjk), (name, match(name))
    assert "Bold" in match("方正小标宋简体")  # 小标宋 is a heavy 宋


def _read_ppm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    fields = data.split(maxsplit=4)  # P6, width, height, maxval, pixels
    assert fields[0] == b"P6"
    return int(fields[1]), int(fields[2]), fields[4]


def _red_rows_mm(ppm: Path, dpi: int) -> list[tuple[float, float, float]]:
    """Rows (y in mm) with red pixels, and the red pixels' x extent in mm on that row."""
    width, height, pixels = _read_ppm(ppm)
    rows = []
    for y in range(height):
        line = pixels[y * width * 3 : (y + 1) * width * 3]
        xs = [
            x
            for x in range(width)
            if line[3 * x] > 180 and line[3 * x + 1] < 100 and line[3 * x + 2] < 100
        ]
        if xs:
            mm = 25.4 / dpi
            rows.append((y * mm, xs[0] * mm, xs[-1] * mm))
    return rows


@pytest.mark.slow
def test_pdf_has_the_letter_text_and_layout(tmp_path: Path) -> None:
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("未安装 LibreOffice（soffice）：跳过 PDF 测试，CI 的 .ci/run 会安装")
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.skip("未安装 poppler-utils（pdftotext/pdftoppm）：跳过 PDF 测试")
    reminder = render_letter(_reminder(), tmp_path / "reminder.docx")
    feedback = render_letter(_feedback(), tmp_path / "feedback.docx")
    lines_check = render_letter(
        LetterContent(
            kind="reminder_letter",
            letter_no="扬人常民函〔2025〕99号",
            agency="扬州市人民代表大会常务委员会",
            recipient=UNIT,
            title="版心字数检查",
            blocks=(Paragraph("民生实事项目监督" * 20),),
            date_cn="2025年10月16日",
            signature="扬州市人民代表大会常务委员会",
        ),
        tmp_path / "lines.docx",
    )
    started = time.monotonic()
    results = lr.convert_to_pdf([reminder, feedback, lines_check], tmp_path / "pdf")
    elapsed = time.monotonic() - started
    print(f"LibreOffice: 3 letters in {elapsed:.1f} s")
    pdfs: list[Path] = []
    for result in results:
        assert result.path is not None, result.skipped_reason
        assert result.path.is_file() and result.skipped_reason is None
        pdfs.append(result.path)

    def pdf_text(path: Path, *args: str) -> str:
        return subprocess.run(
            ["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True
        ).stdout

    text = re.sub(r"\s+", "", pdf_text(pdfs[0]))
    for expected in (
        "扬州市人民代表大会常务委员会",
        "扬人常民函〔2025〕12号",
        "关于加快推进2025年民生实事项目实施进度的提醒函",
        "市教育局：",
        "建设一批优质学校",
        "严重滞后",
        "请于2025年10月16日前",
        "2025年9月26日",
    ):
        assert expected in text, expected
    feedback_text = re.sub(r"\s+", "", pdf_text(pdfs[1]))
    assert "扬人常民函〔2025〕13号" in feedback_text
    for secret in SECRETS:
        assert secret.replace(" ", "") not in feedback_text, secret

    # 28 characters a line: every full line of the long paragraph.
    layout = pdf_text(pdfs[2], "-layout")
    body = [
        re.sub(r"\s+", "", line) for line in layout.splitlines() if "民生" in line or "监督" in line
    ]
    assert len(body) >= 5
    assert all(len(line) == 28 for line in body[1:-1]), body
    assert len(body[0]) == 26  # two characters of indent

    # Page 1 as PNG for people to look at, and as PPM to measure the red mark and rules.
    ARTIFACTS.mkdir(exist_ok=True)
    for options, out in ((["-png"], ARTIFACTS / "letter"), ([], tmp_path / "page1")):
        page1 = ["-r", "100", "-f", "1", "-l", "1", "-singlefile", str(pdfs[0]), str(out)]
        subprocess.run(["pdftoppm", *options, *page1], check=True)
    assert (ARTIFACTS / "letter.png").stat().st_size > 10_000
    rows = _red_rows_mm(tmp_path / "page1.ppm", 100)
    assert rows, "no red on page 1"
    assert 27 <= rows[0][0] <= 33  # the mark's top edge about 30 mm from the top
    wide = [row for row in rows if row[2] - row[1] > 160]
    upper = [row for row in wide if row[0] < 60]
    lower = [row for row in wide if row[0] > 200]
    assert upper and lower
    for _, left, right in upper + lower:
        assert 167 <= right - left <= 173  # 170 mm rules
    assert 3 <= upper[0][0] - max(r[0] for r in rows if r[0] < upper[0][0]) <= 6  # 4 mm under
    assert 17 <= 297 - lower[-1][0] <= 23  # 20 mm above the bottom edge
