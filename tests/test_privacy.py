from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livelihood_monitor.privacy import (
    contains_unmasked_pii,
    is_valid_id_card,
    mask_contact,
    mask_pii,
)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
FULL_WIDTH = str.maketrans("0123456789+-Xx", "０１２３４５６７８９＋－Ｘｘ")


def with_check_digit(first17: str) -> str:
    """Append the GB 11643 check character (computed here independently of the module)."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


VALID_ID = with_check_digit("32012319900101123")  # 320123199001011234 style, real checksum
GB_EXAMPLE_ID = "11010519491231002X"  # the worked example in GB 11643-1999


# --- is_valid_id_card ----------------------------------------------------------------------------


def test_valid_id_cards() -> None:
    assert is_valid_id_card(VALID_ID)
    assert is_valid_id_card(GB_EXAMPLE_ID)
    assert is_valid_id_card(GB_EXAMPLE_ID.lower())
    assert is_valid_id_card(VALID_ID.translate(FULL_WIDTH))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "110105194912310021",  # wrong check digit (should be X)
        "11010519491231002",  # 17 characters
        "1101051949123100211",  # 19 characters
        "11010519491331002X",  # month 13 (check digit recomputed below would not help)
        "X10105194912310021",
        "11010519491231002Y",
        " 11010519491231002X",
    ],
)
def test_invalid_id_cards(value: str) -> None:
    assert not is_valid_id_card(value)


def test_id_with_right_checksum_but_impossible_birth_date_is_invalid() -> None:
    assert not is_valid_id_card(with_check_digit("11010519490230002"))  # 30 February


# --- mask_pii: examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("请联系13812345678谢谢", "请联系138****5678谢谢"),
        ("电话138-1234-5678", "电话138****5678"),
        ("手机 138 1234 5678。", "手机 138****5678。"),
        ("+86 13812345678", "+86 138****5678"),
        ("+8613812345678", "+86 138****5678"),
        ("0086-138-1234-5678", "0086-138****5678"),
        ("（+86）13812345678", "（+86）138****5678"),
        ("手机１３８１２３４５６７８", "手机138****5678"),
        (f"身份证{VALID_ID}，", "身份证320123********" + VALID_ID[-4:] + "，"),
        (
            f"身份证{VALID_ID[:6]} {VALID_ID[6:14]} {VALID_ID[14:]}",
            "身份证320123********" + VALID_ID[-4:],
        ),
        (f"身份证号{GB_EXAMPLE_ID.lower()}。", "身份证号110105********002x。"),
        ("身份证320123199001011230", "身份证**************1230"),  # bad checksum: still hidden
        ("邮箱abc.def@example.com谢谢", "邮箱a***@example.com谢谢"),
        ("13812345678@qq.com", "1***@qq.com"),
        ("ａｂｃ＠ｑｑ．ｃｏｍ", "a***@qq.com"),
        ("卡号6222 0212 3456 7890 123", "卡号***************0123"),
        ("卡号6222-0212-3456-7890", "卡号************7890"),
        ("卡号6222021234567890", "卡号************7890"),
        ("电话0514-87654321", "电话0514-******21"),
        ("(0514)8765432", "(0514)*****32"),
        ("（０５１４）８７６５４３２", "(0514)*****32"),
        ("051487654321", "0514-******21"),
        ("01087654321", "010-******21"),
        ("联系电话：87654321", "联系电话：******21"),
        ("热线 8765-4321", "热线 ******21"),
    ],
)
def test_mask_pii_examples(raw: str, expected: str) -> None:
    assert mask_pii(raw) == expected
    assert contains_unmasked_pii(raw)
    assert not contains_unmasked_pii(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2025-03-05",
        "2025年3月5日下午3点",
        "2025/03/05 14:30",
        "2025.03.05",
        "2023-2025年度",
        "共投入1200元",
        "12,000,000元",
        "3栋2单元501",
        "12幢3单元1202室",
        "邮编225000",
        "第12345号",
        "12345热线",
        "联系时间20250305",  # an eight-digit date after a contact word
        "扬人常民函〔2025〕12号",
        "PM2.5浓度下降12.5%",
        "电梯(app)坏了3天",
    ],
)
def test_mask_pii_leaves_ordinary_numbers(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_unmasked_pii(text)


def test_bare_eight_digits_without_contact_word_are_kept() -> None:
    assert mask_pii("本项目投资87654321元") == "本项目投资87654321元"


def test_text_outside_masked_spans_is_unchanged() -> None:
    raw = "ＡＢＣ小区（３栋）住户，电话１３８１２３４５６７８。"
    assert mask_pii(raw) == "ＡＢＣ小区（３栋）住户，电话138****5678。"


# --- mask_contact --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("张先生 13812345678", "138****5678"),  # the name identifies the resident: dropped
        ("abc@example.com", "a***@example.com"),
        ("a@b.com / 0514-87654321", "a***@b.com；0514-******21"),
        ("87654321", "******21"),
        ("电话：87654321", "******21"),
        ("张先生", "***"),
        ("", "***"),
        (f"{VALID_ID}", "***"),  # an ID number is not a way to contact anyone
    ],
)
def test_mask_contact(value: str, expected: str) -> None:
    assert mask_contact(value) == expected


# --- properties ----------------------------------------------------------------------------------

# Filler text: common characters, none of which can form a contact word (电话、号码 ...).
FILLER = st.text(
    alphabet=st.sampled_from(
        list(
            "小区楼道灯坏了希望尽快维修谢谢老旧改造加装梯路积水问题反映居民业主物业公司社停车位不足噪音扰垃圾清运及时学校食堂医院排队，。、；！？"
        )
    ),
    min_size=1,
    max_size=8,
)
SEPARATORS = st.sampled_from(["", " ", "-", " - "])


def _full_width_sometimes(draw: st.DrawFn, text: str) -> str:
    return text.translate(FULL_WIDTH) if draw(st.booleans()) else text


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str]:
    digits = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    sep = draw(SEPARATORS)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "86-", "(+86)"]))
    written = f"{prefix}{digits[:3]}{sep}{digits[3:7]}{sep}{digits[7:]}"
    return _full_width_sometimes(draw, written), digits


@st.composite
def id_cards(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from("123456")) + draw(st.text("0123456789", min_size=5, max_size=5))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)))
    sequence = draw(st.text("0123456789", min_size=3, max_size=3))
    number = with_check_digit(region + born.strftime("%Y%m%d") + sequence)
    if draw(st.booleans()):
        number = number.lower()
    sep = draw(st.sampled_from(["", " ", "-"]))
    written = f"{number[:6]}{sep}{number[6:14]}{sep}{number[14:]}"
    return _full_width_sometimes(draw, written), number.upper()


@st.composite
def bank_cards(draw: st.DrawFn) -> tuple[str, str]:
    length = draw(st.integers(min_value=13, max_value=19))
    digits = draw(st.sampled_from("3456789")) + draw(
        st.text("0123456789", min_size=length - 1, max_size=length - 1)
    )
    sep = draw(st.sampled_from(["", " ", "-"]))
    written = sep.join(digits[i : i + 4] for i in range(0, length, 4))
    return _full_width_sometimes(draw, written), digits


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str]:
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    local = draw(st.sampled_from(alnum)) + draw(st.text(alnum + "._", max_size=12))
    labels = draw(st.lists(st.text(alnum, min_size=1, max_size=8), min_size=1, max_size=3))
    tld = draw(st.sampled_from(["com", "cn", "net", "org", "gov.cn"]))
    address = f"{local}@{'.'.join(labels)}.{tld}"
    return address, address


PII = st.one_of(mobiles(), id_cards(), bank_cards(), emails())


@st.composite
def ordinary_numbers(draw: st.DrawFn) -> str:
    day = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31)))
    return draw(
        st.sampled_from(
            [
                day.isoformat(),
                f"{day.year}年{day.month}月{day.day}日",
                day.strftime("%Y/%m/%d"),
                day.strftime("%Y.%m.%d"),
                f"{draw(st.integers(1, 99999))}元",
                f"{draw(st.integers(1, 999))}.{draw(st.integers(0, 9))}万元",
                f"{draw(st.integers(1, 40))}栋{draw(st.integers(1, 9))}单元{draw(st.integers(101, 3304))}",
                f"{draw(st.integers(0, 23))}:{draw(st.integers(10, 59))}",
                f"{draw(st.integers(1, 100))}%",
            ]
        )
    )


DIGIT_RUN = re.compile(r"[0-9０-９Xx]+(?:[ \-－][0-9０-９Xx]+)*")


def _digit_runs(text: str) -> list[str]:
    fold = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")
    return [re.sub(r"[ \-－]", "", run).translate(fold).upper() for run in DIGIT_RUN.findall(text)]


@settings(max_examples=300)
@given(st.lists(st.tuples(FILLER, PII, FILLER, ordinary_numbers()), min_size=1, max_size=4), FILLER)
def test_generated_pii_never_survives(
    pieces: list[tuple[str, tuple[str, str], str, str]], tail: str
) -> None:
    text = "".join(f"{a}{written}{b}{number}" for a, (written, _), b, number in pieces) + tail
    masked = mask_pii(text)
    for _, (written, core), _, number in pieces:
        assert written not in masked
        assert number in masked  # dates, amounts, house numbers are untouched
        if "@" not in core:
            assert all(core not in run for run in _digit_runs(masked))
    assert not contains_unmasked_pii(masked)
    assert mask_pii(masked) == masked  # idempotent


@given(st.lists(st.tuples(FILLER, ordinary_numbers()), max_size=6), FILLER)
def test_ordinary_numbers_pass_through(pieces: list[tuple[str, str]], tail: str) -> None:
    text = "".join(a + number for a, number in pieces) + tail
    assert mask_pii(text) == text
    assert not contains_unmasked_pii(text)


@given(id_cards())
def test_generated_id_cards_are_valid(card: tuple[str, str]) -> None:
    assert is_valid_id_card(card[1])
    broken = card[1][:17] + ("0" if card[1][17] != "0" else "1")
    assert not is_valid_id_card(broken)
