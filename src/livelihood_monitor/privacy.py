"""Masking of personal data in residents' messages (手机号、身份证号、邮箱、银行卡号、固定电话).

Everything a unit or the dashboard shows goes through ``mask_pii``. Rules, applied in this order
(a span masked by one rule is never looked at again by a later one):

1. E-mail addresses → first character of the local part, ``***@`` and the domain
   (``a***@example.com``). First, because local parts are often phone or QQ numbers.
2. ID-card numbers (18 characters, last may be ``X``; also written ``6-8-4`` with spaces or
   dashes) with a correct GB 11643 check digit and birth date → first 6 and last 4 kept
   (``320123********1234``). An 18-digit run that fails the check is masked like a bank card
   (only the last 4 kept), so it is never left visible; 17 digits + ``X``, or ``6-8-4`` groups
   around a plausible birth date, that fail the check are taken as mistyped IDs and masked too.
3. Mainland mobile numbers ``1[3-9]x xxxx xxxx`` (spaces or dashes between the 3-4-4 groups,
   optional ``+86``/``0086``/``86`` prefix) → ``138****5678`` (prefix kept, separators dropped).
4. Bank-card-like numbers: any run of 13 or more digits, or 13-19 digits grouped in fours with
   spaces or dashes → only the last 4 kept.
5. Landlines with an area code (``0514-87654321``, ``(0514)8765432``, ``051487654321``) → area
   code and last 2 digits kept (``0514-******21``). Area codes starting ``01``/``02`` have 3
   characters (010, 020-029), all others 4.
6. Bare 7-8 digit local numbers → last 2 digits kept, but only right after a contact word
   (电话、手机、联系、座机、固话、热线、致电、拨打、号码、tel、phone; at most 8 other characters
   in between), since a bare 8-digit number elsewhere is more often an amount or a count; eight
   digits that read as a date (``20250305``) are left alone even there.

Full-width digits, letters, symbols (``＋－＠．``) and spaces are folded before matching, and
full-width brackets are matched as brackets; masked values are written with ASCII digits, and
everything outside masked spans is returned exactly as given.
Dates (``2025-03-05``, ``2025年3月5日``), amounts (``1200元``) and house numbers (``3栋2单元501``)
never match any rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

__all__ = ["contains_unmasked_pii", "is_valid_id_card", "mask_contact", "mask_pii"]


def _build_fold_table() -> dict[int, str]:
    # One character to one character, so positions in the folded copy equal positions in the
    # original and masks can be spliced into the original text.
    # Chinese punctuation (，：（） ...) and the em dash are left alone: they are in almost every
    # message, and keeping them out lets the pre-check skip the translate for most texts.
    table = {
        code: chr(code - 0xFEE0)
        for code in range(0xFF01, 0xFF5F)
        if chr(code) not in "！（），：；？"
    }
    for code in (0x3000, 0x00A0, 0x2002, 0x2003, 0x2009, 0x202F):
        table[code] = " "
    for code in (0x2010, 0x2011, 0x2012, 0x2013, 0x2212):
        table[code] = "-"
    return table


_FOLD_TABLE = _build_fold_table()
_NEEDS_FOLD_RE = re.compile("[" + "".join(f"\\u{code:04x}" for code in sorted(_FOLD_TABLE)) + "]")

# Between phone/card/ID groups: spaces, or a dash with optional spaces around it.
_SEP = r"(?:[ \t]*-[ \t]*|[ \t]+)"

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"
    r"(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]*)@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})"
    r"(?![A-Za-z0-9\-])"
)
_ID_RE = re.compile(
    rf"(?<![0-9])(?P<a>[0-9]{{6}}){_SEP}?(?P<b>[0-9]{{8}}){_SEP}?(?P<c>[0-9]{{3}}[0-9Xx])"
    r"(?![0-9A-Za-z])"
)
_MOBILE_RE = re.compile(
    r"(?<![0-9])"
    r"(?P<prefix>(?:\+|00)[ \t]*86[ \t\-]*|[(（](?:\+|00)?86[)）][ \t]*|86[ \t\-]*)?"
    rf"(?P<a>1[3-9][0-9]){_SEP}?(?P<b>[0-9]{{4}}){_SEP}?(?P<c>[0-9]{{4}})"
    r"(?![0-9])"
)
_CARD_RE = re.compile(
    rf"(?<![0-9])(?:[0-9]{{13,}}|[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{2,3}}(?:{_SEP}[0-9]{{1,3}})?)"
    r"(?![0-9])"
)
_LOCAL = rf"[0-9]{{3,4}}{_SEP}?[0-9]{{4}}"
_LANDLINE_RE = re.compile(
    r"(?<![0-9])(?:"
    rf"[(（]\s*(?P<paren>0[0-9]{{2,3}})\s*[)）][ \t]*(?P<plocal>{_LOCAL})"
    rf"|(?P<area>0[0-9]{{2,3}}){_SEP}(?P<alocal>{_LOCAL})"
    r"|(?P<joined>0[0-9]{9,11})"
    r")(?![0-9])"
)
_LOCAL_NUMBER_RE = re.compile(
    r"(?i:电话|手机|联系|座机|固话|热线|致电|拨打|号码|tel|phone)[^0-9\n]{0,8}?"
    rf"(?<![0-9])(?P<local>{_LOCAL})(?![0-9])"
)
_BARE_LOCAL_RE = re.compile(rf"(?<![0-9])(?P<local>{_LOCAL})(?![0-9])")
_NON_DIGIT_RE = re.compile(r"[^0-9Xx]")
_HAS_DIGIT_OR_AT_RE = re.compile(r"[0-9０-９@＠]")
_THREE_DIGITS_RE = re.compile(r"[0-9]{3}")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str  # email | id | mobile | card | landline
    masked: str


def _digits(text: str) -> str:
    return _NON_DIGIT_RE.sub("", text)


def _id_check_ok(number: str) -> bool:
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11] == number[17].upper()


def _plausible_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1800 <= born.year <= 2100


def _mask_long(digits: str) -> str:
    return "*" * (len(digits) - 4) + digits[-4:]


def _mask_local(local: str) -> str:
    return "*" * (len(local) - 2) + local[-2:]


# --- rule callbacks: a masked string, or None when the match is not personal data ------------


def _email(match: re.Match[str]) -> str | None:
    return f"{match['local'][0]}***@{match['domain']}"


def _id_card(match: re.Match[str]) -> str | None:
    number = match["a"] + match["b"] + match["c"]
    if _id_check_ok(number) and _plausible_date(match["b"]):
        return number[:6] + "*" * 8 + number[-4:]
    if len(match.group(0)) == 18 and number[-1].isdigit():
        return _mask_long(number)  # an 18-digit run is never left visible (rule 4 as well)
    if len(match.group(0)) == 18 or _plausible_date(match["b"]):
        # 17 digits + X, or 6-8-4 groups with a birth date inside: an ID with a typo.
        return number[:6] + "*" * 8 + number[-4:]
    return None


def _mobile(match: re.Match[str]) -> str | None:
    prefix = match["prefix"] or ""
    if prefix and prefix[-1] not in " -)）":
        prefix += " "  # +8613812345678 -> +86 138****5678: keep the masked part readable
    return f"{prefix}{match['a']}****{match['c']}"


def _card(match: re.Match[str]) -> str | None:
    digits = _digits(match.group(0))
    return _mask_long(digits) if len(digits) >= 13 else None


def _landline(match: re.Match[str]) -> str | None:
    if match["joined"] is not None:
        digits = match["joined"]
        area_length = 3 if digits[1] in "12" else 4
        area, local = digits[:area_length], digits[area_length:]
        if not 7 <= len(local) <= 8:
            return None
        return f"{area}-{_mask_local(local)}"
    if match["paren"] is not None:
        return f"({match['paren']}){_mask_local(_digits(match['plocal']))}"
    return f"{match['area']}-{_mask_local(_digits(match['alocal']))}"


def _local_number(match: re.Match[str]) -> str | None:
    local = _digits(match["local"])
    if len(local) == 8 and local[:2] in ("19", "20") and _plausible_date(local):
        return None
    return _mask_local(local)


_Masker = Callable[[re.Match[str]], str | None]
# (kind, pattern, masker, group): the masker's result replaces ``group`` of the match, so the
# contact word before a local number stays as written.
_Rule = tuple[str, re.Pattern[str], _Masker, int | str]
_RULES: tuple[_Rule, ...] = (
    ("email", _EMAIL_RE, _email, 0),
    ("id", _ID_RE, _id_card, 0),
    ("mobile", _MOBILE_RE, _mobile, 0),
    ("card", _CARD_RE, _card, 0),
    ("landline", _LANDLINE_RE, _landline, 0),
    ("landline", _LOCAL_NUMBER_RE, _local_number, "local"),
)
_CONTACT_RULES: tuple[_Rule, ...] = (
    *_RULES,
    ("landline", _BARE_LOCAL_RE, _local_number, "local"),
)


def _find_pii(text: str, rules: tuple[_Rule, ...] = _RULES) -> list[_Span]:
    """Spans of personal data in ``text``, sorted, non-overlapping."""
    if not _HAS_DIGIT_OR_AT_RE.search(text):
        return []  # most messages: nothing to scan
    work = text.translate(_FOLD_TABLE) if _NEEDS_FOLD_RE.search(text) else text
    has_at = "@" in work
    has_digits = _THREE_DIGITS_RE.search(work) is not None
    spans: list[_Span] = []
    for kind, pattern, masker, group in rules:
        if not (has_at if kind == "email" else has_digits):
            continue  # every rule but e-mail needs at least three digits in a row

        def replace(
            match: re.Match[str],
            kind: str = kind,
            masker: _Masker = masker,
            group: int | str = group,
        ) -> str:
            masked = masker(match)
            if masked is None:
                return match.group(0)
            start, end = match.span(group)
            spans.append(_Span(start, end, kind, masked))
            # A same-length placeholder keeps positions aligned with the original text, and no
            # later rule can match inside it.
            whole = match.group(0)
            offset = match.start()
            return whole[: start - offset] + "\0" * (end - start) + whole[end - offset :]

        work = pattern.sub(replace, work)
    spans.sort(key=lambda span: span.start)
    return spans


def _apply(text: str, spans: list[_Span]) -> str:
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(span.masked)
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


# --- public API ----------------------------------------------------------------------------------


def mask_pii(text: str) -> str:
    """Mask phone numbers, ID-card numbers, e-mail addresses and bank-card numbers in ``text``.

    ``请联系13812345678`` → ``请联系138****5678``. Text outside the masked spans is unchanged;
    masking is idempotent.
    """
    spans = _find_pii(text)
    return _apply(text, spans) if spans else text


def contains_unmasked_pii(text: str) -> bool:
    """Whether ``mask_pii`` would change ``text`` (False for text that is already masked)."""
    return bool(_find_pii(text))


def is_valid_id_card(s: str) -> bool:
    """Whether ``s`` is an 18-character resident ID number (GB 11643-1999).

    17 digits and a check character (digit or ``X``/``x``) that matches the weighted checksum,
    with a real birth date in positions 7-14. Full-width digits are accepted; no surrounding
    spaces or separators.
    """
    number = s.translate(_FOLD_TABLE)
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    if number[17] not in "0123456789Xx":
        return False
    return _id_check_ok(number) and _plausible_date(number[6:14])


def mask_contact(value: str) -> str:
    """Mask a contact field: only its phone numbers and e-mail addresses, masked, are kept.

    Anything else in the field (a name, ``张先生``, an address) identifies the resident and is
    dropped: ``张先生 13812345678`` → ``138****5678``. A bare 7-8 digit value is taken as a local
    phone number here. A field with no phone number or e-mail becomes ``***``.
    """
    spans = [
        span
        for span in _find_pii(value, _CONTACT_RULES)
        if span.kind in ("email", "mobile", "landline")
    ]
    if not spans:
        return "***"
    return "；".join(span.masked for span in spans)
