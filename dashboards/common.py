"""What every page shares: settings, the signed-in user, cached query results, labels, colours.

Results are cached for a short time; connections never are (an open one blocks the flows).
Every cached function takes the warehouse path as a string and plain values, so the cache key
is cheap to hash. After an editor's correction ``clear_caches`` drops them all.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from livelihood_monitor import queries
from livelihood_monitor.config import Settings, load_settings
from livelihood_monitor.hot_issues import HotIssue
from livelihood_monitor.users import User

CACHE_TTL_S = 30

STATUS_LABELS = {
    "completed": "已完成",
    "ahead": "超时序",
    "on_track": "符合时序",
    "behind": "滞后",
    "seriously_behind": "严重滞后",
    "missing": "未填报",
    None: "暂无评估",
}
STATUS_COLOURS = {
    "completed": "#1b7f3b",
    "ahead": "#2e9e5b",
    "on_track": "#7cc47f",
    "behind": "#f0a202",
    "seriously_behind": "#d62828",
    "missing": "#8d99ae",
    None: "#d9d9d9",
}
CHECKPOINT_LABELS = {"start": "年初", "mid": "年中", "end": "年末"}
CHANNEL_LABELS = {
    "observation_point": "民情观察点",
    "direct_channel": "民意直通车",
    "meeting_day": "统一见面日",
    "hotline": "热线",
    "other": "其他",
}
MESSAGE_TYPE_LABELS = {
    "complaint": "投诉",
    "suggestion": "建议",
    "inquiry": "咨询",
    "praise": "表扬",
    None: "未识别",
}
LETTER_KIND_LABELS = {
    "feedback_letter": "意见反馈函",
    "reminder_letter": "进度提醒函",
    "urge_letter": "催办函",
}
LETTER_STATUS_LABELS = {
    "draft": "草稿",
    "issued": "已发出",
    "replied": "已回函",
    "overdue": "逾期未回",
    "closed": "已办结",
}
LETTER_ACTION_LABELS = {
    "drafted": "起草",
    "issued": "发出",
    "replied": "收到回函",
    "reply_added": "补充回函",
    "overdue": "标记逾期",
    "urged": "起草催办函",
    "closed": "办结",
    "deleted": "删除草稿",
    "rendered": "生成文件",
}
METHOD_LABELS = {"auto": "自动", "manual": "人工"}
RATER_KIND_LABELS = {"resident": "群众", "deputy": "人大代表"}
RATINGS = ("满意", "基本满意", "不满意")
SAMPLE_CHARS = 60  # a hot issue's representative message, as shown in its table
# Streamlit's font "Source Sans" has no Chinese glyphs, so Chromium falls back per character,
# often to a 楷体 face. The @font-face adds a local CJK sans face to that family for CJK code
# points only, with the very same descriptors as Streamlit's own face (Chromium merges faces
# only when their weight ranges are identical), so icons and code keep their fonts. Bold text
# names the CJK family first, since a face covering weights 100-900 is never emboldened.
_CJK_LOCAL = ("Noto Sans CJK SC", "NotoSansCJKsc-Regular", "Source Han Sans SC", "PingFang SC")
CJK_FONT_CSS = (
    '@font-face { font-family: "Source Sans"; font-style: normal; font-weight: 100 900; '
    f"src: {', '.join(f'local({name!r})' for name in _CJK_LOCAL)}, local('Microsoft YaHei'); "
    "unicode-range: U+2E80-2FDF, U+3000-303F, U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF, "
    "U+FF00-FFEF; }\n"
    ".stApp :is(h1, h2, h3, h4, h5, h6, strong, b) { font-family: 'Noto Sans CJK SC', "
    "'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'Source Sans', sans-serif "
    "!important; }\n"
)
NO_PROJECT = "__none__"  # the "none of the projects" choice in selectors
_TERM_SPLIT = re.compile(r"[;；,，、|\s]+")


def settings() -> Settings:
    return load_settings()


def warehouse_path() -> str:
    return str(settings().warehouse)


# --- the signed-in user ----------------------------------------------------------------------


def current_user() -> User | None:
    """The user of this browser session (set by the login page), or None."""
    value = st.session_state.get("user")
    if not isinstance(value, dict):
        return None
    role = value.get("role")
    name = value.get("name")
    if role not in ("viewer", "editor") or not isinstance(name, str):
        return None
    return User(name, role)


def sign_in(user: User) -> None:
    st.session_state["user"] = {"name": user.name, "role": user.role}


def current_year() -> int | None:
    """The year chosen in the sidebar (app.py), if the warehouse has any."""
    value = st.session_state.get("year")
    return int(value) if isinstance(value, int) else None


# --- cached query results -----------------------------------------------------------------------


def clear_caches() -> None:
    """Drop every cached result, e.g. after an editor's correction, so each page shows it."""
    st.cache_data.clear()


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def years(warehouse: str) -> list[int]:
    return queries.years(Path(warehouse))


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def projects_overview(warehouse: str, year: int) -> pd.DataFrame:
    return queries.projects_overview(Path(warehouse), year)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def status_dates(warehouse: str, year: int) -> pd.DataFrame:
    return queries.status_dates(Path(warehouse), year)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def overview_page(warehouse: str, year: int, as_of: date) -> pd.DataFrame:
    return queries.overview_page(Path(warehouse), year, as_of)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def project_page(
    warehouse: str, year: int, code: str, unit: str, limit: int
) -> queries.ProjectDetail:
    return queries.project_page(Path(warehouse), year, code, unit, limit)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def opinion_page(
    warehouse: str, year: int, days: int, threshold: float, kind: str, limit: int
) -> queries.OpinionOverview:
    return queries.opinion_page(
        Path(warehouse), year, days, threshold=threshold, kind=kind, limit=limit
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def letters_page(warehouse: str, year: int, statuses: tuple[str, ...]) -> queries.LettersOverview:
    return queries.letters_page(Path(warehouse), year, statuses)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def quality_page(warehouse: str, run_id: str | None) -> queries.QualityOverview:
    return queries.quality_page(Path(warehouse), run_id)


# --- presentation helpers --------------------------------------------------------------------


def _ink(background: str) -> str:
    """Black or white text, whichever reads better on ``background`` (#rrggbb)."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#1f2328" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "white"


def status_badge(status: str | None) -> str:
    key = status if status in STATUS_COLOURS else None
    colour = STATUS_COLOURS[key]
    return (
        f'<span style="background:{colour};color:{_ink(colour)};border-radius:4px;'
        f'padding:1px 6px;font-size:0.8em">{html.escape(STATUS_LABELS[key])}</span>'
    )


def colour_bar(colour: str) -> str:
    """A thin coloured strip put above a metric, so counts per status read as status colours."""
    return f'<div style="height:6px;border-radius:3px;background:{colour};margin-bottom:2px"></div>'


def split_terms(value: object) -> list[str]:
    """Matched terms as stored (``"电梯;停工"``, or a list) → ``["电梯", "停工"]``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v).strip()]
    return [t for t in _TERM_SPLIT.split(str(value)) if t]


def highlight(text: str, terms: Iterable[str]) -> str:
    """HTML of ``text`` with every matched term in ``<mark>``; everything else escaped.

    Terms are found in the raw text and each piece is escaped on its own, so a term can never
    match inside an HTML entity, and newlines become ``<br>`` so the block stays one HTML block
    (Streamlit's Markdown then leaves the text alone: no stray emphasis from ``*`` or ``_``).
    """
    wanted = sorted({t for t in terms if t}, key=len, reverse=True)  # longest first
    pieces: list[str] = []
    if wanted:
        pattern = re.compile("|".join(re.escape(t) for t in wanted))
        pos = 0
        for match in pattern.finditer(text):
            pieces.append(html.escape(text[pos : match.start()]))
            pieces.append(f"<mark>{html.escape(match.group())}</mark>")
            pos = match.end()
        pieces.append(html.escape(text[pos:]))
    else:
        pieces.append(html.escape(text))
    return "".join(pieces).replace("\r\n", "\n").replace("\n", "<br>")


def _day(value: datetime | None) -> str:
    return value.astimezone(queries.SHANGHAI).strftime("%Y-%m-%d") if value else "—"


def shorten(text: str, chars: int) -> str:
    """``text`` on one line, cut to ``chars`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= chars else line[:chars] + "…"


def issues_table(
    issues: Sequence[HotIssue], project_names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Hot issues as the pages show them, hottest first; with a 项目 column when
    ``project_names`` is given (民情 lists every project's issues)."""
    columns: dict[str, list[object]] = {
        "热度": [i.heat for i in issues],
        "条数": [i.count for i in issues],
    }
    if project_names is not None:
        columns["项目"] = [
            f"{i.project} {project_names.get(i.project, '')}".strip() if i.project else "—"
            for i in issues
        ]
    columns["地点"] = [i.place or "—" for i in issues]
    columns["关键词"] = [i.label() for i in issues]
    columns["代表性意见"] = [shorten(i.sample, SAMPLE_CHARS) for i in issues]
    columns["首次反映"] = [_day(i.first_seen) for i in issues]
    columns["最近反映"] = [_day(i.last_seen) for i in issues]
    return pd.DataFrame(columns)


_ISSUE_HELP = {
    "热度": "条数加点赞（递减计入），按最近反映距今的时间衰减（半衰期 30 天）",
    "条数": "归入该问题的相近意见条数",
    "关键词": "该组意见共同的匹配词和用语",
    "代表性意见": "该组第一条意见（个人信息已遮盖）",
}
_CELL = "padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top"
_ISSUE_NOWRAP = {"热度", "条数", "地点", "首次反映", "最近反映"}


def issues_html(issues: Sequence[HotIssue], project_names: Mapping[str, str] | None = None) -> str:
    """``issues_table`` as one HTML table, every cell escaped: residents' words are shown as
    text, never read as Markdown or markup (the same rule as the message list)."""
    frame = issues_table(issues, project_names)
    head = "".join(
        f'<th style="{_CELL};text-align:left;white-space:nowrap" '
        f'title="{html.escape(_ISSUE_HELP.get(c, ""))}">{html.escape(c)}</th>'
        for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            text = f"{value:.1f}" if column == "热度" else str(value)
            align = "right" if column in ("热度", "条数") else "left"
            nowrap = ";white-space:nowrap" if column in _ISSUE_NOWRAP else ""
            cells.append(f'<td style="{_CELL};text-align:{align}{nowrap}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table data-table="hot-issues" style="width:100%;border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def require_warehouse() -> str | None:
    """The warehouse path, or None after telling the user what to do when it is missing."""
    path = warehouse_path()
    if not Path(path).exists():
        st.warning(
            f"还没有数据仓库（{path}）。请在项目目录运行 `make demo`，"
            "或先运行 `livelihood-monitor init` 并导入项目清单。"
        )
        return None
    return path


def require_user() -> User | None:
    """Stop a page run that did not come through app.py's login (defence in depth)."""
    user = current_user()
    if user is None and not st.user.get("is_logged_in"):
        st.warning("请先登录。")
        st.stop()
    return user


def page_context() -> tuple[str, int]:
    """(warehouse, year) for a page, or stop the page after saying what to do next."""
    require_user()
    warehouse = require_warehouse()
    if warehouse is None:
        st.stop()
    assert warehouse is not None
    year = current_year()
    if year is None:
        st.info(
            "数据仓库中还没有项目清单。请运行 "
            "`livelihood-monitor registry import 清单文件 --year 年份`，或运行 `make demo`。"
        )
        st.stop()
    assert year is not None
    return warehouse, year


def truthy(value: object) -> bool:
    """A DuckDB BOOLEAN as pandas hands it over (True, numpy.bool_, None or NaN) → bool."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    return bool(value)


def fmt_pct(value: object, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    number = float(str(value))
    return f"{number:+.1f}" if signed else f"{number:.1f}%"
