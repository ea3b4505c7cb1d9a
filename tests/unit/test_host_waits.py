"""Host scripts that wait, by the real sh (tests/unit/script_worlds.py's stubs): wait-unit.sh
looks at the unit's state only when systemd logs the end of one of its jobs, not while
the unit works and logs; the master's probe waits for its slowest question, not their sum."""
from kubefab.layout import UNIT_DIR
from kubefab.remote import wait

from script_cases import Case, F, Host, U
from script_worlds import RealHost

X = "x.service"


def test_it_looks_when_a_job_ends_not_at_every_line_the_unit_logs(tmp_path):
    own = tuple(f"x: downloading part {i}" for i in range(10))  # the unit's own output
    host = Host({f"{UNIT_DIR}/{X}": F("[Service]\n")}, units={X: U(True, "activating")},
                journal={X: (*own, "=active", "job: Finished x.service")})
    seen = RealHost(tmp_path).run(Case("wait-unit", "", (X, "30", "active|failed"), host))
    assert seen.out == "active\n"
    looks = (tmp_path / "state" / "looks").read_text().splitlines()
    assert len(looks) == 2  # once before following, once when the job ended


def test_the_wait_follows_systemds_job_lines_of_the_unit():
    """What the script asks journalctl for: the unit's job-end lines (sd-messages.h's
    UNIT_STARTED, UNIT_FAILED, UNIT_STOPPED), not the unit's own output."""
    text = wait.WAIT_UNIT.text
    assert '"UNIT=$unit"' in text and "--unit" not in text
    for message_id in ("39f53479d3a045ac8e11786248231fbf", "be02cf6855d2428ba40df7e9d022f03d",
                       "9d1aaa27d60140bd96365438aad20286"):
        assert f"MESSAGE_ID={message_id}" in text


def test_the_masters_probe_asks_the_api_lists_while_the_health_check_runs(tmp_path):
    """Each takes a second here (a slow apiserver): the probe takes one, not two."""
    import time
    from kubefab import facts, health
    from kubefab.layout import LOCK_DIR
    slow = "#!/bin/sh\nsleep 1\necho ok\n"
    lister = '#!/bin/sh\nsleep 1\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && echo "[]" > "$2"; shift; done\n'
    host = Host({"/opt/check": F(slow, 0o755), "/opt/list": F(lister, 0o755)})
    nodes = health.Check("https://127.0.0.1:6443/api/v1/nodes", ("/opt/list", "https://127.0.0.1:6443/api/v1/nodes"), "")
    args = facts.probe_args("/opt/stamp", LOCK_DIR, [], [], healthz=["/opt/check"], lists=[nodes])
    start = time.monotonic()
    seen = RealHost(tmp_path).run(Case("probe", "", tuple(args), host))
    assert time.monotonic() - start < 1.8
    assert [line.split("\t")[0] for line in seen.out.splitlines()] == ["healthz", "list"]
