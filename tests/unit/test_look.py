"""wait.LOOK, the wait that looks on the host, run here by the real sh."""
import subprocess

import pytest

from kubefab.remote import wait

pytestmark = pytest.mark.pure


def look(tmp_path, tries, seconds, want, body):
    """LOOK with a command that counts its runs in a file; (exit code, output, runs)."""
    runs = tmp_path / "runs"
    command = ["sh", "-c", f"echo x >> {runs}; n=$(wc -l < {runs}); {body}"]
    out = subprocess.run([*wait.LOOK.argv(), str(tries), "0.01", str(seconds), want, *command],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    code, _, said = out.partition("\n")
    return int(code), said.strip(), len(runs.read_text().splitlines())


def test_it_stops_at_the_answer_it_wants_with_the_commands_code_and_output(tmp_path):
    body = 'if [ "$n" -ge 3 ]; then echo active; else echo activating; fi'
    assert look(tmp_path, 10, 5, "active|failed", body) == (0, "active", 3)


def test_after_its_tries_it_says_the_last_answer_and_its_stderr(tmp_path):
    assert look(tmp_path, 4, 5, "ok", 'echo "curl: (7) refused" >&2; exit 7') == (7, "curl: (7) refused", 4)


def test_a_slow_command_is_bounded_by_the_seconds_not_the_tries(tmp_path):
    """curl against a stalled apiserver takes its --max-time each try: 10 tries would be
    far longer than the round trip's seconds."""
    code, said, runs = look(tmp_path, 10, 1, "ok", "sleep 0.6; echo no")
    assert (code, said) == (0, "no") and runs <= 4
