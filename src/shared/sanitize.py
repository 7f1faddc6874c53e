"""Neutralise text that someone outside the alert's authors controls before a person reads it.

Tag keys and values, alias names, key descriptions, user agents, role session names, error
messages and resource names all reach the alert from people who may want to mislead the
responder: forge a line that says "no action needed", hide text with bidi overrides, page a whole
channel, or plant a link that looks like a runbook. Every function here is pure and idempotent
(``f(f(x)) == f(x)``), so a value may pass through them more than once without growing.

The machine-readable alert document keeps the original values; these functions are for the text,
the subject and the chat card that people read.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "\u2026"
NEWLINE_MARK = "\u2424"  # SYMBOL FOR NEWLINE: shows where a single-line value had a line break
FULLWIDTH_AT = "\uff20"
LEFT_ANGLE = "\u2039"
RIGHT_ANGLE = "\u203a"
SAFE_BACKTICK = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT: looks like a backtick, closes no code span

DEFAULT_MAX_LEN = 256
_MIN_MAX_LEN = 24

# ESC-introduced sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks) and the short
# two-character escapes; also the single-byte C1 CSI.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, terminated by BEL or ST (or unterminated)
    r"|\x1b[@-Z\\-_]"  # two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # C1 CSI
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")
_SPACES = re.compile(r"[ \t]+")
_MENTION = re.compile(r"@(?=here|channel|everyone|all|group|room)", re.IGNORECASE)
_URL_SCHEME = re.compile(r"(h)(tt)(ps?)(?=:)|(f)(t)(ps?)(?=:)", re.IGNORECASE)
_OTHER_SCHEME = re.compile(r"\b(javascript|vbscript|data|file|mailto|slack|msteams|tel|sms):", re.IGNORECASE)
_SCHEME_SEPARATOR = re.compile(r"\b([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_DEFANGED_SCHEMES = frozenset({"hxxp", "hxxps", "fxp", "fxps"})
_WWW = re.compile(r"(www)\.", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\]\s*\(")
_CUT_MARKER = re.compile(r"\u2026 \[\+(\d+) chars\]$")


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _drop_invisible(text: str, keep_newlines: bool) -> str:
    """Remove control, format (bidi, zero-width, BOM, tag), surrogate and noncharacter code points."""
    out: list[str] = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
            continue
        if char == "\t":
            out.append(" ")
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs") or _is_noncharacter(ord(char)):
            continue
        out.append(char)
    return "".join(out)


def strip_controls(value: object, *, multiline: bool = False) -> str:
    """The value as text without ANSI escapes, control, bidi-override or zero-width characters.

    Line breaks of every kind become ``\\n`` when ``multiline`` is true; otherwise each becomes a
    visible ``\u2424`` so that no value can start a line of its own (and forge a header).
    """
    text = "" if value is None else str(value)
    text = _ANSI.sub("", text)
    text = _LINE_BREAKS.sub("\n" if multiline else f" {NEWLINE_MARK} ", text)
    text = _drop_invisible(text, keep_newlines=multiline)
    if multiline:
        return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip("\n")
    return _SPACES.sub(" ", text).strip()


def truncate(text: str, max_len: int = DEFAULT_MAX_LEN) -> str:
    """At most ``max_len`` characters; a cut value ends with ``… [+N chars]`` naming what was cut
    (or with a bare ``…`` when ``max_len`` is too short for the count)."""
    if max_len < 1:
        raise ValueError("max_len must be positive")
    if len(text) <= max_len:
        return text
    return _cut(text, max_len)


def _cut(text: str, max_len: int, extra: int = 0) -> str:
    """Cut ``text`` to ``max_len`` with a marker that counts the cut characters plus ``extra``."""
    if max_len < _MIN_MAX_LEN:  # too short to say how much was cut
        return text[: max_len - 1].rstrip() + ELLIPSIS
    earlier = _CUT_MARKER.search(text)
    if earlier:  # cut once already: count both cuts against the original value
        extra += int(earlier.group(1))
        text = text[: earlier.start()]
    total = len(text) + extra
    kept = text[: max_len - len(_marker(total))].rstrip()
    return kept + _marker(total - len(kept))


def _marker(cut: int) -> str:
    return f"{ELLIPSIS} [+{cut} chars]"


def defuse_mentions(text: str) -> str:
    """``@here``/``@channel``/``@everyone`` and every ``<...>`` control sequence stop being live.

    Slack's ``<!here>``, ``<!channel>``, ``<@U123>``, ``<#C123>``, ``<!subteam^S1>`` and
    ``<https://x|text>`` links, markdown autolinks ``<https://x>`` and HTML tags all need ``<``
    and ``>``; they are replaced by the look-alike single guillemets.
    """
    text = _MENTION.sub(FULLWIDTH_AT, text)
    return text.replace("<", LEFT_ANGLE).replace(">", RIGHT_ANGLE)


def defang_urls(text: str) -> str:
    """URLs stop being clickable: ``https://`` becomes ``hxxps://``, ``www.`` becomes ``www[.]``."""

    def _scheme(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)}xx{match.group(3)}"
        return f"{match.group(4)}x{match.group(6)}"

    text = _URL_SCHEME.sub(_scheme, text)
    text = _OTHER_SCHEME.sub(lambda m: f"{m.group(1)}[:]", text)
    text = _SCHEME_SEPARATOR.sub(
        lambda m: m.group(0) if m.group(1).lower() in _DEFANGED_SCHEMES else f"{m.group(1)}[://]", text
    )
    return _WWW.sub(lambda m: f"{m.group(1)}[.]", text)


def clean(value: object, max_len: int = DEFAULT_MAX_LEN, *, multiline: bool = False) -> str:
    """The standard treatment of an untrusted value for plain text.

    Invisible and control characters removed, line breaks made visible (unless ``multiline``),
    mentions defused, URLs defanged, and the result bounded to ``max_len`` characters.
    """
    raw = "" if value is None else str(value)
    # Work on a bounded head of a huge value; the count of what was cut still covers the rest.
    head_len = max(max_len * 4, 1_024)
    head, rest = raw[:head_len], len(raw) - min(len(raw), head_len)
    text = defang_urls(defuse_mentions(strip_controls(head, multiline=multiline)))
    if rest and len(text) <= max_len:  # the head was mostly invisible characters: do it all
        text, rest = defang_urls(defuse_mentions(strip_controls(raw, multiline=multiline))), 0
    if not rest:
        return truncate(text, max_len)
    return _cut(text, max_len, extra=rest)


def clean_trusted(value: object, max_len: int = 4096) -> str:
    """Text the responder wrote (such as an exact CLI command): kept verbatim but for invisible
    characters, line breaks and mentions, which no legitimate command contains."""
    return truncate(defuse_mentions(strip_controls(value)), max_len)


def md_code(value: object, max_len: int = DEFAULT_MAX_LEN) -> str:
    """An untrusted value as a markdown inline code span, inert on Slack, Teams and CommonMark.

    Inside a code span emphasis, links and headers do not render; a backtick, which would close
    the span, becomes a look-alike. Mentions and URLs are neutralised too, because some chat
    clients still parse ``<...>`` sequences and autolink inside code.
    """
    text = clean(value, max_len).replace("`", SAFE_BACKTICK)
    return f"`{text}`" if text else "`-`"


_MD_REPLACEMENTS = str.maketrans(
    {
        "`": SAFE_BACKTICK,
        "*": "\u2217",  # ASTERISK OPERATOR
        "_": "\u02cd",  # MODIFIER LETTER LOW MACRON
        "~": "\u02dc",  # SMALL TILDE
        "|": "\u2223",  # DIVIDES
        "#": "\uff03",  # FULLWIDTH NUMBER SIGN
    }
)


def md_text(value: object, max_len: int = DEFAULT_MAX_LEN) -> str:
    """Untrusted prose for a markdown context where a code span would be too heavy.

    Slack's mrkdwn has no backslash escapes, so the characters that start emphasis, strike-through,
    code, tables or headers are replaced by look-alikes, and ``](`` cannot form a link.
    """
    text = clean(value, max_len).translate(_MD_REPLACEMENTS)
    return _MARKDOWN_LINK.sub("] (", text)


def ascii_line(value: object, max_len: int) -> str:
    """A printable-ASCII single line (for an SNS subject or a message attribute)."""
    text = strip_controls(value)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = "".join(c for c in folded if " " <= c <= "~")
    folded = _SPACES.sub(" ", folded).strip()
    if len(folded) <= max_len:
        return folded
    return folded[: max_len - 3].rstrip() + "..."
