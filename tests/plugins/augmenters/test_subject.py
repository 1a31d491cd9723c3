from kinject.records import Record
from kinject_plugins.augmenters.subject import (
    Subject,
    document_subjects,
    has_unresolved_reference,
    names_subject,
    organisations,
    resolve,
    subject_of,
)

REPORT = (
    "Acme Widgets Inc. designs industrial pumps. The Company sells them in 40 countries. "
    "In 2019 Acme Widgets Inc. bought Pumpco Ltd. Our revenue grew by 8%."
)


def test_the_most_named_organisation_is_the_subject() -> None:
    subject = subject_of([REPORT], title="Annual Report 2019")
    assert subject == Subject("Acme Widgets Inc.", "Annual Report 2019", "organisation")


def test_an_organisation_named_once_is_not_enough() -> None:
    subject = subject_of(["Pumpco Ltd. was bought. We grew."], title="Annual Report 2019")
    assert (
        subject.name == ""
        and subject.title == "Annual Report 2019"
        and subject.label == "Annual Report 2019"
    )


def test_organisation_names() -> None:
    found = organisations(
        "Apple Inc. and The Boeing Company; Bank of America Corporation; Johnson & Johnson "
        "Services, Inc."
    )
    assert set(found) == {
        "Apple Inc.",
        "Boeing Company",
        "Bank of America Corporation",
        "Johnson & Johnson Services, Inc.",
    }


def test_first_person_and_self_references_become_the_subject() -> None:
    acme = Subject("Acme Inc.", "Annual Report", "organisation")
    assert resolve("What was our revenue in 2019?", acme) == "What was Acme Inc.'s revenue in 2019?"
    assert (
        resolve("When did the Company adopt ASC 842?", acme) == "When did Acme Inc. adopt ASC 842?"
    )
    assert (
        resolve("What do we pay on a cost-plus contract?", acme)
        == "What does Acme Inc. pay on a cost-plus contract?"
    )
    assert resolve("What is the Company's tax rate?", acme) == "What is Acme Inc.'s tax rate?"
    # "US" is a country, not "us"
    assert (
        resolve("How much in US dollars did we earn?", acme)
        == "How much in US dollars did Acme Inc. earn?"
    )
    assert (
        resolve("What was our revenue?", Subject("", "Annual Report", "title"))
        == "What was our revenue?"
    )


def test_names_subject() -> None:
    acme = Subject("Acme Inc.", "Annual Report 2019", "organisation")
    assert names_subject("What was Acme Inc.'s revenue?", acme)
    # the frame says whose "we"
    assert names_subject("In Annual Report 2019: what did we pay?", acme)
    assert names_subject("When was the Corvell Water Act enacted?", Subject())
    assert not names_subject("What was our revenue in 2019?", acme)
    assert not names_subject("What is the amount of total sales in 2019?", Subject())
    assert has_unresolved_reference("When did the Company list?") and not has_unresolved_reference(
        "When did Acme list?"
    )


def test_subjects_per_document() -> None:
    records = [
        Record(text=REPORT, source={"uri": "a.pdf"}, meta={"title": "A"}),
        Record(text="Acme Widgets Inc. again.", source={"uri": "a.pdf"}, meta={"title": "A"}),
        Record(text="We make tea.", source={"uri": "b.md"}, meta={"title": "Tea notes"}),
    ]
    subjects = document_subjects(records)
    assert subjects["a.pdf"].name == "Acme Widgets Inc." and subjects["b.md"] == Subject(
        "", "Tea notes", "title"
    )
