"""docs/ARCHITECTURE.md stays true to the code: every module path and dotted name it gives
exists, every module of kubefab/ is named there, and no module outside the profiles
tests the release's version (the profile seam)."""
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs/ARCHITECTURE.md").read_text()
PRODUCT = ROOT / "kubefab"


def test_every_path_it_names_exists():
    paths = set(re.findall(r"`(kubefab/[\w/.-]+)`", DOC))
    assert paths, "the page names no module"
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == []


def test_every_dotted_name_it_gives_exists():
    names = set(re.findall(r"`(kubefab(?:\.\w+)+)", DOC))
    assert names
    bad = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                bad.append(name)
            break
        else:
            bad.append(name)
    assert bad == []


def test_every_module_is_named():
    """A module the page leaves out is one a newcomer cannot find."""
    named = set(re.findall(r"kubefab/[\w/.-]+\.py", DOC))
    named |= {f"kubefab/tasks/{m}" for m in re.findall(r"`(\w+\.py)`", DOC)}
    modules = {str(p.relative_to(ROOT)) for p in PRODUCT.rglob("*.py")}
    unnamed = sorted(m for m in modules if m not in named and not m.endswith("/__init__.py")
                     and not m.startswith("kubefab/profiles/legacy/templates"))
    assert unnamed == []


def test_no_version_test_outside_the_profiles():
    """The release's version picks the profile (kubefab.profiles.kind); the rest asks the
    profile. Reading the version is allowed where it is data: the release table, the skew
    rules, the inventory's checks, the model that holds it."""
    allowed = {"kubefab/versions.py", "kubefab/skew.py", "kubefab/validate.py", "kubefab/model.py",
               "kubefab/inventory.py"}
    pattern = re.compile(r"(kubernetes|\bk)\.(modern|minor|version_tuple)\b|versions\.profile\(|versions\.(LEGACY|MODERN)\b")
    offenders = []
    for p in PRODUCT.rglob("*.py"):
        rel = str(p.relative_to(ROOT))
        if rel.startswith("kubefab/profiles/") or rel in allowed:
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if pattern.search(line.split("#")[0]):
                offenders.append(f"{rel}:{i}: {line.strip()}")
    assert offenders == []
