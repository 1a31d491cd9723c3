"""The html source: readable text only, structure kept as markdown."""

from __future__ import annotations

from source_files import read_outcome

from kinject_plugins.sources.html import HtmlSource

PAGE = """<!doctype html><html><head><title>Court rules</title><style>p{color:red}</style>
<script>var secret = "tracking";</script></head><body>
<nav><a href="/">Home</a> <a href="/x">Menu item</a></nav>
<header>Site banner</header>
<main><h1>Appeals</h1><p>Appeals are heard <b>within</b> 21 days.<br>Filing is free.</p>
<!-- a comment --><div>Loose <em>inline</em> text.<p>Inner paragraph.</p></div>
<ul><li>First rule</li><li>Second rule</li></ul>
<table><tr><th>Court</th><th>Days</th></tr><tr><td>Harbor</td><td>21</td></tr></table>
<p hidden>Hidden text</p></main>
<footer>Copyright</footer></body></html>"""


def test_readable_text_without_scripts_or_navigation(files):
    (record,) = read_outcome(HtmlSource(), files("page.html", PAGE)).records
    assert record["text"] == (
        "# Appeals\n\nAppeals are heard within 21 days. Filing is free.\n\nLoose inline text.\n\n"
        "Inner paragraph.\n\n- First rule\n\n- Second rule\n\n| Court | Days |\n| --- | --- |\n| "
        "Harbor | 21 |"
    )
    for junk in (
        "tracking",
        "color",
        "Menu item",
        "Site banner",
        "Copyright",
        "Hidden text",
        "comment",
    ):
        assert junk not in record["text"]
    assert record["meta"]["title"] == "Court rules" and record["meta"]["section"] == "Appeals"


def test_page_without_main_and_empty_page(files):
    (record,) = read_outcome(
        HtmlSource(), files("plain.htm", "<html><body><p>Just this.</p></body></html>")
    ).records
    assert record["text"] == "Just this."
    outcome = read_outcome(HtmlSource(), files("empty.html", "<html><script>x()</script></html>"))
    assert outcome.reason == "empty_document"
