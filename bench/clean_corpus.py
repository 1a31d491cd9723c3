"""The generated corpus of ``bench/clean.py``: short documents with planted duplicates.

Every document comes from sentence templates filled with random facts, so distinct documents
often share their wording and differ only in names, amounts and dates: the hard negatives of
near-dedup. Planted on top: exact copies (case/whitespace changes), near copies (reworded, same
facts), boilerplate junk, and documents that quote an evaluation question.
"""

from __future__ import annotations

import random
from typing import Any

from kinject.evaluation import EvalItem
from kinject.records import Record

TEMPLATES = {
    "legal": [
        "The tenant {name} shall pay a deposit of ${amount} to the landlord before {date}.",
        "The contract price of ${amount2} is payable in {n} monthly instalments from {date}.",
        "Either party may terminate the lease in {city} with {n} days written notice.",
        "The court in {city} held that {name} breached the sales agreement on {date}.",
        "Earnest money of ${amount} is forfeited if the buyer {name} withdraws from the deal.",
        "The arbitration clause requires disputes to be heard in {city} within {n} days.",
    ],
    "medical": [
        "The patient {name} received {dose} mg of {drug} twice daily from {date}.",
        "Blood pressure was recorded at {n} mmHg during the visit in {city} on {date}.",
        "{drug} should be taken with food and never exceed {dose} mg per day.",
        "Follow-up for {name} is scheduled at the {city} clinic after {n} weeks.",
        "Side effects of {drug} were reported by {n} of the patients in the trial.",
    ],
    "finance": [
        "{company} reported revenue of ${amount2} for the quarter ending {date}.",
        "Operating costs of {company} rose by {n} percent compared with last year.",
        "The board of {company} approved a dividend of ${amount} per share on {date}.",
        "{company} opened a new branch in {city} employing {n} people.",
        "Net debt of {company} stood at ${amount2} after the refinancing in {city}.",
    ],
    "zh": [
        "租客{cname}应于{cdate}向房东支付{amount}元押金。",
        "合同价款为{amount2}元，分{n}期支付。",
        "患者{cname}自{cdate}起每日服用{dose}毫克{cdrug}。",
        "{ccity}分行于{cdate}开业，员工{n}人。",
    ],
}
SYNONYMS = [
    (" shall ", " must "),
    (" must ", " has to "),
    (" before ", " no later than "),
    (" held ", " ruled "),
    (" should ", " ought to "),
    (" rose ", " increased "),
    (" approved ", " agreed "),
    (" received ", " was given "),
    ("应于", "须于"),
    ("支付", "交付"),
]
FILLERS = ["In addition, ", "Note that ", "As agreed, ", "For the record, ", "此外，"]
FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kate",
    "Liam",
    "Mona",
    "Nils",
    "Olga",
    "Pavel",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
]
LAST = [
    "Smith",
    "Jones",
    "Brown",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Moore",
    "Taylor",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Lopez",
    "Hill",
]
CITIES = [
    "Boston",
    "Denver",
    "Austin",
    "Seattle",
    "Dublin",
    "Leeds",
    "Lyon",
    "Porto",
    "Turin",
    "Ghent",
    "Basel",
    "Graz",
    "Oslo",
    "Malmo",
    "Tartu",
    "Riga",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
]
DRUGS = [
    "metformin",
    "lisinopril",
    "atorvastatin",
    "amoxicillin",
    "ibuprofen",
    "omeprazole",
    "warfarin",
    "insulin",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
CN = {
    "cname": ["张伟", "王芳", "李娜", "刘洋", "陈静"],
    "ccity": ["北京", "上海", "广州", "成都"],
    "cdrug": ["阿司匹林", "二甲双胍", "布洛芬"],
}
JUNK = [
    "Page {n} of {n2}",
    "Click here to subscribe. " * 8,
    "---- **** ==== ---- #### ****",
    "Home | About | Contact | Login",
]


def _facts(rng: random.Random) -> dict[str, Any]:
    return {
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "amount": rng.randint(100, 99_999),
        "amount2": rng.randint(100_000, 9_999_999),
        "n": rng.randint(2, 90),
        "dose": rng.choice([5, 10, 20, 50, 250, 500]),
        "date": f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2015, 2025)}",
        "city": rng.choice(CITIES),
        "company": f"{rng.choice(COMPANIES)} {rng.choice(['Ltd', 'Inc', 'Group', 'Holdings'])}",
        "drug": rng.choice(DRUGS),
        "cdate": f"{rng.randint(2015, 2025)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        **{k: rng.choice(v) for k, v in CN.items()},
    }


def base_document(rng: random.Random) -> list[str]:
    domain = rng.choices(list(TEMPLATES), weights=[3, 3, 3, 1])[0]
    picked = rng.sample(TEMPLATES[domain], k=min(len(TEMPLATES[domain]), rng.randint(2, 3)))
    facts = _facts(rng)
    return [t.format(**facts) for t in picked]


def reword(sentences: list[str], rng: random.Random) -> str:
    """A near copy: same facts, different wording (two edits)."""
    out = list(sentences)
    edits = ["synonym", "filler", "order", "punct"]
    for edit in rng.sample(edits, 2):
        i = rng.randrange(len(out))
        if edit == "synonym":
            for old, new in rng.sample(SYNONYMS, len(SYNONYMS)):
                if old in out[i]:
                    out[i] = out[i].replace(old, new, 1)
                    break
            else:
                out[i] = out[i].rstrip(".。") + (
                    ", as agreed." if out[i].isascii() else "，经双方同意。"
                )
        elif edit == "filler":
            filler = rng.choice(FILLERS[:-1] if out[i].isascii() else FILLERS[-1:])
            out[i] = filler + (
                out[i][0].lower() + out[i][1:]
                if out[i][:1].isupper() and out[i][1:2].islower()
                else out[i]
            )
        elif edit == "order" and len(out) > 1:
            out[0], out[-1] = out[-1], out[0]
        else:
            out[i] = (
                out[i].replace(" the ", " the  ", 1).rstrip(".") + "!"
                if out[i].isascii()
                else out[i] + "！"
            )
    return " ".join(out)


def exact_copy(text: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        return text
    if style < 0.75:
        return "  " + text.replace(" ", "  \n", 1) + "\n"
    return text.upper() if text.isascii() else text + " "


def build_corpus(
    size: int, rng: random.Random
) -> tuple[list[Record], dict[str, int], list[EvalItem], dict[str, int]]:
    """``size`` Records, their planted cluster ids, eval items, and what was planted."""
    n_exact, n_near, n_junk, n_leak = (
        int(size * 0.1),
        int(size * 0.1),
        int(size * 0.01),
        min(10, size // 100),
    )
    n_base = size - n_exact - n_near - n_junk - n_leak
    bases = [base_document(rng) for _ in range(n_base)]
    # Short templated documents can collide by chance (same templates, same city and number):
    # identical bases are one cluster, or the truth would call a real duplicate distinct.
    first_of: dict[str, int] = {}
    base_cluster = [first_of.setdefault(" ".join(s).lower(), i) for i, s in enumerate(bases)]
    texts: list[tuple[str, int]] = [(" ".join(s), base_cluster[i]) for i, s in enumerate(bases)]
    picks = [rng.randrange(n_base) for _ in range(n_exact + n_near)]
    texts += [(exact_copy(" ".join(bases[c]), rng), base_cluster[c]) for c in picks[:n_exact]]
    texts += [(reword(bases[c], rng), base_cluster[c]) for c in picks[n_exact:]]
    junk = [
        t.format(n=rng.randint(1, 99), n2=rng.randint(100, 200))
        for t in rng.choices(JUNK, k=n_junk)
    ]
    # same junk text, same cluster
    junk_cluster = {t: n_base + i for i, t in enumerate(dict.fromkeys(junk))}
    texts += [(t, junk_cluster[t]) for t in junk]
    eval_items = []
    for k in range(n_leak):
        f = _facts(rng)
        question = (
            f"Under the lease signed by {f['name']} in {f['city']} on {f['date']}, what "
            "deposit did the tenant pay?"
        )
        eval_items.append(EvalItem(id=f"leak{k}", question=question, answer_text=f"${f['amount']}"))
        texts.append(
            (
                f"Practice question: {question} Answer: ${f['amount']}.",
                n_base + len(junk_cluster) + k,
            )
        )
    rng.shuffle(texts)
    records, cluster = [], {}
    for i, (text, c) in enumerate(texts):
        record = Record(text, source={"uri": f"gen://{i}"})
        records.append(record)
        cluster[record.id] = c
    planted = {
        "base": n_base,
        "exact": n_exact,
        "near": n_near,
        "junk": n_junk,
        "contaminated": n_leak,
        # exact = equal after lower-casing and collapsing whitespace (two rewordings can collide)
        "exact_drops": len(texts) - len({" ".join(t.lower().split()) for t, _ in texts}),
    }
    return records, cluster, eval_items, planted
