"""The recap's last line tells the operator how to re-run the failed hosts. It must be a
command the task accepts, safe to copy: the program the operator ran (kubefab or fab),
their own flags (a dry run stays a dry run), the failed hosts, and no flag they did not
give (never --yes or --force)."""
import shlex

import pytest
from invoke.parser import Parser, ParserContext

from fakehost import FakeCluster
from kubefab.ops.deploy import Deploy
from kubefab.ops.etcd_restore import Restore
from kubefab.ops.etcd_snapshot import Snapshot
from kubefab.ops.master_restart import MasterRestart
from kubefab.ops.nodes_register import NodesRegister
from kubefab.ops.nodes_remove import NodesRemove
from kubefab.ops.operation import Options
from kubefab.ops.reset import Reset
from kubefab.ops.rollback import Rollback
from kubefab.ops.upgrade import Upgrade
from kubefab.tasks import ns
from kubefab.tasks.common import invocation

NODE, OTHER = "azure-prd-02", "ded-prd-01"
OPERATIONS = {
    "deploy": lambda inv, nodes, o: Deploy(inv, nodes, o),
    "master.restart": lambda inv, nodes, o: MasterRestart(inv, o),
    "nodes.register": lambda inv, nodes, o: NodesRegister(inv, nodes, {}, o),
    "nodes.remove": lambda inv, nodes, o: NodesRemove(inv, nodes[0], o),
    "nodes.remove --force": lambda inv, nodes, o: NodesRemove(inv, nodes[0], o, force=True),
    "reset": lambda inv, nodes, o: Reset(inv, nodes, o),
    "rollback": lambda inv, nodes, o: Rollback(inv, nodes, o),
    "upgrade": lambda inv, nodes, o: Upgrade(inv, nodes, o, "1", 60),
    "etcd.snapshot --out": lambda inv, nodes, o: Snapshot(inv, o, inv.path.parent / "s.db"),
}


def parse(command: str) -> tuple[str, str, dict]:
    """The program, the task and its flags, as Invoke's parser reads `command`."""
    argv = shlex.split(command)
    contexts = Parser(contexts=ns.to_contexts(), initial=ParserContext()).parse_argv(argv[1:])
    assert len(contexts) == 2, f"{command!r} parses as more than one task"
    task = contexts[1]
    return argv[0], task.name, {name: arg.value for name, arg in task.args.items() if arg.got_value}


@pytest.mark.parametrize("name", OPERATIONS)
def test_without_the_operators_command_the_hint_is_the_operations_own(inv, name):
    """kubefab used from Python: the task with what it needs, nothing more."""
    nodes = [h for h in inv.hosts if h.name in (NODE, OTHER)]
    op = OPERATIONS[name](inv, nodes, Options())
    failing = [h.name for h in op.fleet.hosts][-1:]
    program, task, flags = parse(op.rerun(failing))
    assert (program, task) == ("kubefab", name.split()[0])
    if task == "master.restart":
        assert flags == {}
    elif task == "etcd.snapshot":
        assert flags == {"out": str(inv.path.parent / "s.db")}
    elif task == "nodes.remove":
        assert flags == {"name": NODE, **({"force": True} if "--force" in name else {})}
    else:
        assert flags == {"hosts": failing[0]}  # a reset's hint does not add --yes


@pytest.mark.parametrize("argv", [
    ["fab", "deploy", "--dry-run", "--parallel", "3", "--hosts", "azure-prd-02,ded-prd-01"],
    ["kubefab", "reset", "--dry-run"],
    ["kubefab", "reset", "--yes", "--hosts=azure-prd-02"],
    ["kubefab", "rollback", "--dry-run", "--inventory", "other.yaml"],
])
def test_the_operators_own_flags_are_kept_and_the_hosts_replaced(inv, monkeypatch, argv):
    monkeypatch.setattr("sys.argv", argv)
    monkeypatch.setattr("kubefab.report.program", lambda: argv[0])
    words = invocation(argv[1])
    op = OPERATIONS[argv[1]](inv, list(inv.hosts), Options(dry_run="--dry-run" in argv, invocation=words))
    program, task, flags = parse(op.rerun([OTHER]))
    assert (program, task, flags.pop("hosts")) == (argv[0], argv[1], OTHER)
    given = {w.split("=")[0].lstrip("-") for w in argv[2:] if w.startswith("--")} - {"hosts"}
    assert set(flags) == given  # kept, none added: a dry run stays one, a --yes only if given


DRY_RUNS = {  # task: (its operation as the task builds it, a fault that fails a host in its dry run)
    "deploy": (lambda inv, o: Deploy(inv, list(inv.hosts), o), "probe"),
    "upgrade": (lambda inv, o: Upgrade(inv, list(inv.hosts), o), "probe"),
    "reset": (lambda inv, o: Reset(inv, list(inv.hosts), o), "probe"),
    "rollback": (lambda inv, o: Rollback(inv, list(inv.hosts), o), "connect"),
    "master.restart": (lambda inv, o: MasterRestart(inv, o), "probe"),
    "nodes.register": (lambda inv, o: NodesRegister(inv, list(inv.nodes), {}, o), "probe"),
    "nodes.remove": (lambda inv, o: NodesRemove(inv, inv.host(NODE), o), "connect"),
    "etcd.snapshot": (lambda inv, o: Snapshot(inv, o), "connect"),
    "etcd.restore": (lambda inv, o: Restore(inv, o, inv.path.parent / "s.db", b"x"), "connect"),
}


@pytest.mark.parametrize("task", DRY_RUNS)
def test_a_dry_runs_hint_run_as_printed_is_again_a_dry_run(inv, monkeypatch, capsys, task):
    """Its failure hint, copied, must never run for real (nor wipe hosts)."""
    argv = ["kubefab", task, *([str(inv.path.parent / "s.db")] if task == "etcd.restore" else []),
            *([NODE] if task == "nodes.remove" else []), "--dry-run"]
    monkeypatch.setattr("sys.argv", argv)
    cluster = FakeCluster(inv)
    make, fault = DRY_RUNS[task]
    failing = NODE if task == "nodes.remove" else inv.master.name
    cluster[failing].faults.add(fault)
    op = make(inv, Options(dry_run=True, invocation=invocation(task)))
    op.fleet = type(op.fleet)(op.fleet.hosts, connect=cluster.connect)
    assert op.run() == 1
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    command = last.split(": ", 1)[1] if last.startswith("Re-run") else None
    assert command, last
    program, name, flags = parse(command)
    assert (program, name) == ("kubefab", task) and flags.get("dry-run") is True, command
    assert not {"yes", "force"} & set(flags), command
