"""kubefab: stand up and run a Kubernetes cluster over SSH from hosts.yaml."""
import sys

from invoke import Collection, Task
from invoke.parser.context import translate_underscores

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
    the lab's package, nor look for plugins at all when each word is a flag, one of
    kubefab's own tasks or a flag's value (the scan, and importlib.metadata's 16 ms of
    imports where nothing else needs them: --help, --list of a task, the local tasks)."""
    words = [w for w in argv if not w.startswith("-")]
    if OWN.intersection(words) and not strangers(argv):
        return tree
    from importlib.metadata import entry_points
    for plugin in entry_points(group=PLUGINS):
        named = any(w == plugin.name or w.startswith(plugin.name + ".") for w in words)
        if plugin.name not in tree.collections and (named or not OWN.intersection(words)):
            tree.add_collection(plugin.load(), name=plugin.name)
    return tree


def strangers(argv: list[str]) -> list[str]:
    """The words of `argv` that may name a plugin's task: neither a flag, one of kubefab's
    own tasks nor the value of a flag that the task before it takes. Where in doubt (a
    flag before any task, one unknown or of an optional value) the next word is a stranger
    unless it is kubefab's own: a plugin is looked for rather than missed."""
    task, strange, value = None, [], False
    for word in argv:
        if value:
            value = False
        elif word.startswith("-"):
            value = task is not None and "=" not in word and word.lstrip("-") in valued_flags(ns[task])
        elif word in OWN:
            task = word
        else:
            strange.append(word)
    return strange


def valued_flags(task: Task) -> set[str]:
    """The flags of `task` whose next word is their value, by Invoke's rule (a flag takes a
    value unless its default is a bool or it counts; one of an optional value may not),
    read from its signature: Task.get_arguments() would hand its help out to this call."""
    kept = set(task.iterable)
    return {translate_underscores(p.name) for p in task.argspec(task.body).parameters.values()
            if p.name not in task.optional and p.name not in task.incrementable
            and (p.name in kept or not isinstance(p.default, bool))}


add_plugins(ns, sys.argv[1:])  # as `fab` (the fabfile) or `kubefab` were asked
