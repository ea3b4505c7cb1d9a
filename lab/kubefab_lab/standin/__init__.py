"""Stand-ins for the Kubernetes server programs, for kubefab's lab and tests.

One package, five programs: `kube-apiserver`, `kube-scheduler`,
`kube-controller-manager`, `kubelet` and `kube-proxy`. `kubefab_lab.release` packs
it into one zipapp per program (stdlib only: the lab hosts have python3 and no pip
packages) with the release version and the injected faults baked in
(`config.json`); `__main__` dispatches on the program name (basename of argv[0]).

Each program parses its flags like the real binary of that version does (pflag
style, per-version flag tables in `flags`), and on the wire behaves like the real
one as far as kubefab, curl and the real kubectl can see, over plain HTTP or TLS with
client certificates (x509 authentication in `authn`, TLS kubeconfigs in `kubeconfig` and
`client`).
From 1.35 (today's releases) the programs take that version's flags (`flags_modern`),
read their config files as the real ones do (`configfiles`), and the apiserver
enforces Node/RBAC authorization and NodeRestriction (`authz`, `noderestriction`).
From 1.35 the apiserver also serves every resource of `registry` from etcd (`store`,
`api_routes`, `admission`, `merging` for strategic merge and server-side apply),
enforces RBAC from the bootstrap policy and the bindings in etcd (`policy`, `rbac`),
encrypts at rest (`encryption`, `ciphers`) and takes front-proxy headers
(`requestheader`); the controller manager and scheduler elect a leader (`leader`,
`control_plane`) and run `workloads`, `certsigner`, `scheduler`; the kubelet keeps a
node Lease and runs its pods' status (`kubelet_pods`).
What is not emulated is said where it matters (tokens, containers, iptables...).
"""

PROGRAMS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "kube-proxy")
FAULTS = {
    "apiserver-exits": "kube-apiserver exits 1 at once, with a message",
    "kubelet-no-register": "the kubelet runs (and answers /healthz) but never registers "
                           "or heartbeats its node",
}
