from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opencc import OpenCC

from livelihood_monitor.normalize import normalize_text

SHARED = Path(
    os.environ.get("LM_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared")
)
SEED_DOC = SHARED / "data" / "seed" / "yangzhou-npc-standing-committee-report-2025.txt"

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# A bracket right after a Chinese character whose content starts like toned pinyin.
LEFTOVER_ANNOTATION = re.compile(rf"[{CJK}]\s*[(（]\s*[a-zü]*[{TONE_MARKS}]")

T2S = OpenCC("t2s")


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED_DOC.is_file():
        pytest.skip(f"../shared 不存在（{SEED_DOC}）：跳过种子文档测试")
    return SEED_DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_normalized(seed_text: str) -> str:
    return normalize_text(seed_text)


# --- the real seed document ----------------------------------------------------------------------


def test_seed_doc_has_annotations_and_traditional_to_begin_with(seed_text: str) -> None:
    # Guards the assertions below against a seed file that silently became easy.
    assert len(LEFTOVER_ANNOTATION.findall(seed_text)) > 500
    assert T2S.convert(seed_text) != seed_text


def test_seed_doc_no_pinyin_annotation_left(seed_normalized: str) -> None:
    leftovers = [m.group(0) for m in LEFTOVER_ANNOTATION.finditer(seed_normalized)]
    assert leftovers == []


def test_seed_doc_no_traditional_character_left(seed_normalized: str) -> None:
    assert T2S.convert(seed_normalized) == seed_normalized


def test_seed_doc_keeps_real_parentheses(seed_normalized: str) -> None:
    # The only two real brackets in the document (everything else is a pinyin reading).
    assert "促进条例(草案)" in seed_normalized
    assert "宁扬城际(郊)铁路" in seed_normalized


def test_seed_doc_reads_as_simplified_chinese(seed_normalized: str) -> None:
    assert seed_normalized.startswith(
        "2024年工作回顾:\n过去一年,在市委的坚强领导下,市人大常委会坚持"
    )
    assert "习近平新时代中国特色社会主义思想" in seed_normalized


def test_seed_doc_is_stable_under_a_second_pass(seed_normalized: str) -> None:
    assert normalize_text(seed_normalized) == seed_normalized


# --- pinyin annotations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("過(guò)去", "过去"),
        ("過（guò）去", "过去"),
        ("過 (guò)去", "过去"),
        ("過　（guò）去", "过去"),  # ideographic space before a full-width bracket
        ("中國(zhōng guó)人", "中国人"),
        ("中國(zhōngguó)人", "中国人"),
        ("西安(xī'ān)", "西安"),
        ("習近平(xí jìn píng)", "习近平"),
        ("好嗎(ma)?", "好吗?"),
        ("我(wǒ)們(men)", "我们"),
        ("綠(lǜ)色", "绿色"),
        ("綠(lv)色", "绿色"),  # keyboard spelling of ü
        ("綠(lü4)色", "绿色"),  # tone digits
        ("會(HUÌ)議", "会议"),
        ("過(guo)去", "过去"),  # toneless
        ("過（ｇｕò）去", "过去"),  # full-width letters inside
        ("欸(ê̄)", "欸"),  # a syllable with no precomposed form keeps its combining macron
        ("小區(xiǎoqū)改造", "小区改造"),
        ("张三(Zhang San)", "张三"),
    ],
)
def test_pinyin_annotation_removed(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_decomposed_tone_marks_are_composed_first() -> None:
    raw = unicodedata.normalize("NFD", "過(guò)去一年(nián)")
    assert raw != unicodedata.normalize("NFC", raw)  # really decomposed
    assert normalize_text(raw) == "过去一年"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("電梯(app)", "电梯(app)"),
        ("條例(草案)", "条例(草案)"),
        ("城際（郊）鐵路", "城际（郊）铁路"),
        ("PM2.5(细颗粒物)", "PM2.5(细颗粒物)"),
        ("新(改、扩)建", "新(改、扩)建"),
        ("长江(Yangtze)", "长江(Yangtze)"),
        ("扫微信(WeChat)二维码", "扫微信(WeChat)二维码"),
        ("过去(guò)", "过去(guò)"),  # a reading of 过, but it follows 去
        ("(guò)去", "(guò)去"),  # nothing before the bracket
        ("(一)加强", "(一)加强"),
        ("张三(Zhang Si)", "张三(Zhang Si)"),  # 三 is never read si
    ],
)
def test_real_parentheses_stay(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


# --- folding and whitespace ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   ", ""),
        (" \t\n\u3000\n ", ""),
        ("ＰＭ２．５浓度", "PM2.5浓度"),
        ("ＰＭ２．５（细颗粒物）", "PM2.5（细颗粒物）"),  # Chinese brackets stay full width
        ("你好，世界！对吗？是的；好：", "你好，世界！对吗？是的；好："),
        ("１０：３０开会", "10:30开会"),  # a colon between digits is folded
        ("ｅｍａｉｌ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email@example.com"),
        ("a\u3000\u3000b", "a b"),
        ("a \t  b", "a b"),
        ("  第一行  \n\t第二行\t", "第一行\n第二行"),
        ("甲\n\n\n\n乙", "甲\n\n乙"),
        ("甲\r\n乙\r丙", "甲\n乙\n丙"),
        ("零\u200b宽\ufeff字\u200d符", "零宽字符"),
        ("控\x00制\x07字\x1b符\x7f", "控制字符"),
        ("電梯壞了", "电梯坏了"),
    ],
)
def test_folding_and_whitespace(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@given(
    st.text(
        alphabet=st.sampled_from(
            list("过去一年市人大常委会電梯壞了abcXYZ019ＡＢＣ１２３　 \t\n\r\u200b\x00，。（）(ā")
        ),
        max_size=80,
    )
)
def test_output_invariants(raw: str) -> None:
    out = normalize_text(raw)
    assert out == out.strip(" \n")
    assert "  " not in out
    assert "\n\n\n" not in out
    assert not re.search(r" \n|\n |[\t\r\x00\u200b\u3000]", out)
    assert not re.search("[Ａ-Ｚａ-ｚ０-９]", out)
    assert unicodedata.is_normalized("NFC", out)


@given(
    st.text(alphabet=st.sampled_from(list("过去一年市人大常委会電梯壞了abc019 \n，")), max_size=60)
)
def test_idempotent_without_brackets(raw: str) -> None:
    once = normalize_text(raw)
    assert normalize_text(once) == once


# --- Traditional → Simplified ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # OpenCC's t2s phrase table turns Simplified 一坏 into 一坯; Simplified text must not change.
        ("电梯一坏就是一周", "电梯一坏就是一周"),
        ("電梯一壞就是一周", "电梯一坏就是一周"),
        ("电梯一坏就是一周，麻煩了", "电梯一坏就是一周，麻烦了"),  # only the Traditional clause
        ("頭髮乾了", "头发干了"),
    ],
)
def test_traditional_to_simplified(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_concurrent_use_gives_the_same_results() -> None:
    from concurrent.futures import ThreadPoolExecutor

    inputs = [f"第{i}條：過(guò)去一年(nián)電梯壞了 ＰＭ２．５" for i in range(200)]
    expected = [normalize_text(text) for text in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(normalize_text, inputs)) == expected
    assert expected[0] == "第0条：过去一年电梯坏了 PM2.5"
