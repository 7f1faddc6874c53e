"""Neutralising attacker-controlled text: table tests for each trick, properties for all input."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.sanitize import (
    ELLIPSIS,
    NEWLINE_MARK,
    ascii_line,
    clean,
    clean_trusted,
    defang_urls,
    defuse_mentions,
    md_code,
    md_text,
    strip_controls,
    truncate,
)

BIDI_AND_ZERO_WIDTH = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]] + [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u00ad",
    "\U000e0041",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("plain value", "plain value", id="plain"),
        pytest.param("\x1b[31mred\x1b[0m", "red", id="ansi-colour"),
        pytest.param("\x1b[2J\x1b[Hclear", "clear", id="ansi-clear-screen"),
        pytest.param("\x1b]8;;https://evil\x07link\x1b]8;;\x07", "link", id="osc-hyperlink"),
        pytest.param("\x1b]0;title\x1b\\x", "x", id="osc-st-terminated"),
        pytest.param("\x9b31mc1", "c1", id="c1-csi"),
        pytest.param("a\x00b\x07c\x7fd", "abcd", id="c0-and-del"),
        pytest.param("pay\u202eloaddaer", "payloaddaer", id="rlo-override"),
        pytest.param("\u2066isolated\u2069", "isolated", id="bidi-isolate"),
        pytest.param("zero\u200bwidth\u200d\ufeff", "zerowidth", id="zero-width"),
        pytest.param("tag\U000e0041\U000e007f", "tag", id="unicode-tag-chars"),
        pytest.param("line1\nline2", f"line1 {NEWLINE_MARK} line2", id="newline-visible"),
        pytest.param(
            "a\r\nb\rc\u2028d\u2029e\x85f",
            f"a {NEWLINE_MARK} b {NEWLINE_MARK} c {NEWLINE_MARK} d {NEWLINE_MARK} e {NEWLINE_MARK} f",
            id="every-line-break",
        ),
        pytest.param("tab\there   spaces", "tab here spaces", id="whitespace-collapsed"),
        pytest.param("lone \ud800 surrogate", "lone surrogate", id="lone-surrogate"),
        pytest.param("non\ufffecharacter\U0001ffff", "noncharacter", id="noncharacters"),
        pytest.param(None, "", id="none"),
        pytest.param(42, "42", id="not-a-string"),
    ],
)
def test_strip_controls_removes_invisible_and_control_characters(raw: object, expected: str) -> None:
    assert strip_controls(raw) == expected


def test_strip_controls_multiline_keeps_line_breaks_as_newlines() -> None:
    assert strip_controls("a\r\nb\u2028c\u202e", multiline=True) == "a\nb\nc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("@here wake up", "\uff20here wake up", id="at-here"),
        pytest.param("@channel", "\uff20channel", id="at-channel"),
        pytest.param("@EVERYONE", "\uff20EVERYONE", id="at-everyone-upper"),
        pytest.param("@all", "\uff20all", id="at-all"),
        pytest.param("alice@example.com", "alice@example.com", id="email-untouched"),
        pytest.param("@hereford", "\uff20hereford", id="prefix-defused-so-truncation-cannot-revive-it"),
        pytest.param("@alice", "@alice", id="user-name-untouched"),
        pytest.param("<!channel>", "\u2039!channel\u203a", id="slack-channel"),
        pytest.param("<!here|here>", "\u2039!here|here\u203a", id="slack-here-label"),
        pytest.param("<!subteam^S012>", "\u2039!subteam^S012\u203a", id="slack-usergroup"),
        pytest.param("<@U0123ABC>", "\u2039@U0123ABC\u203a", id="slack-user"),
        pytest.param("<#C024BE7LR>", "\u2039#C024BE7LR\u203a", id="slack-channel-link"),
        pytest.param("<https://x|docs>", "\u2039https://x|docs\u203a", id="slack-link"),
        pytest.param("<b>bold</b>", "\u2039b\u203abold\u2039/b\u203a", id="html"),
    ],
)
def test_defuse_mentions(raw: str, expected: str) -> None:
    assert defuse_mentions(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("https://evil.example/a", "hxxps://evil.example/a", id="https"),
        pytest.param("HTTP://evil.example", "HxxP://evil.example", id="http-upper"),
        pytest.param("ftp://files.example", "fxp://files.example", id="ftp"),
        pytest.param("see www.evil.example", "see www[.]evil.example", id="www"),
        pytest.param("javascript:alert(1)", "javascript[:]alert(1)", id="javascript"),
        pytest.param("mailto:a@b.example", "mailto[:]a@b.example", id="mailto"),
        pytest.param("slack://open?team=T1", "slack[:]//open?team=T1", id="app-scheme"),
        pytest.param("zoommtg://join", "zoommtg[://]join", id="unknown-scheme"),
        pytest.param(
            "[runbook](https://evil.example)", "[runbook](hxxps://evil.example)", id="markdown-link"
        ),
        pytest.param("arn:aws:s3:::bucket", "arn:aws:s3:::bucket", id="arn-untouched"),
        pytest.param("hxxps://already.example", "hxxps://already.example", id="already-defanged"),
    ],
)
def test_defang_urls(raw: str, expected: str) -> None:
    assert defang_urls(raw) == expected


@pytest.mark.parametrize(
    ("length", "max_len"),
    [(10, 10), (11, 10), (300, 256), (10_000, 256), (100_000, 1024), (50, 30), (50, 5)],
)
def test_truncate_bounds_length_and_says_how_much_was_cut(length: int, max_len: int) -> None:
    text = "x" * length
    result = truncate(text, max_len)
    assert len(result) <= max_len
    if length <= max_len:
        assert result == text
    elif max_len >= 24:
        match = re.search(r"\u2026 \[\+(\d+) chars\]$", result)
        assert match, result
        assert int(match.group(1)) + result.index(ELLIPSIS) == length
    else:
        assert result.endswith(ELLIPSIS)


def test_truncate_rejects_a_non_positive_bound() -> None:
    with pytest.raises(ValueError, match="positive"):
        truncate("abc", 0)


@pytest.mark.parametrize(
    "raw",
    [
        "[click](https://evil.example)",
        "*bold* _italic_ ~strike~ `code`",
        "<https://evil.example|Cancel already done>",
        "@here <!channel>",
        "```\nblock\n```",
        "# Heading\n> quote",
    ],
)
def test_md_code_makes_one_inert_code_span(raw: str) -> None:
    result = md_code(raw)
    assert result.startswith("`")
    assert result.endswith("`")
    inner = result[1:-1]
    assert "`" not in inner
    assert "\n" not in result
    assert "<" not in inner
    assert ">" not in inner
    assert "https://" not in inner
    assert "@here" not in inner


def test_md_code_of_empty_value_is_a_dash() -> None:
    assert md_code(None) == "`-`"
    assert md_code("\u200b") == "`-`"


@pytest.mark.parametrize(
    ("raw", "forbidden"),
    [
        ("*all clear*", "*"),
        ("_see_", "_"),
        ("~gone~", "~"),
        ("`x`", "`"),
        ("[t](https://evil.example)", "]("),
        ("# forged header", "#"),
        ("a | b", "|"),
        ("<!here>", "<"),
    ],
)
def test_md_text_leaves_no_markdown_syntax(raw: str, forbidden: str) -> None:
    assert forbidden not in md_text(raw)


def test_clean_trusted_keeps_commands_verbatim() -> None:
    command = "aws kms cancel-key-deletion --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --region eu-west-1"
    assert clean_trusted(command) == command
    assert clean_trusted("see https://docs.example/runbook") == "see https://docs.example/runbook"
    assert clean_trusted("@here\nrun it") == f"\uff20here {NEWLINE_MARK} run it"


@pytest.mark.parametrize(
    ("raw", "max_len", "expected"),
    [
        ("[CRITICAL] KMS key alias/prod", 99, "[CRITICAL] KMS key alias/prod"),
        ("caf\u00e9 \u2026 na\u00efve", 99, "cafe ... naive"),
        ("line\nbreak\u202e", 99, "line break"),
        ("\u4e2d\u6587 only", 99, "only"),
        ("x" * 120, 20, "x" * 17 + "..."),
    ],
)
def test_ascii_line(raw: str, max_len: int, expected: str) -> None:
    assert ascii_line(raw, max_len) == expected


# ----- properties --------------------------------------------------------------------------------
_HOSTILE_PIECES = st.sampled_from(
    [
        "@here",
        "@channel",
        "<!here>",
        "<@U1>",
        "https://evil.example",
        "www.evil.example",
        "\n",
        "\r\n",
        "\x1b[31m",
        "`",
        "*",
        "_",
        "[t](http://x)",
        "\u202e",
        "\u200b",
        "\ud800",
        "\ufffe",
        "\u2028",
        " ",
        "a",
    ]
)
_TEXT = st.one_of(st.text(max_size=400), st.lists(_HOSTILE_PIECES, max_size=60).map("".join))


def _has_invisible(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in text) or "\ufffe" in text


@settings(max_examples=200, deadline=None)
@given(_TEXT, st.integers(min_value=1, max_value=500))
def test_clean_properties(raw: str, max_len: int) -> None:
    result = clean(raw, max_len)
    assert len(result) <= max_len
    assert not _has_invisible(result)
    assert "\n" not in result
    assert "\r" not in result
    assert not re.search(r"@(here|channel|everyone)\b", result, re.IGNORECASE)
    assert "<" not in result
    assert ">" not in result
    assert not re.search(r"https?://", result, re.IGNORECASE)
    assert clean(result, max_len) == result  # idempotent
    result.encode("utf-8")  # always encodable (no lone surrogates)


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_md_code_properties(raw: str) -> None:
    result = md_code(raw)
    assert result.count("`") == 2
    assert not _has_invisible(result)


@settings(max_examples=200, deadline=None)
@given(_TEXT, st.integers(min_value=10, max_value=120))
def test_ascii_line_properties(raw: str, max_len: int) -> None:
    result = ascii_line(raw, max_len)
    assert len(result) <= max_len
    assert all(" " <= c <= "~" for c in result)


def test_clean_counts_every_cut_character_of_a_huge_value() -> None:
    result = clean("x" * 100_000, 256)
    kept = result.index(ELLIPSIS)
    assert result.endswith(f"[+{100_000 - kept} chars]")


def test_cutting_twice_counts_against_the_original_value() -> None:
    once = truncate("y" * 5_000, 256)
    twice = clean(once, 96)
    assert len(twice) <= 96
    assert twice.endswith(f"[+{5_000 - twice.index(ELLIPSIS)} chars]")
