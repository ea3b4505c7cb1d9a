"""`fab status` and `fab deploy --dry-run` read the same facts through the same
comparison (kubefab.drift): for a table of drifted fake hosts, status's problem lines
and the dry run's plan name the same things, and status fails exactly when the dry run
has something to do."""
import re

import pytest

from kubefab import render, status
from kubefab.ops import host
from kubefab.layout import KUBELET, LOCK_DIR, OWED_DIR, PROXY, STAGE_DIR, stamp_path

from fakehost import FakeFile
from test_deploy_fake import MASTER, NODE, deploy
from kubefab import layout

ENV, KEY, WUPIAO = "/etc/kubernetes.env", "/etc/kubernetes/pki/kubelet.key", "/opt/bin/wupiao"
FOREIGN = "alice@laptop pid 42 since 2024-01-01 00:00:00 UTC (run 0123456789ab)"


def edit(path, text):
    def do(cluster):
        cluster[NODE].files[path].content = text
    return do


def node(fn):
    return lambda cluster: fn(cluster[NODE])


# name -> (what to do to a converged cluster, {host: things named})
CASES = {
    "as deployed": (lambda c: None, {}),
    "a file edited": (edit(ENV, "# edited by hand\n"), {NODE: {ENV}}),
    "a key left readable": (node(lambda m: setattr(m.files[KEY], "mode", 0o644)), {NODE: {KEY}}),
    "a file gone": (node(lambda m: m.files.pop(WUPIAO)), {NODE: {WUPIAO}}),
    "a unit disabled": (node(lambda m: setattr(m.units[KUBELET], "enabled", False)), {NODE: {KUBELET}}),
    "a unit stopped": (node(lambda m: setattr(m.units[PROXY], "active", "inactive")), {NODE: {PROXY}}),
    "a restart owed": (node(lambda m: m.files.__setitem__(f"{OWED_DIR}/{KUBELET}", FakeFile("run 1\n"))),
                       {NODE: {KUBELET}}),
    "another release": (node(lambda m: setattr(m.files[stamp_path("/opt/kubernetes")], "content", "v0\n")),
                        {NODE: {"release"}}),
    "a lock held": (lambda c: c[MASTER].lock(LOCK_DIR, FOREIGN, 60, STAGE_DIR), {MASTER: {"lock"}}),
    "a leftover upload": (node(lambda m: m.files.__setitem__(f"{STAGE_DIR}/up-1/0", FakeFile("x"))),
                          {NODE: {"leftover"}}),
    "a Node hosts.yaml does not name": (lambda c: c.api.nodes.__setitem__("old-node", {}),
                                        {MASTER: {"old-node"}}),
}
STEP = re.compile(r"(create|update|set mode/owner|systemctl|run|restart|start|kubefab lock|leftover|node) ")


def vocabulary(inv) -> set[str]:
    """What a line may name: files, services (targets are only how units get started;
    the download is how a release gets installed), the release, kubefab's state."""
    paths = {p for h in inv.hosts for p in render.render_host(inv, h, _keys(inv))}
    units = {u for h in inv.hosts for u in inv.profile.unit_order(h)} - {layout.DOWNLOAD}
    return paths | units | {"release", "lock", "leftover", "old-node"}


def _keys(inv):
    from kubefab import pki
    return pki.ensure(inv)


def named(lines, words) -> set[str]:
    return {w for line in lines for w in words if re.search(rf"(?<![\w/.-]){re.escape(w)}(?![\w/.-])", line)}


def by_host(lines, pattern) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in lines:
        m = re.match(pattern, line)
        if m:
            out.setdefault(m[1], []).append(m[2])
    return out


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_status_and_the_dry_run_name_the_same_things(inv, cluster, capsys, case):
    drift, expected = CASES[case]
    assert deploy(inv, cluster) == 0
    drift(cluster)
    capsys.readouterr()
    words = vocabulary(inv)

    wanted, _ = status.wanted(inv)
    facts = {h.name: host.probe(cluster.connect(h).open(), inv, wanted[h.name]) for h in inv.hosts}
    problems = status.report(inv, wanted, facts, {})["problems"]
    said = by_host([p if p.split(" ")[0].endswith(":") else f"{MASTER}: {p}" for p in problems], r"(\S+): (.*)")

    assert deploy(inv, cluster, dry_run=True) == 0
    out = capsys.readouterr().out
    steps_shown = {h: [line for line in lines if STEP.match(line) and not re.fullmatch(r"restart \S+", line)]
                   for h, lines in by_host(out.splitlines(), r"\[(\S+)\] (.*)").items()}  # restarts a
    # change causes name the change already; a restart that stands alone says why

    assert {h: named(ls, words) for h, ls in said.items() if named(ls, words)} == expected, problems
    assert {h: named(ls, words) for h, ls in steps_shown.items() if named(ls, words)} == expected, out
    assert bool(problems) == bool(expected)
