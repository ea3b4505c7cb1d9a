"""The layout's promise: the pure core imports neither fabric, invoke nor paramiko,
and remote.py is the one module of kubefab that does."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ["inventory", "model", "render", "pki", "plan", "facts", "registration", "status", "report",
        "layout", "remote.transport"]


def test_core_imports_no_ssh_or_task_library():
    code = ("import sys\n" + "".join(f"import kubefab.{m}\n" for m in CORE)
            + "print(sorted(m for m in ('fabric', 'invoke', 'paramiko') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_remote_imports_fabric_or_paramiko():
    importers = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "kubefab").rglob("*.py")
        if any(line.startswith(("import paramiko", "from paramiko", "import fabric", "from fabric"))
               for line in p.read_text().splitlines()))
    assert importers and all(p.startswith("kubefab/remote/ssh/") for p in importers), importers
