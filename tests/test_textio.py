"""Decoding uploads, HTML to text, cleaning and size limits."""

from __future__ import annotations

import pytest

from geo.textio import (
    MAX_CHARS,
    InputError,
    check_size,
    clean_text,
    decode_bytes,
    display_name,
    html_to_text,
    parse_html,
    read_upload,
)

# --------------------------------------------------------------------------- decoding


def test_decode_utf8_and_bom():
    assert decode_bytes("Spīn Bōldak".encode()) == "Spīn Bōldak"
    assert decode_bytes(b"\xef\xbb\xbfChaman") == "Chaman"
    assert decode_bytes(b"") == ""


def test_decode_utf16_with_bom():
    assert decode_bytes("Kandahar – Chaman".encode("utf-16")) == "Kandahar – Chaman"


def test_decode_cp1252_fallback():
    data = "Café in Québec – “quoted”".encode("cp1252")
    assert decode_bytes(data) == "Café in Québec – “quoted”"


def test_decode_latin1_for_bytes_cp1252_lacks():
    # 0x81 is undefined in cp1252; decoding must still not fail.
    assert decode_bytes(b"caf\xe9 \x81 ok") == "café \x81 ok"


def test_decode_mostly_utf8_keeps_utf8():
    data = "Spīn Bōldak, Zürich, Köln ".encode() + b"\xff broken"
    text = decode_bytes(data)
    assert text.startswith("Spīn Bōldak, Zürich, Köln")
    assert "\ufffd" in text


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 20,
        b"\x00\x01\x02\x03" * 100,
        b"text\x00" * 50,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"PK\x03\x04\x14\x00\x06\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
)
def test_decode_rejects_binary(data):
    with pytest.raises(InputError) as info:
        decode_bytes(data)
    assert "\n" not in str(info.value)
    assert "not text" in str(info.value)


def test_input_error_is_value_error():
    assert issubclass(InputError, ValueError)


# --------------------------------------------------------------------------- cleaning and size


def test_clean_text():
    raw = "a\r\nb\rc\x00d\x07e\tf\x0cg\u2028h\ufeffi\x1bj\x85k"
    assert clean_text(raw) == "a\nb\ncd" + "e\tf\ng\nhij\nk"


def test_check_size():
    check_size("x" * MAX_CHARS)
    with pytest.raises(InputError, match="over the 2,000,000-character limit"):
        check_size("x" * (MAX_CHARS + 1))


# --------------------------------------------------------------------------- HTML


def test_html_to_text_drops_scripts_and_keeps_paragraphs():
    html = """<!doctype html><html><head><title>T</title><style>p{color:red}</style>
    <script>var x = "<p>not text</p>";</script></head>
    <body><noscript>Enable JS</noscript><template><p>hidden</p></template>
    <h1>Border   closed</h1><p>Clashes near <b>Chaman</b>&nbsp;&amp; Spin&#160;Boldak.</p>
    <p>Second<br>line &lt;script&gt;</p><script>alert(1)</script></body></html>"""
    text = html_to_text(html)
    assert text == "Border closed\n\nClashes near Chaman & Spin Boldak.\n\nSecond\nline <script>"
    assert "alert" not in text and "color:red" not in text and "Enable JS" not in text
    assert "hidden" not in text and "not text" not in text


def test_html_unclosed_head_and_lists():
    html = "<html><head><meta charset=utf-8><title>X</title><body><ul><li>One<li>Two</ul><p>End"
    assert html_to_text(html) == "One\nTwo\n\nEnd"


def test_html_pre_keeps_spacing_and_tables():
    html = "<pre>a  b\n c</pre><table><tr><td>x</td><td>y</td></tr><tr><th>z</th></tr></table>"
    assert html_to_text(html) == "a  b\n c\n\nx\ty\nz"


def test_html_divs_and_breaks():
    html = "<div>One</div><div>  Two <span>and</span>\n half</div>A<br>B<br><br>C"
    assert html_to_text(html) == "One\nTwo and half\nA\nB\n\nC"


def test_parse_html_title():
    assert parse_html("<title> Border &amp;\n news </title><p>x</p>") == ("Border & news", "x")


# --------------------------------------------------------------------------- uploads


def test_read_upload_txt_title_from_stem():
    title, text = read_upload("../../etc/Border news.txt", b"Chaman\r\nSpin Boldak")
    assert title == "Border news"
    assert text == "Chaman\nSpin Boldak"


def test_read_upload_windows_path_stripped():
    title, _ = read_upload("C:\\Users\\me\\Desktop\\report.md", b"Some text")
    assert title == "report"


def test_read_upload_markdown_heading_title():
    title, text = read_upload("a.md", b"# Clashes in Chaman\n\nBody text.")
    assert title == "Clashes in Chaman"
    assert text.startswith("# Clashes")


def test_read_upload_html():
    data = (
        b"<html><head><title>Border &lt;b&gt;news</title><script>evil()</script></head>"
        b"<body><p>Chaman.</p></body></html>"
    )
    title, text = read_upload("page.HTM", data)
    assert title == "Border <b>news"  # plain text: escaping is the renderer's job
    assert text == "Chaman."


def test_read_upload_html_without_title_uses_stem():
    assert read_upload("story.html", b"<p>x</p>") == ("story", "x")


def test_read_upload_rejects_other_types_and_binaries():
    with pytest.raises(InputError, match="Unsupported file type '.pdf'"):
        read_upload("x.pdf", b"%PDF-1.4")
    with pytest.raises(InputError, match="not text"):
        read_upload("x.txt", b"\x00\x01\x02" * 100)


def test_read_upload_size_limit():
    with pytest.raises(InputError, match="2,000,000-character limit"):
        read_upload("big.txt", b"a" * (MAX_CHARS + 1))


def test_display_name():
    assert display_name("/tmp/../a\x00b.txt") == "ab.txt"
    assert display_name("") == "upload"
    assert display_name("dir/") == "upload"
