"""The lab's sudo user whose sudo asks for a password (`ops`, uid 501, made in the base
image with `ops ALL=(ALL:ALL) ALL`): a password new with each `lab.up`, written 0600
to build/lab/ops.password and, hashed, into every host's /etc/shadow (through its
overlay, so the base image keeps ops locked). Logins stay key-only (sshd refuses
passwords); the password is for sudo.
"""
from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from .image import SUDO_USER
from .state import LabError

PASSWORD_FILE = f"{SUDO_USER}.password"


def new_password() -> str:
    return secrets.token_urlsafe(18)


def password_hash(password: str) -> str:
    """A SHA-512 crypt hash ($6$, random salt), as `passwd` writes on Debian 12."""
    proc = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                          capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.startswith("$6$"):
        raise LabError(f"openssl passwd -6 failed: {proc.stderr.strip() or proc.stdout.strip()}"
                       " (apt-get install openssl)")
    return proc.stdout.strip()


def shadow_with(text: str, user: str, hashed: str) -> str:
    """/etc/shadow's text with `user`'s password field set (pure)."""
    lines, found = [], False
    for line in text.splitlines():
        fields = line.split(":")
        if fields[0] == user and len(fields) > 2:
            fields[1], found = hashed, True
        lines.append(":".join(fields))
    if not found:
        raise LabError(f"no user {user} in the base image's /etc/shadow; rebuild the image")
    return "\n".join(lines) + "\n"


def set_password(root: Path, user: str, hashed: str) -> None:
    """Set the password in a host's /etc/shadow, keeping the file's mode and owner."""
    shadow = Path(root) / "etc/shadow"
    st = shadow.stat()
    text = shadow_with(shadow.read_text(), user, hashed)
    staged = shadow.with_name(".shadow.lab")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chown(staged, st.st_uid, st.st_gid)
    os.chmod(staged, st.st_mode & 0o7777)
    staged.replace(shadow)
