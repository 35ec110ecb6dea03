from __future__ import annotations

from datetime import date, datetime

import pytest

from livelihood_monitor.values import (
    SHANGHAI,
    parse_date,
    parse_datetime,
    parse_number,
    parse_percent,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-03-05", datetime(2025, 3, 5, tzinfo=SHANGHAI)),
        ("2025/3/5 14:20", datetime(2025, 3, 5, 14, 20, tzinfo=SHANGHAI)),
        ("2025年3月5日", datetime(2025, 3, 5, tzinfo=SHANGHAI)),
        ("２０２５年３月５日", datetime(2025, 3, 5, tzinfo=SHANGHAI)),
        ("2025-03-05T01:00:00Z", datetime(2025, 3, 5, 9, 0, tzinfo=SHANGHAI)),
        ("2025-05-12T09:31:00+08:00", datetime(2025, 5, 12, 9, 31, tzinfo=SHANGHAI)),
        (45721, datetime(2025, 3, 5, tzinfo=SHANGHAI)),  # Excel serial
        ("45721.5", datetime(2025, 3, 5, 12, tzinfo=SHANGHAI)),
        (datetime(2025, 3, 5, 8, 0), datetime(2025, 3, 5, 8, 0, tzinfo=SHANGHAI)),
    ],
)
def test_dates_as_written(raw: object, expected: datetime) -> None:
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["6月底", "", "2025-02-30", "明天", None])
def test_unparseable_dates_say_why_in_chinese(raw: object) -> None:
    with pytest.raises(ValueError, match="日期"):
        parse_datetime(raw)


def test_parse_date_gives_calendar_date() -> None:
    assert parse_date("2025/12/31 23:59") == date(2025, 12, 31)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("45", 45.0), ("45%", 45.0), ("0.45", 45.0), (0.45, 45.0), ("100", 100.0), ("105", 105.0)],
)
def test_percent_forms(raw: object, expected: float) -> None:
    assert parse_percent(raw) == pytest.approx(expected)


def test_numbers_with_separators_and_full_width() -> None:
    assert parse_number("1,200") == 1200
    assert parse_number("１２００") == 1200
    with pytest.raises(ValueError, match="不是数字"):
        parse_number("约十个")
