"""examples/kinject-rss as a user installs it: its own distribution, found through the ``kinject``
entry point, listed by ``inject plugins`` and used to ingest feeds.

It is installed editable into a throwaway virtual environment, so the environment running the
tests is never changed. That environment sees this one's packages through a ``.pth`` file that
adds each of this interpreter's site directories. ``--system-site-packages`` would not do: it
inherits the *base* interpreter's packages, which are not these when the tests run in a venv.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

import kinject

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "kinject-rss"

pytestmark = pytest.mark.slow  # a virtual environment and an editable install: about 10 s


def site_dirs() -> list[str]:
    """This interpreter's existing site directories (its venv's first), each once."""
    paths = sysconfig.get_paths()
    candidates = [paths["purelib"], paths["platlib"], *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        candidates.append(site.getusersitepackages())
    found: dict[str, str] = {}
    for path in candidates:
        # keyed by the real path: lib64 is often a link to lib, and a .pth must not run twice
        if os.path.isdir(path):
            found.setdefault(os.path.realpath(path), path)
    return list(found.values())


def inherit_site_dirs(python: Path) -> Path:
    """Make ``python``'s environment see this one's packages; return the ``.pth`` file written."""
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run(
        [str(python), "-c", query], capture_output=True, text=True, check=True
    ).stdout.strip()
    # addsitedir, not a bare path line: it also runs those directories' own .pth files, such as
    # the __editable__ finders of an editable install of kinject.
    lines = [f"import site; site.addsitedir({path!r})\n" for path in site_dirs()]
    pth = Path(purelib) / "_kinject_test_parent_env.pth"
    pth.write_text("".join(lines), encoding="utf-8")
    return pth


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Python whose environment has kinject and pip (this one's) plus kinject-rss (installed
    here).
    """
    where = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    inherit_site_dirs(python)
    install = [
        str(python),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-e",
        str(EXAMPLE),
    ]
    proc = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    yield python
    shutil.rmtree(where, ignore_errors=True)


def run(python: Path, code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KINJECT_")}
    environ.update({"OMP_NUM_THREADS": "1", **env})
    proc = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=environ, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


DISCOVER = """
from kinject.plugins import build_plugins
plugins = build_plugins()
entry = plugins.registry("source").get("rss") if "rss" in plugins.registry("source") else None
info = plugins.info.get("rss")
print(entry and f"{entry.plugin} {entry.distribution} {entry.version} {entry.obj.__module__}")
print(info and info.builtin)
"""


def test_not_installed_in_the_test_environment(venv_python: Path) -> None:
    # after the install: it went into the throwaway environment, and only there
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("kinject-rss")
    assert (
        run(venv_python, "from importlib import metadata; print(metadata.version('kinject-rss'))")
        == "0.1.0\n"
    )


def test_sees_the_kinject_of_the_test_environment(venv_python: Path) -> None:
    assert run(venv_python, "import kinject; print(kinject.__file__)") == f"{kinject.__file__}\n"


def test_discovered_by_build_plugins(venv_python: Path) -> None:
    out = run(venv_python, DISCOVER).split("\n")
    assert out[0] == "rss kinject-rss 0.1.0 kinject_rss"
    assert out[1] == "False"


@pytest.mark.parametrize(
    ("var", "value"), [("KINJECT_LOAD_PLUGINS", ""), ("KINJECT_DISABLE_PLUGINS", "rss")]
)
def test_switched_off_by_environment(venv_python: Path, var: str, value: str) -> None:
    assert run(venv_python, DISCOVER, **{var: value}).split("\n")[0] == "None"


def test_listed_by_inject_plugins(venv_python: Path) -> None:
    code = "from kinject.cli import main; main(['plugins', '--kind', 'source', '--json'])"
    listing = json.loads(run(venv_python, code))
    rows = {row["name"]: row for row in listing["plugins"]}
    assert rows["rss"]["distribution"] == "kinject-rss"
    assert rows["rss"]["plugin"] == "rss"


INGEST = """
import json, sys
from pathlib import Path
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.ingest import ingest
from kinject.plugins import build_plugins

feeds, run_dir = Path(sys.argv[1]), Path(sys.argv[2])
config = RunConfig(sources={"ingest": {"workers": 0}, "rss": {"min_chars": 10}})
context = RunContext(run_dir=run_dir, config=config, plugins=build_plugins(), show_progress=False)
corpus = [str(feeds), "feed+file://" + str(feeds / "saved-feed.txt")]
records = list(ingest(corpus, context))
rows = [[r.source["uri"], r.lineage, r.text.splitlines()[0]] for r in records]
print(json.dumps({"records": rows, "quarantine": dict(context.quarantine.counts)}))
"""


def test_ingests_feeds_and_quarantines_broken_ones(venv_python: Path, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    for name in ("court-news.rss", "releases.atom", "digest.xml", "truncated.rss", "inventory.xml"):
        shutil.copy(EXAMPLE / "tests" / "feeds" / name, feeds / name)
    shutil.copy(EXAMPLE / "tests" / "feeds" / "releases.atom", feeds / "saved-feed.txt")
    code = INGEST.replace("sys.argv[1]", repr(str(feeds))).replace(
        "sys.argv[2]", repr(str(tmp_path / "run"))
    )
    result = json.loads(run(venv_python, code).strip().splitlines()[-1])
    by_title = {title: (uri, lineage) for uri, lineage, title in result["records"]}
    assert by_title["Earnest money versus advance payment"] == (
        str(feeds / "court-news.rss"),
        ["rss"],
    )
    assert by_title["Fever care"][0] == str(feeds / "digest.xml")  # an RDF feed in an .xml file
    assert f"feed+file://{feeds / 'saved-feed.txt'}" in {uri for uri, _, _ in result["records"]}
    assert result["quarantine"].get("malformed_xml") == 1
    # plain XML is not a feed: the builtin xml source (or no source) handles it, never rss
    assert not any(
        uri.endswith("inventory.xml") and lineage == ["rss"]
        for uri, lineage, _ in result["records"]
    )


def test_example_test_suite_passes(venv_python: Path) -> None:
    args = [
        str(venv_python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(EXAMPLE / "tests"),
    ]
    proc = subprocess.run(args, cwd=EXAMPLE, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout
