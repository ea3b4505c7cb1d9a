"""kubefab: stand up and run a Kubernetes cluster over SSH from hosts.yaml."""
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
for plugin in entry_points(group=PLUGINS):  # installed beside kubefab, never imported by name
    ns.add_collection(plugin.load(), name=plugin.name)
ns.configure({
    "kubefab": {
        "inventory": "hosts.yaml",  # KUBEFAB_INVENTORY overrides
        "parallel": 10,  # hosts worked on at once
        "timeout": 120,  # seconds for the apiserver to be healthy, nodes Ready
    },
})
