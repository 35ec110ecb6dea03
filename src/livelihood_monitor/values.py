"""Parsing cell values as units and residents write them. Errors are Chinese, for operators."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0, including its 1900 leap-year quirk
_CN_DATE = re.compile(
    r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*[日号]?"
    r"(?:[\sT]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def clean(value: object) -> str:
    """A cell as trimmed text with full-width digits and letters folded."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_datetime(value: object) -> datetime:
    """Accept ``2025-03-05``, ``2025/3/5 14:20``, ``2025年3月5日``, ISO 8601, Excel serials, and
    datetimes from XLSX cells. Naive values are Asia/Shanghai."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(), SHANGHAI)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_excel_serial(float(value))
    text = clean(value)
    if not text:
        raise ValueError("日期为空")
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _from_excel_serial(float(text))
    match = _CN_DATE.match(text)
    if not match:
        raise ValueError(
            f"无法识别的日期“{text[:40]}”（应为 2025-03-05、2025/3/5 14:20 或 2025年3月5日）"
        )
    y, mo, d, h, mi, s, tz = match.groups()
    try:
        parsed = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError as exc:
        raise ValueError(f"不存在的日期“{text[:40]}”") from exc
    if tz:
        offset = datetime.fromisoformat(f"2000-01-01T00:00:00{'+00:00' if tz == 'Z' else tz}")
        return parsed.replace(tzinfo=offset.tzinfo).astimezone(SHANGHAI)
    return parsed.replace(tzinfo=SHANGHAI)


def _from_excel_serial(serial: float) -> datetime:
    if not 1 <= serial < 2958466:
        raise ValueError(f"无法识别的 Excel 日期序号 {serial}")
    moment = datetime.combine(_EXCEL_EPOCH, time()) + timedelta(days=serial)
    return moment.replace(microsecond=0, tzinfo=SHANGHAI)


def parse_date(value: object) -> date:
    return parse_datetime(value).date()


def parse_number(value: object) -> float:
    """A number as written in a sheet: ``1,200``, ``１２００``, ``85%`` (→ 85)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = clean(value).replace(",", "").replace("，", "").rstrip("%").strip()
    if not text:
        raise ValueError("数值为空")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"“{clean(value)[:40]}”不是数字") from None


def parse_percent(value: object) -> float:
    """Progress as units write it: ``45``, ``45%``, ``0.45`` all mean 45 percent."""
    text = clean(value)
    number = parse_number(value)
    if not text.endswith("%") and 0 < number < 1:
        return round(number * 100, 4)
    return number
