"""kubefab: stand up and run a Kubernetes cluster over SSH from hosts.yaml."""
import sys
from importlib.metadata import entry_points

from invoke import Collection

from . import access, cluster, dayops, etcd, master, nodes, output, pki, secrets, upgrade
from .deploy import deploy, unlock
from .init import init

PLUGINS = "kubefab.tasks"  # entry-point group: more namespaces (the lab adds `lab`)

ns = Collection(init, deploy, upgrade.upgrade, unlock, cluster.status, output.cloud_config, access.kubeconfig,
                dayops.reset, dayops.logs, dayops.rollback)
ns.add_task(output.render_files, name="render")
ns.add_collection(Collection.from_module(master))
ns.add_collection(Collection.from_module(nodes))
ns.add_collection(Collection.from_module(etcd))
ns.add_collection(Collection.from_module(pki))
ns.add_collection(Collection.from_module(secrets))
ns.configure({
    "kubefab": {
        "inventory": "hosts.yaml",  # KUBEFAB_INVENTORY overrides
        "parallel": 10,  # hosts worked on at once
        "timeout": 120,  # seconds for the apiserver to be healthy, nodes Ready
    },
})
OWN = frozenset(name for task, aliases in ns.task_names.items() for name in (task, *aliases))


def add_plugins(tree: Collection, argv: list[str]) -> Collection:
    """The plugins' namespaces (installed beside kubefab, never imported by name) added to
    `tree`, each once, when the command line `argv` may name one of its tasks: it names
    none of kubefab's own (--list, --help, completion, a mistyped task: every task may be
    listed or matched), or a word starts with the plugin's name. A deploy does not import
    the lab's package."""
    words = [w for w in argv if not w.startswith("-")]
    for plugin in entry_points(group=PLUGINS):
        named = any(w == plugin.name or w.startswith(plugin.name + ".") for w in words)
        if plugin.name not in tree.collections and (named or not OWN.intersection(words)):
            tree.add_collection(plugin.load(), name=plugin.name)
    return tree


add_plugins(ns, sys.argv[1:])  # as `fab` (the fabfile) or `kubefab` were asked
