"""The recap's last line tells the operator how to re-run the failed hosts: that line must
be a command the task accepts, with what it needs (a reset without --yes is refused)."""
import shlex

import pytest
from invoke.parser import Parser, ParserContext

from kubefab.ops.deploy import Deploy
from kubefab.ops.etcd_snapshot import Snapshot
from kubefab.ops.master_restart import MasterRestart
from kubefab.ops.nodes_register import NodesRegister
from kubefab.ops.nodes_remove import NodesRemove
from kubefab.ops.operation import Options
from kubefab.ops.reset import Reset
from kubefab.ops.rollback import Rollback
from kubefab.tasks import ns
from kubefab.ops.upgrade import Upgrade

NODE, OTHER = "azure-prd-02", "ded-prd-01"
OPERATIONS = {
    "deploy": lambda inv, nodes: Deploy(inv, nodes, Options()),
    "master.restart": lambda inv, nodes: MasterRestart(inv, Options()),
    "nodes.register": lambda inv, nodes: NodesRegister(inv, nodes, {}, Options()),
    "nodes.remove": lambda inv, nodes: NodesRemove(inv, nodes[0], Options()),
    "nodes.remove --force": lambda inv, nodes: NodesRemove(inv, nodes[0], Options(), force=True),
    "reset": lambda inv, nodes: Reset(inv, nodes, Options()),
    "rollback": lambda inv, nodes: Rollback(inv, nodes, Options()),
    "upgrade": lambda inv, nodes: Upgrade(inv, nodes, Options(), "1", 60),
    "etcd.snapshot --out": lambda inv, nodes: Snapshot(inv, Options(), inv.path.parent / "s.db"),
}


def parse(command: str) -> tuple[str, dict]:
    """The task and its flags, as Invoke's parser reads `command` (fab ...)."""
    argv = shlex.split(command)
    assert argv[0] == "fab"
    contexts = Parser(contexts=ns.to_contexts(), initial=ParserContext()).parse_argv(argv[1:])
    assert len(contexts) == 2, f"{command!r} parses as more than one task"
    task = contexts[1]
    return task.name, {name: arg.value for name, arg in task.args.items() if arg.got_value}


@pytest.mark.parametrize("name", OPERATIONS)
def test_the_rerun_hint_is_a_command_the_task_accepts(inv, name):
    nodes = [h for h in inv.hosts if h.name in (NODE, OTHER)]
    op = OPERATIONS[name](inv, nodes)
    failing = [h.name for h in op.fleet.hosts][-1:]
    task, flags = parse(op.rerun(failing))
    assert task == name.split()[0]
    if task == "master.restart":
        assert flags == {}
    elif task == "etcd.snapshot":
        assert flags == {"out": str(inv.path.parent / "s.db")}
    elif task == "nodes.remove":
        assert flags == {"name": NODE, **({"force": True} if "--force" in name else {})}
    else:
        assert flags.pop("hosts") == failing[0]
        assert flags == ({"yes": True} if task == "reset" else {})
