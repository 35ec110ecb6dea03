"""Normalisation of Chinese text as it arrives from the web, sheets and residents.

``normalize_text`` is pure and deterministic. Steps, in this order (the order matters):

1. Unicode NFC, so decomposed tone marks (``u`` + U+0300) become ``ù`` before anything matches.
2. Line endings, control and zero-width characters, exotic spaces, full-width ASCII folding.
3. Pinyin annotations (``過(guò)去``) are removed. This runs *before* Traditional→Simplified:
   the reading is validated against the character it annotates, pypinyin knows readings of
   Traditional characters too, and OpenCC converts whole phrases better once the annotations
   no longer split them.
4. Traditional → Simplified with OpenCC ``t2s``, applied only to clauses that contain a
   Traditional character (t2s rewrites some Simplified phrases: ``一坏`` → ``一坯``).
5. Whitespace tidying.

Full-width folding policy: full-width letters, digits, the ideographic space and ASCII symbols
(``．％＋－／＠～`` ...) are folded to ASCII. The punctuation Chinese typography uses in full width
(GB/T 15834: ``，；！？（）：``) is kept, because folding it would corrupt ordinary Chinese
sentences and official numbering like ``（一）``/``（1）``. The one exception is a full-width colon
between ASCII letters/digits (``10：30``, ``Tel：138``), which is folded.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Protocol

from pypinyin import Style, pinyin

__all__ = ["normalize_text"]


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


# --- character classes -------------------------------------------------------------------------

# CJK ideographs: URO, extension A, compatibility ideographs, supplementary planes (B..H), and 〇.
_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Latin letters pinyin can use after NFC (ā á ǎ à ü ǘ ê ḿ ń ...), plus leftover combining marks
# for syllables with no precomposed form (ê̄).
_PINYIN_LETTERS = "a-zA-Z\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f"
# Separators allowed between syllables inside one annotation: space, apostrophe (xī'ān), hyphen.
_SYLLABLE_SEPARATORS = " \t'\u2019\u00b7\\-"

# Longest word we try to match one multi-syllable annotation against.
_MAX_ANNOTATED_CHARS = 8

# --- step 2: one translate table for everything that maps char -> char/nothing ----------------

# Full-width punctuation that is correct in Chinese text and therefore kept.
_KEEP_FULL_WIDTH = frozenset("，；！？（）：")


def _build_translate_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(0xFF01, 0xFF5F):
        if chr(code) not in _KEEP_FULL_WIDTH:
            table[code] = chr(code - 0xFEE0)
    # Spaces of every width become a plain space (the ideographic space U+3000 included).
    for code in (0x3000, 0x00A0, 0x1680, 0x202F, 0x205F, *range(0x2000, 0x200B)):
        table[code] = " "
    table[ord("\t")] = " "
    # Line-like separators become newlines ("\r\n" is replaced before translating).
    for code in (0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029):
        table[code] = "\n"
    # Zero-width and bidi-control characters carry no text; they break matching and dedup.
    for code in (0x00AD, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF):
        table[code] = None
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[code] = None
    # Remaining C0/C1 control characters (newline is kept above).
    for code in (*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0x85), *range(0x86, 0xA0)):
        table[code] = None
    return table


_TRANSLATE_TABLE = _build_translate_table()
# A cheap pre-check: most texts contain none of these, so the (slower) translate is skipped.
_NEEDS_TRANSLATE_RE = re.compile(
    "[" + "".join(f"\\U{code:08x}" for code in sorted(_TRANSLATE_TABLE)) + "]"
)
_COLON_BETWEEN_ASCII_RE = re.compile(r"(?<=[0-9A-Za-z])：(?=[0-9A-Za-z])")

# --- step 3: pinyin annotations ----------------------------------------------------------------

# A CJK character, optional spaces, a half- or full-width bracket holding latin letters (tone
# digits 1-5 allowed after letters, TONE3 style), the closing bracket. Whether the content really
# is a reading of the preceding character(s) is decided in Python, with pypinyin.
_ANNOTATION_RE = re.compile(
    rf"([{_CJK}])[ \t]*[(（][ \t]*"
    rf"([{_PINYIN_LETTERS}][{_PINYIN_LETTERS}1-5{_SYLLABLE_SEPARATORS}]{{0,80}}?)"
    r"[ \t]*[)）]"
)
_CJK_TAIL_RE = re.compile(rf"[{_CJK}]{{1,{_MAX_ANNOTATED_CHARS}}}$")
_SPLIT_SYLLABLES_RE = re.compile(f"[{_SYLLABLE_SEPARATORS}]+")

# --- step 5: whitespace --------------------------------------------------------------------------

_SPACE_RUN_RE = re.compile(r" {2,}")
_LINE_EDGE_SPACES_RE = re.compile(r" *\n *")
_BLANK_LINES_RE = re.compile(r"\n{3,}")

# --- OpenCC --------------------------------------------------------------------------------------

# Ideograph ranges in which OpenCC t2s changes single characters (measured over all of Unicode:
# URO + extension A, compatibility ideographs, the supplementary ideographic planes).
_T2S_SCAN_RANGES = ((0x3400, 0xA000), (0xF900, 0xFB00), (0x20000, 0x323B0))
# Punctuation that ends a clause: OpenCC phrases never span it.
_CLAUSE_BREAKS = "\n，。！？；：、,!?;:“”‘’「」『』《》()（）"


class _Simplifier:
    """OpenCC t2s, applied only to clauses that hold a Traditional character.

    OpenCC's phrase table also rewrites some already-Simplified text (``一坏`` → ``一坯``, so
    ``电梯一坏就是一周`` would be corrupted), and residents' messages are mostly Simplified.
    Converting only the clauses containing a character that t2s changes on its own keeps
    Simplified text intact, and skips OpenCC entirely for the common all-Simplified message.
    """

    def __init__(self) -> None:
        from opencc import OpenCC

        self.converter: _Converter = OpenCC("t2s")
        codes = [code for start, stop in _T2S_SCAN_RANGES for code in range(start, stop)]
        # One call over all ideographs, one per line so no phrase can form across them.
        converted = self.converter.convert("\n".join(map(chr, codes))).split("\n")
        # Only BMP characters are listed one by one: a class holding astral characters makes
        # ``re`` test them one by one (100x slower). Any supplementary-plane ideograph counts
        # as possibly Traditional instead; they are rare and converting them is harmless.
        traditional = "".join(
            chr(code)
            for code, new in zip(codes, converted, strict=True)
            if new != chr(code) and code < 0x10000
        )
        traditional += "\U00020000-\U000323af"
        self.traditional_re = re.compile(f"[{traditional}]")
        breaks = re.escape(_CLAUSE_BREAKS)
        clause = rf"[^{breaks}]*?[{traditional}][^{breaks}]*"
        # Runs of consecutive clauses with Traditional characters, matched from a clause start
        # only (the lookbehind), so the scan stays linear; each run is one OpenCC call.
        self.clauses_re = re.compile(rf"(?<![^{breaks}]){clause}(?:[{breaks}]+{clause})*")

    def simplify(self, text: str) -> str:
        if not self.traditional_re.search(text):
            return text
        return self.clauses_re.sub(lambda match: self.converter.convert(match.group(0)), text)


_simplifier: _Simplifier | None = None
_simplifier_lock = threading.Lock()


def _t2s() -> _Simplifier:
    """The module's one OpenCC converter, created on first use.

    Creation loads dictionaries and scans the ideographs (~0.1 s), so it is lazy and guarded
    by a lock; afterwards ``convert`` may be called from several threads (the binding keeps no
    per-call state and holds the GIL while converting).
    """
    global _simplifier
    simplifier = _simplifier
    if simplifier is None:
        with _simplifier_lock:
            if _simplifier is None:
                _simplifier = _Simplifier()
            simplifier = _simplifier
    return simplifier


# --- pinyin helpers ------------------------------------------------------------------------------


def _canonical_syllable(syllable: str) -> str:
    # ``v`` is the keyboard spelling of ``ü`` (lv = lü); upper case occurs in headings.
    return unicodedata.normalize("NFC", syllable.lower().replace("v", "ü"))


def _readings_of(char: str) -> set[str]:
    readings: set[str] = set()
    for style in (Style.TONE, Style.NORMAL, Style.TONE3):
        for reading in pinyin(char, style=style, heteronym=True, errors="ignore")[0:1]:
            for option in reading:
                canonical = _canonical_syllable(option)
                readings.add(canonical)
                if style is Style.TONE3 and not canonical[-1:].isdigit():
                    readings.add(canonical + "5")  # neutral tone written as 5 (ma5)
    return readings


@lru_cache(maxsize=16384)
def _readings(char: str) -> frozenset[str]:
    """Every spelling of every reading of ``char``: toned, toneless, tone digits.

    Readings of the Simplified form are added too, so a reading given for the Simplified
    character still matches when the text is Traditional.
    """
    readings = _readings_of(char)
    simplified = _t2s().converter.convert(char)
    if simplified != char and len(simplified) == 1:
        readings |= _readings_of(simplified)
    return frozenset(readings)


@lru_cache(maxsize=16384)
def _syllables(content: str) -> tuple[str, ...]:
    return tuple(_canonical_syllable(part) for part in _SPLIT_SYLLABLES_RE.split(content) if part)


def _spells(chars: str, parts: tuple[str, ...]) -> bool:
    """Whether ``parts`` (written syllable groups) spell a reading of each char of ``chars``.

    A group may hold several syllables written together (``zhōngguó``), but a syllable never
    spans two groups.
    """
    joined = "".join(parts)
    if len(joined) < len(chars):
        return False
    ends: set[int] = set()
    position = 0
    for part in parts:
        position += len(part)
        ends.add(position)

    def crosses_group(start: int, stop: int) -> bool:
        return any(start < end < stop for end in ends)

    def walk(index: int, start: int) -> bool:
        if index == len(chars):
            return start == len(joined)
        for reading in _readings(chars[index]):
            stop = start + len(reading)
            if (
                joined.startswith(reading, start)
                and not crosses_group(start, stop)
                and walk(index + 1, stop)
            ):
                return True
        return False

    return walk(0, 0)


@lru_cache(maxsize=65536)
def _reads_as(char: str, content: str) -> bool:
    """Whether ``content`` is one reading of ``char`` (the overwhelmingly common annotation)."""
    parts = _syllables(content)
    return len(parts) == 1 and parts[0] in _readings(char)


def _annotates_word(text: str, end: int, content: str) -> bool:
    """Whether ``content`` spells the readings of the Chinese characters ending at ``end``."""
    parts = _syllables(content)
    if not parts:
        return False
    tail_match = _CJK_TAIL_RE.search(text, max(0, end - _MAX_ANNOTATED_CHARS), end)
    if tail_match is None:
        return False
    tail = tail_match.group(0)
    longest = min(len(tail), len("".join(parts)))
    return any(_spells(tail[-count:], parts) for count in range(max(1, len(parts)), longest + 1))


def _remove_annotations(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char, content = match.group(1, 2)
        if _reads_as(char, content) or _annotates_word(match.string, match.start(1) + 1, content):
            return char
        return match.group(0)

    return _ANNOTATION_RE.sub(replace, text)


# --- public API ----------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """Return ``text`` normalised for storage, matching and display.

    NFC; pinyin annotations after Chinese characters removed (``過(guò)去`` → ``过去``) while
    real parentheses stay (``(草案)``, ``电梯(app)``); Traditional → Simplified; full-width ASCII
    letters, digits, symbols and spaces folded (Chinese punctuation kept); control and zero-width
    characters removed; runs of spaces collapsed, lines stripped, at most one blank line in a row.
    """
    if not text:
        return ""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _NEEDS_TRANSLATE_RE.search(text):
        text = text.translate(_TRANSLATE_TABLE)
    if "：" in text:
        text = _COLON_BETWEEN_ASCII_RE.sub(":", text)
    if "(" in text or "（" in text:
        text = _remove_annotations(text)
    text = _t2s().simplify(text)
    if "  " in text:
        text = _SPACE_RUN_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE_SPACES_RE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip(" \n")
