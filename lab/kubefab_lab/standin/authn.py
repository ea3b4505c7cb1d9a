"""Who a request is from (secure port only; the insecure port is unauthenticated, as
it always was):
- `--client-ca-file`: client certificates are asked for (CERT_OPTIONAL) and verified
  against that CA; a verified one authenticates as user = CN, groups = O (+
  system:authenticated), like the real x509 authenticator. A request without one gets
  401 and a metav1 Status `Unauthorized` (x509 being the only authenticator).
  Difference: the real server (Go, tls.RequestClientCert) completes the handshake for a
  certificate from another CA and answers 401; Python's ssl has no verify callback, so
  the stand-in ends that handshake with a TLS alert (the client sees
  "remote error: tls: unknown certificate authority"). Refused either way, and logged.
- anonymous requests: as from 1.5 with `--anonymous-auth` (default true) unless the
  authorization mode includes AlwaysAllow (which resets it, as the real server does);
  system:anonymous reaches only /healthz, /version and discovery (403 elsewhere), as the
  default RBAC roles allow.
- no client CA and no anonymous: no authentication at all (v1.0 without authenticators).
- tokens and basic auth (`--token-auth-file`, `--basic-auth-file`) are not emulated: the
  Authorization header is not looked at (as with no token authenticator configured).
- authorization is AlwaysAllow for every authenticated user whatever
  `--authorization-mode` says (a warning says so when it is not AlwaysAllow), except
  from 1.35 on, where Node and RBAC are enforced as far as `authz` knows them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .common import Config, warning
from .flags import Parsed
from .objects import ApiError

ANONYMOUS_PATHS = {"/healthz", "/healthz/ping", "/version", "/livez", "/readyz"}
DISCOVERY_PATHS = {"/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1", "/swaggerapi"}


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f'user="{self.name}" groups={json.dumps(list(self.groups))}'


UNSECURED = User("system:unsecured")  # the insecure port: no authentication
NO_AUTHN = User("")  # the secure port with no authenticator configured


@dataclass(frozen=True)
class Authn:
    x509: bool  # --client-ca-file given
    anonymous: bool

    @property
    def enabled(self) -> bool:
        return self.x509 or self.anonymous


def authn_config(cfg: Config, fl: Parsed) -> Authn:
    modes = fl["authorization-mode"] or ["AlwaysAllow"]
    anonymous = cfg.v >= (1, 5) and bool(fl["anonymous-auth"])
    if anonymous and "AlwaysAllow" in modes:
        if fl.given("anonymous-auth"):
            warning("AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting AnonymousAuth to false. "
                    "You should use a different authorizer")
        anonymous = False
    for name in ("token-auth-file", "basic-auth-file"):
        if fl[name]:
            warning(f"--{name}={fl[name]}: not emulated by the stand-in; a request with only a token or a "
                    "password counts as one without credentials")
    if cfg.v < (1, 35) and [m for m in modes if m != "AlwaysAllow"]:
        warning(f"--authorization-mode={','.join(modes)}: not emulated; every authenticated request is allowed "
                "(AlwaysAllow), anonymous ones reach only health, version and discovery")
    return Authn(x509=bool(fl["client-ca-file"]), anonymous=anonymous)


def cert_user(cert: dict | None) -> User | None:
    """The x509 authenticator's CommonNameUserConversion: CN is the user, each O a group."""
    if not cert:
        return None
    cn, orgs = "", []
    for rdn in cert.get("subject") or ():
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    if not cn:
        return None
    return User(cn, tuple(orgs) + ("system:authenticated",))


UNAUTHORIZED = ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: User, method: str, path: str, query: dict) -> ApiError:
    m = re.fullmatch(r"/api/v1/(?:watch/)?(?:namespaces/([^/]+)/)?([^/]+)(?:/([^/]+))?(?:/([^/]+))?", path)
    if not m:
        return ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {method.lower()} path "{path}"', {})
    ns, resource, name, sub = m.groups()
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method)
    if verb is None:
        if method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = "watch" if "/watch/" in path or query.get("watch") in ("true", "1") else ("get" if name else "list")
    scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    what = f'{resource} "{name}"' if name else resource
    details = {"kind": resource, **({"name": name} if name else {})}
    return ApiError(403, "Forbidden", f'{what} is forbidden: User "{user.name}" cannot {verb} resource '
                    f'"{resource}{"/" + sub if sub else ""}" in API group "" {scope}', details)
