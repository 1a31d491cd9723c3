"""Tests of the rss source, using the fixtures kinject ships for plugin authors."""

from __future__ import annotations

from pathlib import Path

import kinject_rss
import pytest
from kinject_rss import RssSource, html_to_text

from kinject.errors import InputError

FEEDS = Path(__file__).parent / "feeds"


def read(name: str, **options: object) -> list:
    return list(RssSource(**options).read(str(FEEDS / name)))


def test_registered_through_its_hook(register_plugin, kinject_plugins) -> None:
    register_plugin(kinject_rss, name="rss")
    assert kinject_plugins.registry("source").get("rss").obj is RssSource


def test_rss2_items_become_documents() -> None:
    records = read("court-news.rss")
    assert len(records) == 2  # the third item has no text
    first = records[0]
    assert first.kind == "document"
    assert first.text == (
        "Earnest money versus advance payment\n\nEarnest money secures a contract.\n"
        "An advance payment is part of the price & is refunded if the contract fails."
    )
    assert first.source == {
        "uri": str(FEEDS / "court-news.rss"),
        "item": 0,
        "link": "https://example.org/notes/earnest-money",
        "id": "note-1",
    }
    assert first.meta["author"] == "A. Clerk" and first.meta["feed_title"] == "Contract Law Notes"
    # content:encoded wins over description; scripts are dropped
    assert records[1].text == "Capacity\n\nA contract is void when a party lacks capacity."


def test_atom_entry() -> None:
    (record,) = read("releases.atom")
    assert (
        record.text
        == "Rate rises by 0.25 <percent>\n\nThe interest rate rose by 0.25 percent in March 2024."
    )
    assert record.source["link"] == "https://example.org/rates/2024-03"
    assert record.source["id"] == "urn:rates:2024-03"
    assert record.meta["author"] == "Rates Desk"


def test_rss1_rdf_feed_in_an_xml_file() -> None:
    (record,) = read("digest.xml", include_title=False)
    assert record.text == "A patient with a fever of 39 degrees should drink water and rest."
    assert record.source["id"] == "https://example.org/digest/fever"


def test_min_chars_skips_short_items() -> None:
    assert len(read("court-news.rss", min_chars=60)) == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated.rss", "malformed_xml"),
        ("bomb.rss", "entities_not_allowed"),
        ("inventory.xml", "not_a_feed"),
        ("empty-channel.rss", "no_entries"),
        ("missing.rss", "unreadable"),
    ],
)
def test_bad_feeds_have_reason_codes(name: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        read(name)
    assert info.value.reason == reason
    assert name in str(info.value)


def test_malformed_names_line_and_column() -> None:
    with pytest.raises(InputError, match=r"line \d+, column \d+"):
        read("truncated.rss")


def test_matching() -> None:
    assert RssSource.matches(str(FEEDS / "court-news.rss"))
    assert RssSource.matches(str(FEEDS / "digest.xml"))
    # plain XML stays with the xml source
    assert not RssSource.matches(str(FEEDS / "inventory.xml"))
    assert RssSource.matches("feed+file:///srv/feeds/anything.txt")
    assert not RssSource.matches("https://example.org/feed.rss")


def test_feed_file_uri(tmp_path: Path) -> None:
    path = tmp_path / "saved.txt"
    path.write_bytes((FEEDS / "releases.atom").read_bytes())
    (record,) = list(RssSource().read(f"feed+file://{path}"))
    assert record.source["uri"] == f"feed+file://{path}"
    with pytest.raises(InputError) as info:
        list(RssSource().read("feed+file://relative/path.xml"))
    assert info.value.reason == "bad_uri"


def test_html_to_text() -> None:
    assert html_to_text("<ul><li>one</li><li>two &amp; three</li></ul>") == "one\ntwo & three"
    assert html_to_text("plain &lt;text&gt;") == "plain <text>"
    assert html_to_text("<style>p{}</style><p>kept</p>") == "kept"
