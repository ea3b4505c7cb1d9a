"""kubefab: stand up and run a Kubernetes cluster over SSH from hosts.yaml."""
from tasks import ns  # noqa: F401
