"""What kubefab writes on a host: one `File`, the unit render, plan, status and the
transports share. Pure data."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class File:
    path: str  # absolute path on the host
    content: str  # None only from a kubefab.pki.load() Pki that lacks the part: unknown
    mode: int  # 0o644
    owner: str = "root"
    group: str = "root"
    secret: bool = False  # never shown in a diff or log; a placeholder in `fab render`
    restarts: tuple[str, ...] = ()  # units to restart when this file changes
    secret_note: str = ""  # what the secret is, for the placeholder redact() puts in
