#!/bin/sh
# register_node.sh NODE MASTER_URL: create the Node object NODE on the apiserver at
# MASTER_URL with this node's labels, or, if it exists already, set its labels.
# Rendered by kubefab for azure-prd-02; run by kubernetes.register-node.service
# (the kubelet runs with --register-node=false).
# TLS: kubectl and curl present the kubelet's client certificate and check the
# apiserver's against the cluster CA.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: register_node.sh NODE MASTER_URL" >&2
    exit 2
fi
node=$1
master_url=$2
kubectl=/opt/bin/kubectl
# a Node created here carries what its kubelet would have set when registering itself
labels='{"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "azure-prd-02", "kubernetes.io/os": "linux", "environment": "production", "host": "azure", "name": "azure-prd-02", "workload": "high-available"}'
record='{"kubefab.io/labels": "environment,host,name,workload", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}'  # kubefab's record of its label keys, and the kubelet's
case $node in
    '' | *[!a-z0-9.-]*)
        echo "register_node.sh: '${node}' is not a valid node name" >&2
        exit 2 ;;
esac

# Wait until the apiserver says it is healthy: /healthz answers "ok" (60 tries, 2 s apart).
tries=0
until [ "$(curl --silent --fail --cacert /var/lib/kubernetes/ca.crt --cert /var/lib/kubelet/kubelet.crt --key /var/lib/kubelet/kubelet.key "${master_url}/healthz" || true)" = ok ]; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "register_node.sh: ${master_url}/healthz did not answer ok after ${tries} tries" >&2
        exit 1
    fi
    sleep 2
done

# Create first: a fresh node takes one kubectl; one that exists already gets its labels.
if out=$(printf '{"kind": "Node", "apiVersion": "v1", "metadata": {"name": "%s", "labels": %s, "annotations": %s}}\n' \
        "$node" "$labels" "$record" | "$kubectl" --kubeconfig /var/lib/kubelet/kubeconfig -s "$master_url" create --validate=false -f - 2>&1); then
    echo "register_node.sh: registered node ${node}"
else
    case $out in
        *AlreadyExists*) ;;
        *)
            printf '%s\n' "$out" >&2
            echo "register_node.sh: creating node ${node} on ${master_url} failed" >&2
            exit 1 ;;
    esac
    if ! "$kubectl" --kubeconfig /var/lib/kubelet/kubeconfig -s "$master_url" label --overwrite node "$node" environment=production host=azure name=azure-prd-02 workload=high-available; then
        echo "register_node.sh: node ${node} is registered, but setting its labels failed" >&2
        exit 1
    fi
    echo "register_node.sh: node ${node} was registered already; labels set"
fi
