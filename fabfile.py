"""kubefab's tasks for Fabric's runner (`fab deploy`); the `kubefab` command is the same tree."""
from kubefab.tasks import ns  # noqa: F401
