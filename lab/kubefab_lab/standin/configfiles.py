"""Component config files as today's programs (1.35+) read them: apiVersion and kind
must name a registered type, else the file is refused; unknown fields are a
"strict decoding error" that
- kube-scheduler (kubescheduler.config.k8s.io/v1) and kube-apiserver's
  EncryptionConfiguration (apiserver.config.k8s.io/v1, strict since 1.31, k/k #124912)
  refuse: exit 1;
- the kubelet (kubelet.config.k8s.io/v1beta1) and kube-proxy
  (kubeproxy.config.k8s.io/v1alpha1) only log, then decode leniently and go on: their
  codecs fall back to a lenient decoder for these versions ("Using lenient decoding as
  strict decoding failed"; k/k pkg/kubelet/kubeletconfig/util/codec,
  cmd/kube-proxy/app/options.go).
The field lists are the Go types' JSON names as far as known (1.3x); an object
marked ANY is not looked into. The error texts follow the real ones; each program's
wrapping is in `load`. The "in scheme" locations are the real ones for the kubelet
and the scheduler (seen in their logs), a guess for the other two.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import common, miniyaml

ANY = None
CLIENT = {"kubeconfig": ANY, "acceptContentTypes": ANY, "contentType": ANY, "qps": ANY, "burst": ANY}
KEYS = {"keys": [{"name": ANY, "secret": ANY}]}

KUBELET = dict.fromkeys("""
    enableServer staticPodPath podLogsDir syncFrequency fileCheckFrequency httpCheckFrequency staticPodURL
    staticPodURLHeader address port readOnlyPort tlsCertFile tlsPrivateKeyFile tlsCipherSuites tlsMinVersion
    rotateCertificates serverTLSBootstrap registryPullQPS registryBurst imagePullCredentialsVerificationPolicy
    preloadedImagesVerificationAllowlist eventRecordQPS eventBurst enableDebuggingHandlers
    enableContentionProfiling healthzPort healthzBindAddress oomScoreAdj clusterDomain clusterDNS
    streamingConnectionIdleTimeout nodeStatusUpdateFrequency nodeStatusReportFrequency nodeLeaseDurationSeconds
    imageMinimumGCAge imageMaximumGCAge imageGCHighThresholdPercent imageGCLowThresholdPercent
    volumeStatsAggPeriod kubeletCgroups systemCgroups cgroupRoot cgroupsPerQOS cgroupDriver cpuManagerPolicy
    singleProcessOOMKill cpuManagerPolicyOptions cpuManagerReconcilePeriod memoryManagerPolicy
    topologyManagerPolicy topologyManagerScope topologyManagerPolicyOptions qosReserved runtimeRequestTimeout
    hairpinMode maxPods podCIDR podPidsLimit resolvConf runOnce cpuCFSQuota cpuCFSQuotaPeriod
    nodeStatusMaxImages maxOpenFiles contentType kubeAPIQPS kubeAPIBurst serializeImagePulls
    maxParallelImagePulls evictionHard evictionSoft evictionSoftGracePeriod evictionPressureTransitionPeriod
    evictionMaxPodGracePeriod evictionMinimumReclaim mergeDefaultEvictionSettings podsPerCore
    enableControllerAttachDetach protectKernelDefaults makeIPTablesUtilChains iptablesMasqueradeBit
    iptablesDropBit featureGates failSwapOn containerLogMaxSize containerLogMaxFiles containerLogMaxWorkers
    containerLogMonitorInterval configMapAndSecretChangeDetectionStrategy systemReserved kubeReserved
    reservedSystemCPUs showHiddenMetricsForVersion systemReservedCgroup kubeReservedCgroup
    enforceNodeAllocatable allowedUnsafeSysctls volumePluginDir providerID kernelMemcgNotification logging
    enableSystemLogHandler enableSystemLogQuery shutdownGracePeriod shutdownGracePeriodCriticalPods
    shutdownGracePeriodByPodPriority crashLoopBackOff reservedMemory enableProfilingHandler
    enableDebugFlagsHandler seccompDefault memoryThrottlingFactor registerWithTaints registerNode tracing
    localStorageCapacityIsolation containerRuntimeEndpoint imageServiceEndpoint failCgroupV1 userNamespaces
""".split(), ANY) | {
    "authentication": {"x509": {"clientCAFile": ANY}, "webhook": {"enabled": ANY, "cacheTTL": ANY},
                       "anonymous": {"enabled": ANY}},
    "authorization": {"mode": ANY, "webhook": {"cacheAuthorizedTTL": ANY, "cacheUnauthorizedTTL": ANY}},
    "memorySwap": {"swapBehavior": ANY},
}

PROXY = dict.fromkeys("""
    featureGates logging hostnameOverride bindAddress healthzBindAddress metricsBindAddress bindAddressHardFail
    enableProfiling showHiddenMetricsForVersion mode iptables ipvs nftables winkernel detectLocalMode detectLocal
    clusterCIDR nodePortAddresses oomScoreAdj conntrack configSyncPeriod portRange windowsRunAsService linux
    windows ipFamily syncPeriod minSyncPeriod
""".split(), ANY) | {"clientConnection": CLIENT}

SCHEDULER = dict.fromkeys("""
    parallelism enableProfiling enableContentionProfiling percentageOfNodesToScore podInitialBackoffSeconds
    podMaxBackoffSeconds profiles extenders delayCacheUntilActive
""".split(), ANY) | {
    "clientConnection": CLIENT,
    "leaderElection": dict.fromkeys("leaderElect leaseDuration renewDeadline retryPeriod resourceLock "
                                    "resourceName resourceNamespace".split(), ANY),
}

ENCRYPTION = {"resources": [{"resources": ANY, "providers": [{
    "aescbc": KEYS, "aesgcm": KEYS, "secretbox": KEYS, "identity": {},
    "kms": dict.fromkeys("apiVersion name endpoint cachesize timeout".split(), ANY)}]}]}


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    fields: dict
    strict: bool  # unknown fields refused (True) or logged and ignored
    scheme: str  # where the real program's scheme is made, as its "no kind" error names it


KINDS = {
    "kubelet": Kind("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration", KUBELET, False,
                    "pkg/kubelet/apis/config/scheme/scheme.go:33"),
    "kube-proxy": Kind("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration", PROXY, False,
                       "k8s.io/kubernetes/pkg/proxy/apis/config/scheme/scheme.go:29"),
    "kube-scheduler": Kind("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration", SCHEDULER, True,
                           "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme/scheme.go:30"),
    "encryption": Kind("apiserver.config.k8s.io/v1", "EncryptionConfiguration", ENCRYPTION, True,
                       "k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go:69"),
}


class DecodeError(Exception):
    """The file cannot be used; str() is the real decoder's message."""


def unknown_fields(value, schema, path="") -> list[str]:
    """The JSON paths (Go's strict decoder's way: a.b[0].c) of fields the type lacks."""
    if schema is ANY:
        return []
    if isinstance(schema, list):
        if not isinstance(value, list):
            return []
        return [u for i, item in enumerate(value) for u in unknown_fields(item, schema[0], f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    out = []
    for key, sub in value.items():
        where = f"{path}.{key}" if path else key
        out += [where] if key not in schema else unknown_fields(sub, schema[key], where)
    return out


def decode(kind: Kind, text: str) -> tuple[dict, str | None]:
    """(the object, the strict decoding error it was leniently read past or None)."""
    try:
        doc = miniyaml.load_yaml(text)
    except ValueError as e:
        raise DecodeError(f"error converting YAML to JSON: yaml: {e}") from None
    if not isinstance(doc, dict) or not doc.get("kind"):
        raise DecodeError(f"Object 'Kind' is missing in '{text}'")
    if not doc.get("apiVersion"):
        raise DecodeError(f"Object 'apiVersion' is missing in '{text}'")
    if (doc["apiVersion"], doc["kind"]) != (kind.api_version, kind.kind):
        raise DecodeError(f'no kind "{doc["kind"]}" is registered for version "{doc["apiVersion"]}" in scheme '
                          f'"{kind.scheme}"')
    extra = unknown_fields({k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}, kind.fields)
    if not extra:
        return doc, None
    strict_error = "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in extra)
    if kind.strict:
        raise DecodeError(strict_error)
    return doc, strict_error


def _read(path: str, on_error) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except IsADirectoryError:
        on_error(f"read {path}: is a directory")
    except OSError as e:
        on_error(f"open {path}: {(e.strerror or str(e)).lower()}")


def load(program: str, path: str) -> dict:
    """The file `program` is given, read as that program reads it; an error is its
    `"command failed"` line and exit 1."""
    if program == "kubelet":
        base = f"failed to load kubelet config file, path: {path}, error: failed to load Kubelet config file {path}, error "
        text = _read(path, lambda e: common.command_failed(
            base + f'failed to read kubelet config file "{path}", error: {e}'))
        if not text.strip():
            common.command_failed(base + f'kubelet config file "{path}" was empty')
        wrap = lambda e: base + f"failed to decode: {e}"  # noqa: E731
    elif program == "kube-proxy":
        text = _read(path, lambda e: common.command_failed(f"failed complete: {e}"))
        wrap = lambda e: f"failed complete: failed to decode: {e}"  # noqa: E731
    elif program == "kube-scheduler":
        text = _read(path, common.command_failed)
        wrap = str
    else:  # the apiserver's --encryption-provider-config
        what = f'encryption provider configuration file "{path}"'
        text = _read(path, lambda e: common.command_failed(
            f"error while parsing file: error while loading file: error reading {what}: {e}"))
        if not text:
            common.command_failed(f"error while parsing file: error while loading file: {what} is empty")
        wrap = lambda e: f"error while parsing file: error decoding {what}: {e}"  # noqa: E731
    try:
        doc, lenient = decode(KINDS[program], text)
    except DecodeError as e:
        common.command_failed(wrap(str(e)))
    if lenient:
        common.info_structured("Using lenient decoding as strict decoding failed", err=lenient)
    return doc
