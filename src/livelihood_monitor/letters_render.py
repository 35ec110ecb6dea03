"""Official letters to implementing units, laid out in the GB/T 9704-2012 letter format (信函格式).

Three layers, so the register, the command line and the supervision flow can drive them later:

1. Content builders (``reminder_letter_content``, ``feedback_letter_content``) turn domain data
   into a ``LetterContent``: plain text blocks in Simplified Chinese, nothing about layout.
   Residents' quotes are de-identified here (``deidentify_quote``), before they reach any file.
2. ``render_letter`` writes the .docx with python-docx.
3. ``to_pdf`` converts .docx files with LibreOffice headless, using a fontconfig file shipped
   beside this module (``letters_fonts.conf``) that maps the official font names to the Debian
   CJK fonts, so the PDF is legible on a server without the official fonts.

Layout facts (GB/T 9704-2012): A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm
(text block 156 × 225 mm); body 3号 (16 pt) 仿宋_GB2312, 22 lines of 28 characters; letter format:
red agency mark about 30 mm from the top edge, red double rules 170 mm long (thick over thin
4 mm below the mark; thin over thick 20 mm above the bottom edge), document number right below
the first rule, no page number on page 1, date without zero padding, the seal stamped by hand.
The official font names are written into the .docx (``w:eastAsia``) so Word at the unit uses
its own 仿宋_GB2312 etc.; only the PDF made here uses substitutes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips

from livelihood_monitor.privacy import mask_pii

__all__ = [
    "DEFAULT_AGENCY",
    "FONTS_CONF",
    "Block",
    "Heading",
    "LaggingProject",
    "LetterContent",
    "Paragraph",
    "PdfResult",
    "ProblemGroup",
    "ProjectProblems",
    "Quote",
    "SubHeading",
    "Table",
    "chinese_ordinal",
    "convert_to_pdf",
    "deidentify_quote",
    "feedback_letter_content",
    "format_date_cn",
    "format_letter_no",
    "parse_letter_no",
    "reminder_letter_content",
    "render_letter",
    "to_pdf",
    "write_fontconfig",
]

# --- layout constants (GB/T 9704-2012) ------------------------------------------------------------

PAGE_WIDTH_MM: Final = 210
PAGE_HEIGHT_MM: Final = 297
MARGIN_TOP_MM: Final = 37
MARGIN_BOTTOM_MM: Final = 35
MARGIN_LEFT_MM: Final = 28
MARGIN_RIGHT_MM: Final = 26
TEXT_WIDTH_MM: Final = PAGE_WIDTH_MM - MARGIN_LEFT_MM - MARGIN_RIGHT_MM  # 156
RULE_LENGTH_MM: Final = 170
MARK_TOP_MM: Final = 30  # agency mark's upper edge from the top edge of the paper
BOTTOM_RULE_MM: Final = 20  # lower double rule from the bottom edge

BODY_PT: Final = 16.0  # 3号
TITLE_PT: Final = 22.0  # 2号
PAGE_NO_PT: Final = 14.0  # 4号
TABLE_PT: Final = 12.0  # 小四: a six-column table does not fit in 3号
LINE_PITCH_PT: Final = 28.95  # 225 mm / 22 lines
CHARS_PER_LINE: Final = 28
MM_PER_PT: Final = 25.4 / 72
# 156 mm holds 27 characters of 16 pt, not 28. Word's official templates squeeze them with a
# character grid (docGrid linesAndChars), but LibreOffice then gives every 16 pt character two
# grid cells (14 per line). Condensing body runs by 0.25 pt (15.75 × 28 = 441 pt ≤ 442.2 pt)
# gives 28 per line in both, with a line-only grid.
CONDENSE_PT: Final = 0.25
CHAR_PITCH_PT: Final = BODY_PT - CONDENSE_PT

FONT_FANGSONG: Final = "仿宋_GB2312"
FONT_XIAOBIAOSONG: Final = "方正小标宋简体"
FONT_HEITI: Final = "黑体"
FONT_KAITI: Final = "楷体_GB2312"
FONT_SONGTI: Final = "宋体"
FONT_LATIN: Final = "Times New Roman"  # digits and Latin letters, the usual choice in 公文
RED: Final = RGBColor(0xFF, 0x00, 0x00)

DEFAULT_AGENCY: Final = "扬州市人民代表大会常务委员会"
DEFAULT_REPLY_TO: Final = "市人大常委会"
FONTS_CONF: Final = Path(__file__).resolve().parent / "letters_fonts.conf"

# --- content model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph, indented two characters."""

    text: str


@dataclass(frozen=True)
class Heading:
    """A first-level heading (``一、……``, 黑体), on its own line. The text carries the number."""

    text: str


@dataclass(frozen=True)
class SubHeading:
    """A second-level heading (``（一）……``, 楷体) run in with the paragraph text after it."""

    heading: str
    text: str = ""


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths_mm: tuple[float, ...]  # must add up to the text width (156 mm) or less


Block = Paragraph | Heading | SubHeading | Table


@dataclass(frozen=True)
class LetterContent:
    """Everything a letter says, in order; layout is the renderer's business."""

    kind: str  # reminder_letter | feedback_letter (the register's ``letters.kind``)
    letter_no: str  # 扬人常民函〔2025〕12号
    agency: str  # the red agency mark (发文机关标志)
    recipient: str  # 主送机关, without the colon
    # "\n" marks where a long title breaks (at a word, upper line longer: 梯形 as 公文 want).
    title: str
    blocks: tuple[Block, ...]
    date_cn: str  # 2025年10月16日
    signature: str  # 发文机关署名 above the date; the seal is stamped over both by hand
    contact_line: str | None = None  # 附注 under the date, e.g. 联系人：王某，电话：0514-87654321
    due: date | None = None
    # Operator-facing remark about the deadline (e.g. the holiday calendar did not know the
    # year); never printed in the letter.
    due_note: str | None = None
    project_codes: tuple[str, ...] = ()
    # Identities of the feedback items forwarded, so a later letter does not repeat them.
    feedback_ids: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """Every piece of text the letter prints, in order (for checks and for the register)."""
        out = [self.agency, self.letter_no, self.title_text, f"{self.recipient}："]
        for block in self.blocks:
            if isinstance(block, Paragraph | Heading):
                out.append(block.text)
            elif isinstance(block, SubHeading):
                out.append(block.heading + block.text)
            else:
                out.append("\t".join(block.headers))
                out.extend("\t".join(row) for row in block.rows)
        out += [self.signature, self.date_cn]
        if self.contact_line:
            out.append(f"（{self.contact_line}）")
        return out

    @property
    def title_text(self) -> str:
        return self.title.replace("\n", "")

    def plain_text(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class LaggingProject:
    """A project behind its 时序进度 (or without a report) at the as-of date."""

    code: str
    name: str
    target: str
    status: str  # behind | seriously_behind | missing (the status engine's values)
    expected_pct: float | None
    reported_pct: float | None
    report_date: date | None = None


@dataclass(frozen=True)
class Quote:
    text: str
    # The submitter's name as recorded by the channel; removed from every quote of the letter.
    submitter: str | None = None


@dataclass(frozen=True)
class ProblemGroup:
    """One issue residents raised about a project, e.g. 施工噪声扰民, with its message count."""

    label: str
    count: int
    quotes: tuple[Quote, ...] = ()
    feedback_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectProblems:
    code: str
    name: str
    problems: tuple[ProblemGroup, ...]
    total: int | None = None  # messages about the project; None: the sum of the groups' counts

    @property
    def message_count(self) -> int:
        return self.total if self.total is not None else sum(p.count for p in self.problems)


# --- small formatters ---------------------------------------------------------------------------------

LETTER_NO_RE: Final = re.compile(r"^(?P<prefix>.+)〔(?P<year>\d{4})〕(?P<serial>[1-9]\d*)号$")

_DIGITS: Final = "零一二三四五六七八九"


def format_letter_no(prefix: str, year: int, serial: int) -> str:
    """``扬人常民函〔2025〕12号``: hexagonal brackets 〔〕, no zero padding, no 第."""
    if serial < 1:
        raise ValueError(f"serial must be at least 1, got {serial}")
    if not prefix or not prefix.strip():
        raise ValueError("letter prefix must not be empty")
    return f"{prefix.strip()}〔{year}〕{serial}号"


def parse_letter_no(letter_no: str) -> tuple[str, int, int]:
    """``(prefix, year, serial)`` of a document number made by ``format_letter_no``."""
    match = LETTER_NO_RE.match(letter_no.strip())
    if match is None:
        raise ValueError(f"not a document number of the form 前缀〔年份〕序号号: {letter_no!r}")
    return match["prefix"], int(match["year"]), int(match["serial"])


def format_date_cn(day: date) -> str:
    """``2025年10月16日`` (Arabic numerals, no zero padding), as GB/T 9704-2012 asks."""
    return f"{day.year}年{day.month}月{day.day}日"


def _format_month_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def chinese_ordinal(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九 (heading numbers 一、 and （一）)."""
    if not 1 <= n <= 99:
        raise ValueError(f"heading numbers run from 1 to 99, got {n}")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


_ASCII_PARENS_RE: Final = re.compile(r"\(([^()]*[\u4e00-\u9fff][^()]*)\)")
_ASCII_QUOTES_RE: Final = re.compile(r'"([^"]*)"')


def _polish(text: str) -> str:
    """Chinese punctuation for text from data files: (改、扩) → （改、扩）, "清洁厨房" → “清洁厨房”."""
    text = _ASCII_PARENS_RE.sub(r"（\1）", text.strip())
    return _ASCII_QUOTES_RE.sub(r"“\1”", text)


def _quoted(name: str) -> str:
    """A project name in quotation marks; quotes inside it become single ones (‘…’)."""
    inner = _polish(name).replace("“", "‘").replace("”", "’")
    return f"“{inner}”"


def _format_pct(value: float | None) -> str:
    if value is None:
        return "未填报"
    rounded = round(value, 1)
    return f"{rounded:.0f}%" if rounded == int(rounded) else f"{rounded:.1f}%"


# --- de-identification --------------------------------------------------------------------------------

_FOLD_DIGITS: Final = {code: chr(code - 0xFEE0) for code in range(0xFF10, 0xFF1A)} | {
    0xFF0D: "-"  # full-width hyphen, as in ３－２－５０１
}
# A masked value from mask_pii (138****5678, 320123********1234, a***@x.cn, 0514-******21):
# the kept digits still narrow down a person, and a quote needs no contact details, so the value
# goes together with the words that introduce it (，我的电话是138****5678).
_MASKED_RE: Final = re.compile(
    r"[，,；;、\s]*(?:我的|本人)?(?:联系方式|联系电话|电话号码|手机号码|手机号|电话|手机|座机|"
    r"身份证号码|身份证号|身份证|证件号码|证件号|银行卡号|卡号|邮箱|e-?mail|微信号?|QQ号?)?"
    r"\s*[：:是为]?\s*[0-9A-Za-z+()\-.@]*\*{2,}[0-9A-Za-z+()\-.@]*",
    re.IGNORECASE,
)
_NUM_ASCII: Final = r"(?<![A-Za-z0-9])[A-Za-z]?\d+[A-Za-z]?"
# 3, 12A, B (座), 五; not the counts in 这两栋楼 / 几栋.
_NUM: Final = rf"(?:{_NUM_ASCII}|(?<![A-Za-z])[A-Za-z](?=[座栋幢])|(?<![这那几每各两])[零〇一二三四五六七八九十百]+)"
# 3-2-501 (building-unit-room); a date such as 2025-03-05 has a 4-digit first group, 25-3-5 a
# 1-digit last one, so neither matches.
_HOUSE_DASHED_RE: Final = re.compile(r"(?<![0-9\-])\d{1,3}-\d{1,2}-\d{3,4}(?![0-9\-])(?:室|号|房)?")
_BUILDING_RE: Final = re.compile(rf"{_NUM}(号楼|栋|幢|座)")
_UNIT_RE: Final = re.compile(rf"{_NUM}单元")
# The room after a blurred building or unit goes entirely: 某栋某单元501室 → 某栋某单元,
# 某幢2-301 → 某幢.
_ROOM_AFTER_RE: Final = re.compile(
    rf"(某单元|某栋|某幢|某座|某号楼)[-—－\s]?(?:\d{{1,2}}[-—－])?{_NUM_ASCII}(?:室|号房|房|号)?"
    r"(?![0-9A-Za-z楼层])"
)
# A bare 3-4 digit number right after 楼/层 is a room (12楼1203), unless a measure word follows
# (楼2024年建成); "户" is left alone everywhere: 惠及1200户 is a count.
_FLOOR_ROOM_RE: Final = re.compile(
    r"(?<=[楼层])\d{3,4}(?:室|号房|房|号)?(?![0-9.%元年月日天米平万人户个次台部辆多余份])"
)
_ROOM_RE: Final = re.compile(r"(?<![0-9])\d{3,4}(室|号房)")
_HONORIFICS: Final = (
    "先生",
    "女士",
    "小姐",
    "阿姨",
    "大爷",
    "大妈",
    "师傅",
    "老师",
    "奶奶",
    "爷爷",
)
_QUOTE_MAX_CHARS: Final = 80


def _name_replacements(names: Iterable[str]) -> list[tuple[str, str]]:
    """``(text, replacement)`` pairs for the submitters' names, longest first.

    A Chinese full name also yields the surname with an honorific (张三 → 张先生 → 某先生): in
    a quote, that is how a resident is named. Names of one character are ignored: replacing
    every 张 would wreck the text. 老张/小张 are left alone (小高层 is a building type).
    """
    pairs: dict[str, str] = {}
    for raw in names:
        name = raw.strip()
        if len(name) < 2:
            continue
        pairs[name] = "某某"
        if len(name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in name):
            for title in _HONORIFICS:
                pairs.setdefault(name[0] + title, "某" + title)
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def deidentify_quote(text: str, names: Iterable[str] = ()) -> str:
    """A resident's words fit to quote in a letter: no phone, ID, e-mail, name or house number.

    - ``mask_pii`` masks phones, ID-card, bank-card numbers and e-mail addresses; the masked
      value still shows digits (``138****5678``), so it goes entirely, with the words that
      introduce it (``，电话138****5678``);
    - every name in ``names`` (submitters, as recorded by the channels) becomes ``某某``, and for
      Chinese names the forms ``张先生``/``张女士`` become ``某先生``/``某女士``;
    - exact house numbers are blurred: ``3栋2单元501室`` → ``某栋某单元``, ``3-2-501`` → ``某栋某单元``,
      ``1201室`` → ``某室``.

    Names that no channel recorded (a neighbour named in the text) cannot be recognised here.
    """
    work = text.translate(_FOLD_DIGITS)
    work = mask_pii(work)
    work = _MASKED_RE.sub("", work)
    for name, replacement in _name_replacements(names):
        work = re.sub(re.escape(name), replacement, work, flags=re.IGNORECASE)
    work = _HOUSE_DASHED_RE.sub("某栋某单元", work)
    work = _BUILDING_RE.sub(lambda m: "某" + m.group(1), work)
    work = _UNIT_RE.sub("某单元", work)
    work = _ROOM_AFTER_RE.sub(r"\1", work)
    work = _FLOOR_ROOM_RE.sub("某室", work)
    work = _ROOM_RE.sub("某室", work)
    return re.sub(r"\s+", " ", work).strip()


def _quote_for_letter(text: str, names: Iterable[str]) -> str:
    clean = deidentify_quote(text, names)
    # Inside a “…” quotation, Chinese nests with ‘…’.
    clean = clean.replace("“", "‘").replace("”", "’").replace('"', "")
    clean = clean.rstrip("，,。.；;！!？? ")
    if len(clean) > _QUOTE_MAX_CHARS:
        clean = clean[:_QUOTE_MAX_CHARS].rstrip("，,。.；;") + "……"
    return clean


# --- content builders -----------------------------------------------------------------------------

STATUS_LABELS: Final = {
    "seriously_behind": "严重滞后",
    "behind": "滞后",
    "missing": "未填报",
    "on_track": "正常推进",
    "ahead": "超序时",
    "completed": "已完成",
    "not_started": "未开工",
}
_STATUS_ORDER: Final = {"seriously_behind": 0, "behind": 1, "missing": 2}


def _gap(project: LaggingProject) -> float:
    if project.expected_pct is None or project.reported_pct is None:
        return 0.0
    return project.expected_pct - project.reported_pct


def _lag_facts(projects: Sequence[LaggingProject], label: str) -> list[str]:
    """“城镇老旧小区改造”严重滞后，低于时序进度35个百分点 — one phrase each, or a summary."""
    if len(projects) > 3:
        worst = max(projects, key=_gap)
        return [
            f"{len(projects)}个项目进度{label}，{_quoted(worst.name)}差距最大，"
            f"低于时序进度{_gap(worst):.0f}个百分点"
        ]
    return [
        f"{_quoted(p.name)}进度{label}"
        + (f"，低于时序进度{_gap(p):.0f}个百分点" if _gap(p) >= 1 else "")
        for p in projects
    ]


def _period_cn(start: date, end: date) -> str:
    """2025年9月1日至9月30日 (the year once when both ends share it); one day: 2025年9月10日."""
    if start == end:
        return format_date_cn(start)
    tail = _format_month_day(end) if start.year == end.year else format_date_cn(end)
    return f"{format_date_cn(start)}至{tail}"


def _names_joined(names: Sequence[str]) -> str:
    return "、".join(_quoted(name) for name in names)


def reminder_letter_content(
    unit: str,
    projects_lagging: Sequence[LaggingProject],
    as_of: date,
    due: date,
    *,
    letter_no: str,
    letter_date: date,
    agency: str = DEFAULT_AGENCY,
    signature: str | None = None,
    reply_to: str = DEFAULT_REPLY_TO,
    contact_line: str | None = None,
    due_note: str | None = None,
) -> LetterContent:
    """进度提醒函 to one unit: its projects behind 时序进度 (or unreported) at ``as_of``.

    Projects are listed worst first (严重滞后, 滞后, 未填报; larger gap first) in a table with the
    target, expected vs reported progress and the status, followed by what the unit is asked to
    do and the reply deadline ``due`` (see ``workdays.add_working_days``).
    """
    if not projects_lagging:
        raise ValueError("a progress reminder needs at least one lagging project")
    ordered = sorted(
        projects_lagging, key=lambda p: (_STATUS_ORDER.get(p.status, 3), -_gap(p), p.code)
    )
    year = as_of.year
    rows = tuple(
        (
            str(index),
            f"{_polish(p.name)}（{p.code}）",
            _polish(p.target),
            _format_pct(p.expected_pct),
            _format_pct(p.reported_pct) if p.status != "missing" else "未填报",
            STATUS_LABELS.get(p.status, p.status),
        )
        for index, p in enumerate(ordered, start=1)
    )
    table = Table(
        headers=("序号", "项目名称", "目标任务", "时序进度", "填报进度", "进度状态"),
        rows=rows,
        widths_mm=(12.0, 38.0, 43.0, 21.0, 21.0, 21.0),
    )
    blocks: list[Block] = [
        Paragraph(
            f"根据{year}年度民生实事项目监督工作安排，市人大常委会对各责任单位填报的项目推进情况"
            f"进行了跟踪分析。截至{format_date_cn(as_of)}，对照时序进度，你单位牵头实施的"
            f"{len(ordered)}个民生实事项目推进滞后或未按时填报进度，具体如下："
        ),
        table,
    ]
    serious = [p for p in ordered if p.status == "seriously_behind"]
    behind = [p for p in ordered if p.status not in ("seriously_behind", "missing")]
    missing = [p.name for p in ordered if p.status == "missing"]
    facts = _lag_facts(serious, "严重滞后") + _lag_facts(behind, "滞后")
    if missing:
        facts.append(f"{_names_joined(missing)}未按要求填报进度")
    blocks.append(Paragraph("其中，" + "；".join(facts) + "。"))
    blocks.append(
        Paragraph(
            "请你单位高度重视，认真分析项目推进滞后的原因，倒排工期、压实责任，制定切实可行的"
            "整改措施，加快推进项目实施，确保按期保质完成年度目标任务。"
            + ("对未按时填报进度的项目，请立即补报最新进度及相关佐证材料。" if missing else "")
        )
    )
    blocks.append(
        Paragraph(
            f"请于{format_date_cn(due)}前，将上述项目滞后原因、整改措施、下一步工作安排及预计完成"
            f"时间书面函复{reply_to}。"
        )
    )
    blocks.append(Paragraph("特此函告。"))
    return LetterContent(
        kind="reminder_letter",
        letter_no=letter_no,
        agency=agency,
        recipient=unit,
        title=f"关于加快推进{year}年民生实事项目\n实施进度的提醒函",
        blocks=tuple(blocks),
        date_cn=format_date_cn(letter_date),
        signature=signature or agency,
        contact_line=contact_line,
        due=due,
        due_note=due_note,
        project_codes=tuple(p.code for p in ordered),
    )


def feedback_letter_content(
    unit: str,
    problems_by_project: Sequence[ProjectProblems],
    due: date,
    *,
    letter_no: str,
    letter_date: date,
    period: tuple[date, date] | None = None,
    names: Iterable[str] = (),
    max_problems: int = 5,
    max_quotes: int = 2,
    agency: str = DEFAULT_AGENCY,
    signature: str | None = None,
    reply_to: str = DEFAULT_REPLY_TO,
    contact_line: str | None = None,
    due_note: str | None = None,
) -> LetterContent:
    """意见反馈函 to one unit: residents' problems per project, hot issues first.

    Projects are ordered by message count, and within each the problems by count; each problem
    shows its count and up to ``max_quotes`` representative quotes, de-identified with every
    submitter name of the letter (``Quote.submitter`` plus ``names``) removed. Problems beyond
    ``max_problems`` are summed into one line. The unit is asked to reply on each by ``due``.
    """
    projects = [p for p in problems_by_project if p.problems]
    if not projects:
        raise ValueError("a feedback letter needs at least one project with problems")
    all_names = {n for n in names if n and n.strip()}
    for project in projects:
        for problem in project.problems:
            all_names.update(q.submitter for q in problem.quotes if q.submitter)
    projects.sort(key=lambda p: -p.message_count)
    year = letter_date.year
    total = sum(p.message_count for p in projects)
    when = f"{_period_cn(*period)}，" if period else "近期，"
    blocks: list[Block] = [
        Paragraph(
            "市人大常委会通过民情观察点、“民意直通车”和代表统一见面日等渠道广泛收集群众意见建议。"
            f"{when}共收到涉及你单位牵头实施的民生实事项目的群众反映{total}条。经梳理分类，"
            "现将群众反映较为集中的问题转交你单位，请认真研究办理。"
        )
    ]
    feedback_ids: list[str] = []
    for index, project in enumerate(projects, start=1):
        blocks.append(Heading(f"{chinese_ordinal(index)}、关于{_quoted(project.name)}项目"))
        problems = sorted(project.problems, key=lambda g: -g.count)
        shown, rest = problems[:max_problems], problems[max_problems:]
        blocks.append(
            Paragraph(
                f"该项目（编号{project.code}）共收到群众反映{project.message_count}条，"
                "主要问题如下："
            )
        )
        for number, problem in enumerate(shown, start=1):
            label = _polish(deidentify_quote(problem.label, all_names)).rstrip("。.")
            quotes: list[str] = []
            for quote in problem.quotes:
                clean = _quote_for_letter(quote.text, all_names)
                if len(clean) >= 4 and clean not in quotes:
                    quotes.append(clean)
                if len(quotes) >= max_quotes:
                    break
            text = f"共{problem.count}条。"
            if quotes:
                text += "群众反映：" + "；".join(f"“{q}”" for q in quotes) + "。"
            blocks.append(SubHeading(f"（{chinese_ordinal(number)}）{label}。", text))
            feedback_ids.extend(problem.feedback_ids)
        if rest:
            blocks.append(
                Paragraph(
                    f"此外，群众还反映了其他问题{sum(g.count for g in rest)}条"
                    f"（涉及{len(rest)}类），请一并研究处理。"
                )
            )
            for problem in rest:
                feedback_ids.extend(problem.feedback_ids)
    blocks.append(
        Paragraph(
            f"请你单位逐项核实上述问题，于{format_date_cn(due)}前将办理情况书面函复{reply_to}。"
            "函复时请逐项说明问题核实情况、已采取的措施、办理结果及下一步工作安排；对一时难以"
            "解决的问题，请说明原因并明确解决时限。办理结果将通过“民意直通车”等渠道向群众反馈。"
        )
    )
    blocks.append(Paragraph("特此函告。"))
    return LetterContent(
        kind="feedback_letter",
        letter_no=letter_no,
        agency=agency,
        recipient=unit,
        title=f"关于转交{year}年民生实事项目\n群众意见建议的函",
        blocks=tuple(blocks),
        date_cn=format_date_cn(letter_date),
        signature=signature or agency,
        contact_line=contact_line,
        due=due,
        due_note=due_note,
        project_codes=tuple(p.code for p in projects),
        feedback_ids=tuple(dict.fromkeys(feedback_ids)),
    )


# --- .docx rendering ------------------------------------------------------------------------------


def _w_tags(names: str) -> tuple[str, ...]:
    return tuple(qn(f"w:{name}") for name in names.split())


# Child order of w:pPr, w:rPr and w:tblPr (ECMA-376): Word rejects a file whose children are out
# of order, e.g. w:pBdr after w:spacing/w:ind/w:jc.
_PPR_ORDER: Final = _w_tags(
    "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers "
    "pBdr shd tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE "
    "autoSpaceDN bidi adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents "
    "suppressOverlap jc textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle "
    "rPr sectPr pPrChange"
)
_RPR_ORDER: Final = _w_tags(
    "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss imprint "
    "noProof snapToGrid vanish webHidden color spacing w kern position sz szCs highlight u "
    "effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout specVanish oMath"
)
_TBLPR_ORDER: Final = _w_tags(
    "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
    "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption "
    "tblDescription tblPrChange"
)


def _insert_ordered(parent: Any, child: Any, order: tuple[str, ...]) -> None:
    """Insert ``child`` into ``parent`` at its schema position (replacing one of the same tag)."""
    for old in parent.findall(child.tag):
        parent.remove(old)
    rank = order.index(child.tag)
    for index, existing in enumerate(parent):
        if existing.tag in order and order.index(existing.tag) > rank:
            parent.insert(index, child)
            return
    parent.append(child)


def _set_fonts(rpr: Any, east_asia: str, latin: str = FONT_LATIN) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    # Theme attributes win over explicit names in Word: drop them.
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:hint"), "eastAsia")


def _add_run(
    paragraph: Any,
    text: str,
    font: str = FONT_FANGSONG,
    size_pt: float = BODY_PT,
    *,
    color: RGBColor | None = None,
    condense: bool | None = None,
) -> Any:
    """A run with explicit fonts; body-size runs are condensed to fit 28 characters a line."""
    if condense is None:
        condense = size_pt == BODY_PT
    run = paragraph.add_run(text)
    run.font.size = Pt(size_pt)
    if color is not None:
        run.font.color.rgb = color
    rpr = run._r.get_or_add_rPr()
    _set_fonts(rpr, font)
    if condense:
        spacing = OxmlElement("w:spacing")
        spacing.set(qn("w:val"), str(-round(CONDENSE_PT * 20)))  # twentieths of a point
        _insert_ordered(rpr, spacing, _RPR_ORDER)
    return run


def _format(
    paragraph: Any,
    *,
    align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY,
    line_pt: float = LINE_PITCH_PT,
    first_line_chars: int = 0,
    left_mm: float = 0.0,
    right_mm: float = 0.0,
    right_pt: float = 0.0,
    before_pt: float = 0.0,
    after_pt: float = 0.0,
    keep_with_next: bool = False,
    snap_to_grid: bool = True,
) -> None:
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(line_pt)
    fmt.space_before = Pt(before_pt)
    fmt.space_after = Pt(after_pt)
    fmt.left_indent = Mm(left_mm) if left_mm else None
    fmt.right_indent = Mm(right_mm) if right_mm else (Pt(right_pt) if right_pt else None)
    fmt.keep_with_next = keep_with_next or None
    if first_line_chars:
        # Word reads the character-based indent (hundredths of a character); LibreOffice ignores
        # it and uses the absolute one: the width of two condensed body characters.
        fmt.first_line_indent = Twips(round(first_line_chars * CHAR_PITCH_PT * 20))
        fmt._element.get_or_add_pPr().get_or_add_ind().set(
            qn("w:firstLineChars"), str(first_line_chars * 100)
        )
    ppr = paragraph._p.get_or_add_pPr()
    if not snap_to_grid:
        # Lines in other sizes (mark, title, table) are not pulled onto the 28.95 pt grid.
        snap = OxmlElement("w:snapToGrid")
        snap.set(qn("w:val"), "0")
        _insert_ordered(ppr, snap, _PPR_ORDER)


def _set_border(paragraph: Any, edge: str, style: str, size_eighths: int, space_pt: int) -> None:
    """A red paragraph border on ``edge`` (top/bottom); pBdr goes before spacing/ind/jc."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        _insert_ordered(ppr, borders, _PPR_ORDER)
    line = OxmlElement(f"w:{edge}")
    line.set(qn("w:val"), style)
    line.set(qn("w:sz"), str(size_eighths))
    line.set(qn("w:space"), str(space_pt))
    line.set(qn("w:color"), "FF0000")
    borders.append(line)


def _setup_styles(document: Any) -> None:
    """Document defaults: 3号 仿宋_GB2312, exact 28.95 pt lines, Chinese language."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr, FONT_FANGSONG)
    for tag, value in (("w:sz", "32"), ("w:szCs", "32")):
        element = OxmlElement(tag)
        element.set(qn("w:val"), value)
        _insert_ordered(rpr, element, _RPR_ORDER)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")  # Chinese line breaking and punctuation in Word
    _insert_ordered(rpr, lang, _RPR_ORDER)
    normal = document.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    normal_rpr = normal.element.get_or_add_rPr()
    _set_fonts(normal_rpr, FONT_FANGSONG)
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(-round(CONDENSE_PT * 20)))
    _insert_ordered(normal_rpr, spacing, _RPR_ORDER)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PITCH_PT)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)


def _setup_section(section: Any) -> None:
    section.page_width = Mm(PAGE_WIDTH_MM)
    section.page_height = Mm(PAGE_HEIGHT_MM)
    section.top_margin = Mm(MARGIN_TOP_MM)
    section.bottom_margin = Mm(MARGIN_BOTTOM_MM)
    section.left_margin = Mm(MARGIN_LEFT_MM)
    section.right_margin = Mm(MARGIN_RIGHT_MM)
    section.gutter = Mm(0)
    section.different_first_page_header_footer = True
    sect_pr = section._sectPr
    grid = sect_pr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect_pr.append(grid)
    # 22 lines: line pitch 28.95 pt (in twips). The 28 characters come from condensed runs
    # (see CONDENSE_PT), not from a character grid.
    grid.attrib.pop(qn("w:charSpace"), None)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH_PT * 20)))


def _mark_size_pt(agency: str) -> float:
    # The mark spans at most ~90% of the text width; 22-36 pt is the usual range for letters.
    fit = TEXT_WIDTH_MM * 0.9 / MM_PER_PT / max(len(agency), 1)
    return max(22.0, min(36.0, round(fit)))


def _first_page_header(section: Any, agency: str) -> None:
    """Red agency mark and the upper double rule (thick over thin), only on page 1."""
    header = section.first_page_header
    header.is_linked_to_previous = False
    mark = header.paragraphs[0]
    size = _mark_size_pt(agency)
    overhang = (RULE_LENGTH_MM - TEXT_WIDTH_MM) / 2
    _format(
        mark,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line_pt=size * 1.15,
        left_mm=-overhang,
        right_mm=-overhang,
        snap_to_grid=False,
    )
    _add_run(mark, agency, FONT_XIAOBIAOSONG, size, color=RED)
    # sz 24 (3 pt) draws a ~0.9 mm line over a ~0.1 mm one; 7 pt from the text puts the rule
    # about 4 mm under the glyphs (measured on the PDF).
    _set_border(mark, "bottom", "thickThinMediumGap", 24, 7)


def _footers(section: Any, document: Any) -> None:
    """Page 1: the lower double rule (thin over thick), no page number. Later pages: — N —."""
    first = section.first_page_footer
    first.is_linked_to_previous = False
    rule = first.paragraphs[0]
    overhang = (RULE_LENGTH_MM - TEXT_WIDTH_MM) / 2
    _format(rule, line_pt=2, left_mm=-overhang, right_mm=-overhang, snap_to_grid=False)
    _add_run(rule, "", FONT_FANGSONG, 1)
    _set_border(rule, "bottom", "thinThickMediumGap", 24, 0)

    # 4号 半角 numbers between dashes, odd pages right and even pages left, one character in.
    document.settings.odd_and_even_pages_header_footer = True
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        inset_mm = PAGE_NO_PT * MM_PER_PT
        _format(
            paragraph,
            align=align,
            line_pt=PAGE_NO_PT * 1.2,
            left_mm=inset_mm if align == WD_ALIGN_PARAGRAPH.LEFT else 0.0,
            right_mm=inset_mm if align == WD_ALIGN_PARAGRAPH.RIGHT else 0.0,
            after_pt=8,
            snap_to_grid=False,
        )
        _add_run(paragraph, "— ", FONT_SONGTI, PAGE_NO_PT)
        field_run = _page_field(paragraph)
        _set_fonts(field_run.find(qn("w:r")).get_or_add_rPr(), FONT_SONGTI)
        _add_run(paragraph, " —", FONT_SONGTI, PAGE_NO_PT)


def _page_field(paragraph: Any) -> Any:
    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), " PAGE ")
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), str(round(PAGE_NO_PT * 2)))
    rpr.append(size)
    run.append(rpr)
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    simple.append(run)
    paragraph._p.append(simple)
    return simple


def _body_paragraph(document: Any, text: str = "", **kwargs: Any) -> Any:
    paragraph = document.add_paragraph()
    _format(paragraph, **kwargs)
    if text:
        _add_run(paragraph, text)
    return paragraph


def _add_table(document: Any, table: Table) -> None:
    if any(len(row) != len(table.headers) for row in table.rows):
        raise ValueError("every table row needs one cell per header")
    grid = document.add_table(rows=1 + len(table.rows), cols=len(table.headers))
    grid.style = document.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    # Narrow cell margins (1.5 mm) so that four-character headers such as 时序进度 fit a line.
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(round(1.5 / MM_PER_PT * 20)))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    _insert_ordered(grid._tbl.tblPr, margins, _TBLPR_ORDER)
    for row_index, values in enumerate((table.headers, *table.rows)):
        row = grid.rows[row_index]
        if row_index == 0:
            # Repeat the header row on every page the table runs over.
            header_flag = OxmlElement("w:tblHeader")
            row._tr.get_or_add_trPr().append(header_flag)
        for col, value in enumerate(values):
            cell = row.cells[col]
            cell.width = Mm(table.widths_mm[col])
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            paragraph = cell.paragraphs[0]
            centred = row_index == 0 or col not in (1, 2)
            _format(
                paragraph,
                align=WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.LEFT,
                line_pt=TABLE_PT * 1.5,
                snap_to_grid=False,
            )
            _add_run(paragraph, value, FONT_HEITI if row_index == 0 else FONT_FANGSONG, TABLE_PT)
    for col, width in enumerate(table.widths_mm):
        grid.columns[col].width = Mm(width)


def _text_width_pt(text: str, size_pt: float = BODY_PT) -> float:
    # Full-width characters take one em, ASCII (digits of a date) half of one.
    return sum(size_pt / 2 if ch.isascii() else size_pt for ch in text)


def render_letter(content: LetterContent, path: Path) -> Path:
    """Write ``content`` as a .docx at ``path`` (parent folders are created); returns ``path``."""
    document = Document()
    _setup_styles(document)
    section = document.sections[0]
    _setup_section(section)
    # The mark sits in the first-page header so that it can start above the 37 mm top margin;
    # its glyphs start about 0.6 mm below the header's top (measured on the PDF).
    section.header_distance = Mm(MARK_TOP_MM - 0.6)
    section.footer_distance = Mm(BOTTOM_RULE_MM)
    _first_page_header(section, content.agency)
    _footers(section, document)

    # Remove the empty paragraph python-docx's template starts with.
    body = document.element.body
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._p)

    # Document number: flush right under the rule. The body starts under the header, which
    # already leaves about 7/8 of a 3号 character (5 mm) between rule and number.
    _body_paragraph(document, content.letter_no, align=WD_ALIGN_PARAGRAPH.RIGHT)
    for _ in range(2):  # two lines between the document number and the title
        _body_paragraph(document)
    title = document.add_paragraph()
    _format(title, align=WD_ALIGN_PARAGRAPH.CENTER, line_pt=TITLE_PT * 1.5, snap_to_grid=False)
    for index, line in enumerate(content.title.split("\n")):
        run = _add_run(title, line, FONT_XIAOBIAOSONG, TITLE_PT)
        if index:
            run._r.insert(run._r.index(run._r.find(qn("w:t"))), OxmlElement("w:br"))
    _body_paragraph(document)  # one line under the title
    _body_paragraph(document, f"{content.recipient}：", align=WD_ALIGN_PARAGRAPH.LEFT)

    for block in content.blocks:
        if isinstance(block, Paragraph):
            _body_paragraph(document, block.text, first_line_chars=2)
        elif isinstance(block, Heading):
            heading = _body_paragraph(document, first_line_chars=2, keep_with_next=True)
            _add_run(heading, block.text, FONT_HEITI)
        elif isinstance(block, SubHeading):
            paragraph = _body_paragraph(document, first_line_chars=2)
            _add_run(paragraph, block.heading, FONT_KAITI)
            if block.text:
                _add_run(paragraph, block.text)
        else:
            _add_table(document, block)
            _body_paragraph(document, line_pt=LINE_PITCH_PT / 2)

    # The last paragraph, the seal space, signature and date stay on one page.
    last = document.paragraphs[-1]
    last.paragraph_format.keep_with_next = True
    for _ in range(2):  # room for the hand-stamped seal over signature and date
        _body_paragraph(document, keep_with_next=True)
    # Date: right, four characters in; the signature centred over the date.
    date_right = 4 * CHAR_PITCH_PT
    date_width = _text_width_pt(content.date_cn)
    sig_width = _text_width_pt(content.signature)
    sig_right = max(0.0, date_right + date_width / 2 - sig_width / 2)
    _body_paragraph(
        document,
        content.signature,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        right_pt=sig_right,
        keep_with_next=True,
    )
    _body_paragraph(
        document,
        content.date_cn,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        right_pt=date_right,
        keep_with_next=content.contact_line is not None,
    )
    if content.contact_line:
        _body_paragraph(document, f"（{content.contact_line}）", first_line_chars=2)

    props = document.core_properties
    props.title = content.title_text
    props.author = content.signature
    props.last_modified_by = content.signature
    props.subject = content.letter_no
    props.keywords = content.kind
    props.comments = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


# --- PDF via LibreOffice ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfResult:
    path: Path | None
    skipped_reason: str | None = None  # Chinese, for the operator, when no PDF was made
    seconds: float | None = None  # wall time of the LibreOffice run that made it


def _find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def write_fontconfig(work_dir: Path) -> Path:
    """Write ``work_dir/fonts.conf``: the system (or caller's) fontconfig, then our aliases.

    Point ``FONTCONFIG_FILE`` at it to render with the official font names mapped.
    """
    base = os.environ.get("FONTCONFIG_FILE") or "/etc/fonts/fonts.conf"
    conf = work_dir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        f'  <include ignore_missing="yes">{_xml_escape(base)}</include>\n'
        f"  <include>{_xml_escape(str(FONTS_CONF))}</include>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def convert_to_pdf(
    docx_paths: Sequence[Path], out_dir: Path | None = None, *, timeout: float = 180.0
) -> list[PdfResult]:
    """Convert .docx files to PDF with one LibreOffice run (each start costs about a second).

    The PDF of ``x.docx`` is ``out_dir/x.pdf`` (default: beside the .docx). LibreOffice runs
    with a throw-away profile (so it never collides with a desktop session or a parallel run)
    and with ``letters_fonts.conf`` in its fontconfig. Nothing raises for a missing LibreOffice,
    a timeout or a failed conversion: the result says why in Chinese and the .docx stays.
    """
    if not docx_paths:
        return []
    missing = [p for p in docx_paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Word 文件不存在：{missing[0]}")
    soffice = _find_soffice()
    if soffice is None:
        reason = (
            "未找到 LibreOffice（soffice 命令），已生成 Word 文档，未生成 PDF；"
            "安装 Debian 软件包 libreoffice-writer-nogui 后可生成 PDF。"
        )
        return [PdfResult(None, reason) for _ in docx_paths]
    started = time.monotonic()
    results: list[PdfResult] = []
    with tempfile.TemporaryDirectory(prefix="lm-soffice-") as tmp:
        work = Path(tmp)
        env = dict(os.environ)
        env["FONTCONFIG_FILE"] = str(write_fontconfig(work))
        env["HOME"] = str(work)  # some LibreOffice code paths still look in $HOME
        targets = [(out_dir or p.parent).resolve() / (p.stem + ".pdf") for p in docx_paths]
        by_dir: dict[Path, list[Path]] = {}
        for docx_path, pdf in zip(docx_paths, targets, strict=True):
            pdf.unlink(missing_ok=True)  # a stale PDF must not pass for a new one
            by_dir.setdefault(pdf.parent, []).append(docx_path.resolve())
        outcome: dict[Path, tuple[str | None, str]] = {}
        for target_dir, paths in by_dir.items():
            target_dir.mkdir(parents=True, exist_ok=True)
            result = _run_soffice(soffice, work, target_dir, paths, env, timeout)
            for docx_path in paths:
                outcome[docx_path] = result
        elapsed = time.monotonic() - started
        for docx_path, pdf in zip(docx_paths, targets, strict=True):
            error, output = outcome[docx_path.resolve()]
            if error is None and pdf.is_file():
                results.append(PdfResult(pdf, None, elapsed))
            else:
                reason = error or (
                    f"LibreOffice 未生成 PDF 文件，已保留 Word 文档。输出：{output or '无'}"
                )
                results.append(PdfResult(None, reason, elapsed))
    return results


def _run_soffice(
    soffice: str,
    work: Path,
    out_dir: Path,
    paths: list[Path],
    env: dict[str, str],
    timeout: float,
) -> tuple[str | None, str]:
    """``(error, output)``: error is None when LibreOffice exited normally."""
    profile = (work / "profile").as_uri()
    command = [
        soffice,
        f"-env:UserInstallation={profile}",
        "--headless",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        "pdf:writer_pdf_Export",
        "--outdir",
        str(out_dir),
        *(str(p) for p in paths),
    ]
    # Own process group: on a timeout the whole LibreOffice tree (oosplash, soffice.bin) goes.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=work,
        start_new_session=True,
    )
    try:
        raw, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return f"LibreOffice 转换超时（超过 {timeout:.0f} 秒），已保留 Word 文档，未生成 PDF。", ""
    output = raw.decode("utf-8", "replace").strip()[-300:]
    if process.returncode != 0:
        return f"LibreOffice 转换失败（退出码 {process.returncode}）：{output or '无输出'}", output
    return None, output


def to_pdf(docx_path: Path, out_dir: Path | None = None, *, timeout: float = 120.0) -> PdfResult:
    """PDF beside ``docx_path`` (or in ``out_dir``); see ``convert_to_pdf``."""
    return convert_to_pdf([docx_path], out_dir, timeout=timeout)[0]
