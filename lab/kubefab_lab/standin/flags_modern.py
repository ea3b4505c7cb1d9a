"""The flags of today's Kubernetes (1.35-1.38), per program: what `flags.flags_for`
answers from 1.35 on (the tables in `flags` describe 1.0-1.19 and stay as they were).

Source: shared/k8s-flags-1.37.tsv (MODERN.md section 2): exact for the generic
apiserver, component-base and controller-manager options of 1.37, approximate for the
kube-apiserver-only, kubelet, kube-proxy and scheduler-specific ones (names right for
1.3x; flags added in 1.34-1.37 may be missing). The other minors are derived from it
with the differences MODERN.md documents:
- `--tls-curve-preferences` is new in 1.37 (the only change in the generic options
  since 1.36.3), so 1.35 and 1.36 refuse it;
- kubelet `--pod-infra-container-image` was removed in 1.35 (absent from all four);
- 1.38: no documented difference yet, so 1.37's set.
A flag's kind and default come from the old table where it has one (so the stand-ins
read `--secure-port`, `--node-labels`... as before), else from the sets below, else
it is a string.
"""
from __future__ import annotations

from .flag_tables import F, Flag, TABLES

NAMES_1_37 = {
    "kube-apiserver": """
        advertise-address cors-allowed-origins strict-transport-security-directives external-hostname
        max-requests-inflight max-mutating-requests-inflight request-timeout goaway-chance
        livez-grace-period min-request-timeout storage-initialization-timeout shutdown-delay-duration
        shutdown-send-retry-after shutdown-watch-termination-grace-period emulation-forward-compatible
        runtime-config-emulation-forward-compatible etcd-servers-overrides storage-media-type
        delete-collection-workers enable-garbage-collector watch-cache default-watch-cache-size
        watch-cache-sizes storage-backend etcd-servers etcd-prefix etcd-keyfile etcd-certfile
        etcd-cafile encryption-provider-config encryption-provider-config-automatic-reload
        etcd-compaction-interval etcd-count-metric-poll-period etcd-db-metric-poll-interval
        etcd-healthcheck-timeout etcd-readycheck-timeout lease-reuse-duration-seconds bind-address
        secure-port disable-http2-serving cert-dir tls-cert-file tls-private-key-file tls-cipher-suites
        tls-curve-preferences tls-min-version tls-sni-cert-key http2-max-streams-per-connection
        permit-port-sharing permit-address-sharing profiling contention-profiling debug-socket-path
        enable-priority-and-fairness enable-admission-plugins disable-admission-plugins
        admission-control-config-file runtime-config egress-selector-config-file tracing-config-file
        audit-policy-file audit-log-path audit-log-maxage audit-log-maxbackup audit-log-maxsize
        audit-log-format audit-log-version audit-log-compress audit-log-mode audit-log-batch-buffer-size
        audit-log-batch-max-size audit-log-batch-max-wait audit-log-batch-throttle-enable
        audit-log-batch-throttle-qps audit-log-batch-throttle-burst audit-log-truncate-enabled
        audit-log-truncate-max-batch-size audit-log-truncate-max-event-size audit-webhook-config-file
        audit-webhook-initial-backoff audit-webhook-batch-initial-backoff audit-webhook-version
        audit-webhook-mode audit-webhook-batch-buffer-size audit-webhook-batch-max-size
        audit-webhook-batch-max-wait audit-webhook-batch-throttle-enable
        audit-webhook-batch-throttle-qps audit-webhook-batch-throttle-burst
        audit-webhook-truncate-enabled audit-webhook-truncate-max-batch-size
        audit-webhook-truncate-max-event-size admission-control anonymous-auth api-audiences
        authentication-config authentication-token-webhook-cache-ttl
        authentication-token-webhook-config-file authentication-token-webhook-version client-ca-file
        enable-bootstrap-token-auth oidc-ca-file oidc-client-id oidc-groups-claim oidc-groups-prefix
        oidc-issuer-url oidc-required-claim oidc-signing-algs oidc-username-claim oidc-username-prefix
        requestheader-allowed-names requestheader-client-ca-file requestheader-extra-headers-prefix
        requestheader-group-headers requestheader-username-headers requestheader-uid-headers
        service-account-extend-token-expiration service-account-issuer service-account-jwks-uri
        service-account-key-file service-account-lookup service-account-max-token-expiration
        token-auth-file authorization-mode authorization-policy-file authorization-webhook-config-file
        authorization-webhook-version authorization-webhook-cache-authorized-ttl
        authorization-webhook-cache-unauthorized-ttl authorization-config event-ttl enable-logs-handler
        max-connection-bytes-per-sec proxy-client-cert-file proxy-client-key-file peer-ca-file
        peer-advertise-ip peer-advertise-port enable-aggregator-routing
        aggregator-reject-forwarding-redirect service-account-signing-key-file
        service-account-signing-endpoint coordinated-leadership-lease-duration
        coordinated-leadership-renew-deadline coordinated-leadership-retry-period allow-privileged
        apiserver-count endpoint-reconciler-type kubernetes-service-node-port service-cluster-ip-range
        service-node-port-range kubelet-preferred-address-types kubelet-port kubelet-read-only-port
        kubelet-timeout kubelet-client-certificate kubelet-client-key kubelet-certificate-authority
        cloud-provider cloud-config show-hidden-metrics-for-version disabled-metrics allow-metric-labels
        allow-metric-labels-manifest log-flush-frequency logging-format v vmodule log-text-split-stream
        log-text-info-buffer-size log-json-split-stream log-json-info-buffer-size emulated-version
        min-compatibility-version feature-gates version help
    """,
    "kube-controller-manager": """
        min-resync-period kube-api-content-type kube-api-qps kube-api-burst controller-start-interval
        controllers profiling contention-profiling enable-leader-migration leader-migration-config
        leader-elect leader-elect-lease-duration leader-elect-renew-deadline leader-elect-retry-period
        leader-elect-resource-lock leader-elect-resource-name leader-elect-resource-namespace
        cloud-provider cloud-config external-cloud-volume-plugin use-service-account-credentials
        allow-untagged-cloud route-reconciliation-period node-monitor-period cluster-name cluster-cidr
        allocate-node-cidrs cidr-allocator-type configure-cloud-routes node-sync-period
        concurrent-service-syncs attach-detach-reconcile-sync-period
        disable-attach-detach-reconcile-sync disable-force-detach-on-timeout cluster-signing-cert-file
        cluster-signing-key-file cluster-signing-kubelet-serving-cert-file
        cluster-signing-kubelet-serving-key-file cluster-signing-kubelet-client-cert-file
        cluster-signing-kubelet-client-key-file cluster-signing-kube-apiserver-client-cert-file
        cluster-signing-kube-apiserver-client-key-file cluster-signing-legacy-unknown-cert-file
        cluster-signing-legacy-unknown-key-file cluster-signing-duration concurrent-daemonset-syncs
        concurrent-deployment-syncs concurrent-statefulset-syncs concurrent-endpoint-syncs
        endpoint-updates-batch-period concurrent-service-endpoint-syncs max-endpoints-per-slice
        endpointslice-updates-batch-period mirroring-concurrent-service-endpoint-syncs
        mirroring-max-endpoints-per-subset mirroring-endpointslice-updates-batch-period
        concurrent-ephemeralvolume-syncs concurrent-gc-syncs enable-garbage-collector
        horizontal-pod-autoscaler-sync-period horizontal-pod-autoscaler-downscale-stabilization
        horizontal-pod-autoscaler-tolerance horizontal-pod-autoscaler-cpu-initialization-period
        horizontal-pod-autoscaler-initial-readiness-delay concurrent-horizontal-pod-autoscaler-syncs
        concurrent-job-syncs concurrent-cron-job-syncs namespace-sync-period concurrent-namespace-syncs
        node-cidr-mask-size node-cidr-mask-size-ipv4 node-cidr-mask-size-ipv6 service-cluster-ip-range
        node-eviction-rate secondary-node-eviction-rate node-startup-grace-period
        node-monitor-grace-period large-cluster-size-threshold unhealthy-zone-threshold
        pv-recycler-pod-template-filepath-nfs pv-recycler-minimum-timeout-nfs
        pv-recycler-increment-timeout-nfs pv-recycler-pod-template-filepath-hostpath
        pv-recycler-minimum-timeout-hostpath pv-recycler-timeout-increment-hostpath
        enable-hostpath-provisioner enable-dynamic-provisioning pvclaimbinder-sync-period
        volume-host-cidr-denylist volume-host-allow-local-loopback terminated-pod-gc-threshold
        concurrent-replicaset-syncs concurrent-rc-syncs resource-quota-sync-period
        concurrent-resource-quota-syncs service-account-private-key-file root-ca-file
        concurrent-serviceaccount-token-syncs concurrent-ttl-after-finished-syncs
        concurrent-validating-admission-policy-status-syncs legacy-service-account-token-clean-up-period
        master kubeconfig bind-address secure-port disable-http2-serving cert-dir tls-cert-file
        tls-private-key-file tls-cipher-suites tls-curve-preferences tls-min-version tls-sni-cert-key
        http2-max-streams-per-connection permit-port-sharing permit-address-sharing
        requestheader-username-headers requestheader-uid-headers requestheader-group-headers
        requestheader-extra-headers-prefix requestheader-client-ca-file requestheader-allowed-names
        client-ca-file authentication-kubeconfig authentication-token-webhook-cache-ttl
        authentication-skip-lookup authentication-tolerate-lookup-failure authorization-kubeconfig
        authorization-webhook-cache-authorized-ttl authorization-webhook-cache-unauthorized-ttl
        authorization-always-allow-paths show-hidden-metrics-for-version disabled-metrics
        allow-metric-labels allow-metric-labels-manifest log-flush-frequency logging-format v vmodule
        log-text-split-stream log-text-info-buffer-size log-json-split-stream log-json-info-buffer-size
        emulated-version min-compatibility-version feature-gates version help
    """,
    "kube-scheduler": """
        config write-config-to master profiling contention-profiling kubeconfig kube-api-content-type
        kube-api-qps kube-api-burst leader-elect leader-elect-lease-duration leader-elect-renew-deadline
        leader-elect-retry-period leader-elect-resource-lock leader-elect-resource-name
        leader-elect-resource-namespace bind-address secure-port disable-http2-serving cert-dir
        tls-cert-file tls-private-key-file tls-cipher-suites tls-curve-preferences tls-min-version
        tls-sni-cert-key http2-max-streams-per-connection permit-port-sharing permit-address-sharing
        requestheader-username-headers requestheader-uid-headers requestheader-group-headers
        requestheader-extra-headers-prefix requestheader-client-ca-file requestheader-allowed-names
        client-ca-file authentication-kubeconfig authentication-token-webhook-cache-ttl
        authentication-skip-lookup authentication-tolerate-lookup-failure authorization-kubeconfig
        authorization-webhook-cache-authorized-ttl authorization-webhook-cache-unauthorized-ttl
        authorization-always-allow-paths show-hidden-metrics-for-version disabled-metrics
        allow-metric-labels allow-metric-labels-manifest log-flush-frequency logging-format v vmodule
        log-text-split-stream log-text-info-buffer-size log-json-split-stream log-json-info-buffer-size
        emulated-version min-compatibility-version feature-gates version help
    """,
    "kubelet": """
        config config-dir kubeconfig bootstrap-kubeconfig hostname-override node-ip cert-dir
        cloud-provider root-dir seccomp-default node-labels lock-file exit-on-lock-contention
        image-credential-provider-config image-credential-provider-bin-dir
        minimum-container-ttl-duration maximum-dead-containers-per-container maximum-dead-containers
        register-schedulable experimental-mounter-path cloud-config
        experimental-allocatable-ignore-eviction enable-server fail-swap-on pod-manifest-path
        sync-frequency file-check-frequency http-check-frequency manifest-url manifest-url-header
        address port read-only-port container-runtime-endpoint image-service-endpoint anonymous-auth
        authentication-token-webhook authentication-token-webhook-cache-ttl client-ca-file
        authorization-mode authorization-webhook-cache-authorized-ttl
        authorization-webhook-cache-unauthorized-ttl tls-cert-file tls-private-key-file
        rotate-server-certificates tls-cipher-suites tls-min-version rotate-certificates registry-qps
        registry-burst event-qps event-burst enable-debugging-handlers contention-profiling healthz-port
        healthz-bind-address oom-score-adj cluster-domain volume-plugin-dir cluster-dns
        streaming-connection-idle-timeout node-status-update-frequency minimum-image-ttl-duration
        image-gc-high-threshold image-gc-low-threshold volume-stats-agg-period feature-gates
        kubelet-cgroups system-cgroups provider-id cgroups-per-qos cgroup-driver cgroup-root
        cpu-manager-policy cpu-manager-policy-options cpu-manager-reconcile-period qos-reserved
        topology-manager-policy runtime-request-timeout hairpin-mode max-pods pod-cidr pod-max-pids
        resolv-conf runonce cpu-cfs-quota cpu-cfs-quota-period enable-controller-attach-detach
        make-iptables-util-chains iptables-masquerade-bit iptables-drop-bit container-log-max-size
        container-log-max-files allowed-unsafe-sysctls node-status-max-images kernel-memcg-notification
        local-storage-capacity-isolation max-open-files kube-api-content-type kube-api-qps
        kube-api-burst serialize-image-pulls eviction-hard eviction-soft eviction-soft-grace-period
        eviction-pressure-transition-period eviction-max-pod-grace-period eviction-minimum-reclaim
        pods-per-core protect-kernel-defaults reserved-cpus topology-manager-scope
        topology-manager-policy-options system-reserved kube-reserved enforce-node-allocatable
        system-reserved-cgroup kube-reserved-cgroup log-flush-frequency logging-format v vmodule
        log-text-split-stream log-text-info-buffer-size log-json-split-stream log-json-info-buffer-size
        memory-manager-policy reserved-memory register-node register-with-taints version help
    """,
    "kube-proxy": """
        config write-config-to cleanup feature-gates kubeconfig master kube-api-content-type
        kube-api-burst kube-api-qps hostname-override bind-address healthz-bind-address
        metrics-bind-address bind-address-hard-fail profiling show-hidden-metrics-for-version init-only
        proxy-mode iptables-masquerade-bit masquerade-all iptables-localhost-nodeports
        iptables-sync-period iptables-min-sync-period ipvs-sync-period ipvs-min-sync-period
        ipvs-scheduler ipvs-exclude-cidrs ipvs-strict-arp ipvs-tcp-timeout ipvs-tcpfin-timeout
        ipvs-udp-timeout detect-local-mode pod-bridge-interface pod-interface-name-prefix cluster-cidr
        nodeport-addresses oom-score-adj conntrack-max-per-core conntrack-min
        conntrack-tcp-timeout-established conntrack-tcp-timeout-close-wait conntrack-tcp-be-liberal
        conntrack-udp-timeout conntrack-udp-timeout-stream config-sync-period healthz-port metrics-port
        proxy-port-range log-flush-frequency logging-format v vmodule log-text-split-stream
        log-text-info-buffer-size log-json-split-stream log-json-info-buffer-size version help
    """,
}

DEPRECATED_1_37 = {
    "kube-apiserver": """
        default-watch-cache-size audit-webhook-batch-initial-backoff admission-control
        enable-logs-handler apiserver-count kubelet-port kubelet-read-only-port cloud-provider
        cloud-config
    """,
    "kube-controller-manager": """
        allow-untagged-cloud node-sync-period
    """,
    "kube-scheduler": """
        profiling contention-profiling kubeconfig kube-api-content-type kube-api-qps kube-api-burst
    """,
    "kubelet": """
        minimum-container-ttl-duration maximum-dead-containers-per-container maximum-dead-containers
        register-schedulable experimental-mounter-path cloud-config
        experimental-allocatable-ignore-eviction enable-server fail-swap-on pod-manifest-path
        sync-frequency file-check-frequency http-check-frequency manifest-url manifest-url-header
        address port read-only-port container-runtime-endpoint image-service-endpoint anonymous-auth
        authentication-token-webhook authentication-token-webhook-cache-ttl client-ca-file
        authorization-mode authorization-webhook-cache-authorized-ttl
        authorization-webhook-cache-unauthorized-ttl tls-cert-file tls-private-key-file
        rotate-server-certificates tls-cipher-suites tls-min-version rotate-certificates registry-qps
        registry-burst event-qps event-burst enable-debugging-handlers contention-profiling healthz-port
        healthz-bind-address oom-score-adj cluster-domain volume-plugin-dir cluster-dns
        streaming-connection-idle-timeout node-status-update-frequency minimum-image-ttl-duration
        image-gc-high-threshold image-gc-low-threshold volume-stats-agg-period feature-gates
        kubelet-cgroups system-cgroups cgroups-per-qos cgroup-driver cgroup-root cpu-manager-policy
        cpu-manager-policy-options cpu-manager-reconcile-period qos-reserved topology-manager-policy
        runtime-request-timeout hairpin-mode max-pods pod-cidr pod-max-pids resolv-conf runonce
        cpu-cfs-quota cpu-cfs-quota-period enable-controller-attach-detach make-iptables-util-chains
        iptables-masquerade-bit iptables-drop-bit container-log-max-size container-log-max-files
        allowed-unsafe-sysctls node-status-max-images kernel-memcg-notification
        local-storage-capacity-isolation max-open-files kube-api-content-type kube-api-qps
        kube-api-burst serialize-image-pulls eviction-hard eviction-soft eviction-soft-grace-period
        eviction-pressure-transition-period eviction-max-pod-grace-period eviction-minimum-reclaim
        pods-per-core protect-kernel-defaults reserved-cpus topology-manager-scope
        topology-manager-policy-options system-reserved kube-reserved enforce-node-allocatable
        system-reserved-cgroup kube-reserved-cgroup logging-format log-text-split-stream
        log-text-info-buffer-size log-json-split-stream log-json-info-buffer-size memory-manager-policy
        reserved-memory register-node register-with-taints
    """,
    "kube-proxy": """
        healthz-port metrics-port proxy-port-range
    """,
}

# Flags that take no value (`--flag` alone means true); the rest need one.
BOOLS = set("""
    help enable-garbage-collector watch-cache encryption-provider-config-automatic-reload disable-http2-serving
    permit-port-sharing permit-address-sharing profiling contention-profiling enable-priority-and-fairness
    audit-log-compress audit-log-batch-throttle-enable audit-log-truncate-enabled audit-webhook-batch-throttle-enable
    audit-webhook-truncate-enabled anonymous-auth enable-bootstrap-token-auth service-account-extend-token-expiration
    service-account-lookup enable-logs-handler enable-aggregator-routing aggregator-reject-forwarding-redirect
    allow-privileged log-text-split-stream log-json-split-stream emulation-forward-compatible
    runtime-config-emulation-forward-compatible enable-leader-migration leader-elect use-service-account-credentials
    allow-untagged-cloud allocate-node-cidrs configure-cloud-routes disable-attach-detach-reconcile-sync
    disable-force-detach-on-timeout enable-hostpath-provisioner enable-dynamic-provisioning
    volume-host-allow-local-loopback authentication-skip-lookup authentication-tolerate-lookup-failure
    exit-on-lock-contention seccomp-default register-schedulable experimental-allocatable-ignore-eviction
    enable-server fail-swap-on authentication-token-webhook rotate-server-certificates rotate-certificates
    enable-debugging-handlers cgroups-per-qos runonce cpu-cfs-quota enable-controller-attach-detach
    make-iptables-util-chains kernel-memcg-notification local-storage-capacity-isolation serialize-image-pulls
    protect-kernel-defaults register-node cleanup bind-address-hard-fail init-only masquerade-all
    iptables-localhost-nodeports ipvs-strict-arp conntrack-tcp-be-liberal
""".split())

# pflag's deprecation notes, roughly: the kubelet's config-field flags all say this one
# (seen in real kubelet logs); the others' own texts are not all known.
KUBELET_NOTE = ("This parameter should be set via the config file specified by the Kubelet's --config flag. "
                "See https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/ for more information.")
OTHER_NOTE = "This flag will be removed in a future version."

ADDED_1_37 = {"tls-curve-preferences"}
MODERN = (1, 35)


def _flag(program: str, name: str, deprecated: bool) -> Flag:
    old = next((f for f in TABLES[program] if f.name == name), None)
    if name == "version":
        kind, default = "version", "false"
    elif old is not None:
        kind, default = old.kind, old.default
    else:
        kind, default = ("bool", False) if name in BOOLS else ("string", None)
    if program == "kubelet" and name == "kubeconfig":
        default = ""  # from 1.8 the kubelet has no default kubeconfig
    note = KUBELET_NOTE if program == "kubelet" else OTHER_NOTE
    return F(name, kind, default, added=MODERN, deprecated=MODERN if deprecated else None,
             deprecation=note if deprecated else "", short={"help": "h", "v": "v"}.get(name, ""))


def flags_for(program: str, version: tuple[int, ...]) -> dict[str, Flag]:
    deprecated = set(DEPRECATED_1_37[program].split())
    out = {}
    for name in NAMES_1_37[program].split():
        if name in ADDED_1_37 and version[:2] < (1, 37):
            continue
        out[name] = _flag(program, name, name in deprecated)
    return out
