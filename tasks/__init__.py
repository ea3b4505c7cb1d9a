"""kubefab: stand up and run a Kubernetes cluster over SSH from hosts.yaml."""
from invoke import Collection

from . import cluster, lab, master, nodes, output
from .deploy import deploy, unlock

ns = Collection(deploy, unlock, cluster.status, output.cloud_config)
ns.add_task(output.render_files, name="render")
ns.add_collection(Collection.from_module(master))
ns.add_collection(Collection.from_module(nodes))
ns.add_collection(Collection.from_module(lab))
ns.configure({
    "kubefab": {
        "inventory": "hosts.yaml",  # KUBEFAB_INVENTORY overrides
        "parallel": 10,  # hosts worked on at once
        "timeout": 120,  # seconds for the apiserver to be healthy, nodes Ready
    },
})
