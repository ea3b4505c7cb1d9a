"""The `kubefab` command: Invoke's Program with kubefab's task tree, reading the same
settings as `fab` does with the repo's fabfile (fabric.yaml files, FABRIC_* variables)."""
from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

from invoke import Config, Program

from kubefab.tasks import ns


class KubefabConfig(Config):
    prefix = "fabric"  # ~/.fabric.yaml, /etc/fabric.yaml, ./fabric.yaml, FABRIC_KUBEFAB_PARALLEL=...


class Kubefab(Program):
    def update_config(self, merge: bool = True) -> None:
        # A fixed task tree has no project folder of its own: the operator's is the current one.
        self.config.set_project_location(os.getcwd())
        self.config.load_project(merge=False)
        super().update_config(merge)


def _version() -> str:
    try:
        return version("kubefab")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


program = Kubefab(namespace=ns, name="kubefab", binary="kubefab", version=_version(),
                  config_class=KubefabConfig)


def main() -> None:
    program.run()
