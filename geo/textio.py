"""Turning what users upload or paste into plain article text.

Uploads are untrusted: any encoding, any size, sometimes not text at all. The
functions here decode leniently (a stray Windows-1252 byte should not reject an
article), refuse binaries and oversized input with a one-line message the app
can show as is, and reduce HTML to its readable text with the standard
library's parser (no markup survives, so nothing from the file is ever
rendered as HTML). Upload names are display strings only, never paths.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

MAX_CHARS = 2_000_000
"""Longest text accepted for analysis (about 300,000 words: far beyond any article).

It bounds memory and run time of recognition and resolution, whose cost grows
with the length of the text.
"""

MAX_UPLOAD_MB = 25  # the uploader says and enforces the same (app.py, .streamlit/config.toml)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024  # Streamlit counts a megabyte as 2**20 bytes
"""Largest upload read at all; HTML can be several times larger than its text."""

TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
MAX_TITLE_CHARS = 200


class InputError(ValueError):
    """The input cannot be used; the message is one line, fit to show the user."""


# --------------------------------------------------------------------------- decoding

_MAGIC = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (e.g. .docx, .odt, .epub)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
)


def _not_text(what: str = "binary data") -> InputError:
    return InputError(f"This file is {what}, not text: upload a .txt, .md or .html file, or paste the text.")


def _looks_binary(text: str) -> bool:
    """Many control characters (other than whitespace) after decoding means it was not text."""
    if not text:
        return False
    sample = text[:100_000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    return controls > max(2, len(sample) // 100)


def decode_bytes(data: bytes) -> str:
    """Decode uploaded bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252/Latin-1.

    Mostly-valid UTF-8 with a few bad bytes keeps its UTF-8 reading (bad bytes
    become U+FFFD) instead of turning every accented letter into mojibake.
    Raises InputError for binary files.
    """
    if not data:
        return ""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _not_text(what)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _not_text("damaged UTF-16") from exc
        if _looks_binary(text):
            raise _not_text()
        return text
    if data.count(b"\x00") > max(2, len(data) // 1000):
        raise _not_text()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_damaged(data)
    if _looks_binary(text):
        raise _not_text()
    return text


def _decode_damaged(data: bytes) -> str:
    """Invalid UTF-8: keep UTF-8 if most non-ASCII decodes, else assume a Western 8-bit encoding."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    lenient = body.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd") - body.count(b"\xef\xbf\xbd")
    good = sum(1 for ch in lenient if ord(ch) > 0x7F and ch != "\ufffd")
    if good > bad:
        return lenient
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps every byte.
        return body.decode("latin-1")


# --------------------------------------------------------------------------- cleaning

_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
# A str can hold surrogate code points (JSON's "\\ud800", undecodable file names); none can be encoded.
_SURROGATES = re.compile("[\ud800-\udfff]")
# Unicode category Cc is exactly U+0000-001F and U+007F-009F; keep tab and newline.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")


def replace_surrogates(text: str) -> str:
    """``text`` with every surrogate code point replaced by U+FFFD, one for one.

    A Python str may hold lone or reversed surrogates (JSON allows ``"\\ud800"``),
    which no encoder, spaCy's tokenizer included, accepts. Replacing each one by
    a single character keeps every offset into the original string valid.
    """
    return _SURROGATES.sub("\ufffd", text) if has_surrogates(text) else text


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (it cannot be encoded as UTF-8 as it is)."""
    return _SURROGATES.search(text) is not None


def clean_text(text: str) -> str:
    """Normalise line ends to \\n and drop control characters other than newline and tab.

    Vertical tab, form feed and Unicode line/paragraph separators become
    newlines (they separate words); a BOM left inside the text is dropped;
    surrogates become U+FFFD (:func:`replace_surrogates`).
    """
    return replace_surrogates(_CONTROLS.sub("", _NEWLINES.sub("\n", text)))


def check_size(text: str) -> None:
    """Raise InputError when ``text`` exceeds MAX_CHARS."""
    if len(text) > MAX_CHARS:
        raise InputError(
            f"The text has {len(text):,} characters, over the {MAX_CHARS:,}-character limit; "
            "split it into smaller parts."
        )


# --------------------------------------------------------------------------- HTML

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object"})
_PARAGRAPH_TAGS = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl",
        "section", "article", "header", "footer", "aside", "nav", "main", "figure", "address", "hr",
        "form", "fieldset", "details",
    }
)  # fmt: skip
_LINE_TAGS = frozenset({"br", "div", "li", "tr", "dt", "dd", "figcaption", "caption", "summary", "option", "legend"})
_CELL_TAGS = frozenset({"td", "th"})
_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "wbr"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _TextExtractor(HTMLParser):
    """Collects visible text and the <title>, marking block boundaries with newlines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._skip: list[str] = []  # open elements whose content is dropped
        self._in_title = False
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # a <head> that was never closed ends here
            self._skip = [t for t in self._skip if t != "head"]
        if tag == "title":
            self._in_title = True
            return
        if tag in _SKIP_TAGS:
            self._skip.append(tag)
            return
        if self._skip:
            return
        self._break(tag)
        if tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <script/>: nothing is opened.
        if not self._skip and tag not in _SKIP_TAGS and tag != "title":
            self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if tag in _SKIP_TAGS:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if self._skip or tag in _VOID_TAGS or tag in _CELL_TAGS:
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._skip:
            if not self._pre:
                data = _SPACES.sub(" ", data)
                if self._at_line_start():
                    data = data.lstrip(" ")
            if data:
                self.parts.append(data)

    def _at_line_start(self) -> bool:
        return not self.parts or self.parts[-1].endswith("\n")

    def _break(self, tag: str) -> None:
        """Separate blocks: a blank line around paragraphs/headings, a line break around lines."""
        if tag == "br":
            self.parts.append("\n")
        elif tag in _PARAGRAPH_TAGS:
            if self.parts and not "".join(self.parts[-2:]).endswith("\n\n"):
                self.parts.append("\n" if self._at_line_start() else "\n\n")
        elif tag in _LINE_TAGS:
            if not self._at_line_start():
                self.parts.append("\n")
        elif tag in _CELL_TAGS and not self._at_line_start():
            self.parts.append("\t")


def _tidy(text: str) -> str:
    # Only trailing blanks: leading ones were dropped while parsing, except inside <pre>.
    lines = [line.rstrip(" \t") for line in text.replace("\u00a0", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def parse_html(html: str) -> tuple[str, str]:
    """(title, readable text) of an HTML document; the title is "" when there is none."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    title = _SPACES.sub(" ", "".join(parser.title_parts)).strip()
    return title, _tidy("".join(parser.parts))


def html_to_text(html: str) -> str:
    """Readable text of an HTML document: no scripts/styles/head, paragraphs as blank lines."""
    return parse_html(html)[1]


# --------------------------------------------------------------------------- uploads


def display_name(name: str) -> str:
    """The bare file name (no directories, no control characters), for display only."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:MAX_TITLE_CHARS] or "upload"


def _stem(base: str) -> str:
    stem, dot, _ = base.rpartition(".")
    return stem if dot and stem else base


def _short_title(title: str) -> str:
    title = _SPACES.sub(" ", clean_text(title)).strip()
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1].rstrip() + "…"


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:1000].lower()
    return head.startswith(("<!doctype html", "<html")) or "<body" in head


def _markdown_title(text: str) -> str:
    """The first line when it is a level-1 Markdown heading ("# Title")."""
    first = text.lstrip().split("\n", 1)[0]
    return first[2:].strip() if first.startswith("# ") else ""


def read_upload(name: str, data: bytes) -> tuple[str, str]:
    """(title, text) of an uploaded .txt, .md or .html/.htm file.

    The title comes from <title> or a leading "# heading", else the file name
    without extension. Raises InputError for other types, binaries and size.
    """
    base = display_name(name)
    suffix = "." + base.rpartition(".")[2].lower() if "." in base else ""
    if suffix and suffix not in TEXT_SUFFIXES + HTML_SUFFIXES:
        raise InputError(f"Unsupported file type {suffix!r}: upload a .txt, .md or .html file.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"The file is {len(data) / 2**20:.1f} MB, over the {MAX_UPLOAD_MB} MB upload limit.")
    raw = decode_bytes(data)
    title = ""
    if suffix in HTML_SUFFIXES or (not suffix and _looks_like_html(raw)):
        title, text = parse_html(raw)
    else:
        text = raw
    text = clean_text(text)
    if suffix in (".md", ".markdown"):
        title = _markdown_title(text)
    check_size(text)
    return _short_title(title) or _short_title(_stem(base)) or "upload", text
