from kinject.records import Record
from kinject_plugins.augmenters.facts import (
    extract_facts,
    extract_values,
    fact_problems,
    name_aliases,
    split_sentences,
)


def kinds(text: str) -> list[tuple[str, str]]:
    return [(v.kind, v.text) for v in extract_values(text)]


def test_values_of_an_english_sentence() -> None:
    assert kinds("Veltrane Pharmaceuticals Ltd. was founded in 1998 by Mira Okafor.") == [
        ("name", "Veltrane Pharmaceuticals Ltd."),
        ("date", "1998"),
        ("name", "Mira Okafor"),
    ]
    assert kinds("Under Article 12, a permit costs 1,450 crowns.") == [
        ("citation", "Article 12"),
        ("quantity", "1,450 crowns"),
    ]


def test_values_of_a_chinese_sentence() -> None:
    assert kinds("定金于2020年5月1日支付，不超过合同金额的20%。") == [
        ("date", "2020年5月1日"),
        ("quantity", "20%"),
    ]
    assert kinds("依据第五条处理。") == [("citation", "第五条")]


def test_sentences_keep_abbreviations() -> None:
    text = "Orsa Labs Ltd. is based in Tallin. It employs 40 people. 定金已付。订金未付。"
    assert split_sentences(text) == [
        "Orsa Labs Ltd. is based in Tallin.",
        "It employs 40 people.",
        "定金已付。",
        "订金未付。",
    ]


def test_facts_are_sentences_with_values() -> None:
    record = Record(text="Welcome to the guide. The fee is 30 crowns. Read on.")
    facts = extract_facts(record)
    assert [f.text for f in facts] == ["The fee is 30 crowns."]
    assert facts[0].id == extract_facts(Record(text=record.text))[0].id  # stable ids


def test_fact_check_rejects_a_changed_number() -> None:
    source = "The maximum daily dose of Veltrane is 40 mg."
    assert fact_problems(source, "Veltrane's maximum daily dose is 40 mg.") == []
    problems = fact_problems(source, "Veltrane's maximum daily dose is 45 mg.")
    assert "quantity '40 mg' missing or changed" in problems
    assert "new quantity '45 mg'" in problems


def test_fact_check_dates_names_and_units() -> None:
    source = "The Corvell Water Act was enacted on 14 March 2011."
    assert fact_problems(source, "On March 14, 2011, the Corvell Water Act was enacted.") == []
    assert fact_problems(source, "The Corvell Water Act was enacted on 15 March 2011.")
    assert fact_problems(source, "The Corwell Water Act was enacted on 14 March 2011.")
    assert fact_problems("The dose is 40 mg.", "The dose is 40 g.")


def test_short_names_are_allowed_aliases() -> None:
    source = "Veltrane Pharmaceuticals Ltd. was founded in 1998 by Mira Okafor."
    assert name_aliases(source) == {"veltrane pharmaceuticals ltd.": {"Veltrane"}}
    assert fact_problems(source, "Mira Okafor founded Veltrane in 1998.") == []
    assert fact_problems(source, "Mira Okafor founded Veltrane in 1999.")
