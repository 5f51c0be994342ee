"""TOTP as sshd's second factor: the secrets' checks and sshd's PAM stack.

- ``ssh_totp_secret_problems(secrets, accounts)``: why ``ssh_hardening_totp_secrets``
  cannot be installed (an account missing on the host, a secret that is not base32 of 16
  or more characters, a user listed twice). Messages name users, never a secret.
- ``pam_sshd_totp(text, enabled, nullok)``: ``/etc/pam.d/sshd`` as it must be. Enabled,
  Debian's ``@include common-auth`` (the Unix password) is replaced by
  ``pam_google_authenticator`` (and ``pam_permit`` after it with nullok); disabled, the
  role's lines are taken out again and the include comes back, so that a file the role
  changed returns to the one it found. Lines the role did not write stay as they are.
- ``pam_sshd_asks_totp(text)``: whether that file already asks for the TOTP code
  instead of the Unix password (the role's lines are in place, with or without nullok).

Pure functions with no Ansible dependency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLE = "ssh_hardening_totp_secrets"
PAM_FILE = "/etc/pam.d/sshd"

# pam_google_authenticator's decoder takes A-Z and 2-7 in either case (and maps 0, 1, 8 to
# O, L, B); it stops at anything else, "=" padding included, so padding is refused here.
# 16 characters = 80 bits, the shortest secret the google-authenticator tool ever made.
_SECRET = re.compile(r"[A-Za-z2-7]{16,}")
_MIN_SECRET = 16

COMMON_AUTH = "@include common-auth"
# The role's commented-out include: it marks the file as changed by the role (the exact
# form every version of the role wrote).
MARKER = "# @include common-auth  (fedisec.hardening: key + TOTP, no password)"
GOOGLE_AUTHENTICATOR = "auth required pam_google_authenticator.so"
PERMIT = "auth required pam_permit.so"

_COMMON_AUTH = re.compile(r"@include\s+common-auth")
_MARKER = re.compile(r"#\s*@include\s+common-auth\s+\(fedisec\.hardening: key \+ TOTP, no password\)")
_GOOGLE_AUTHENTICATOR = re.compile(r"auth\s+required\s+pam_google_authenticator\.so(?:\s+nullok)?")
_PERMIT = re.compile(r"auth\s+required\s+pam_permit\.so")


def _entry_problems(index: int, entry: object, seen: set[str], accounts: set[str]) -> list[str]:
    where = f"{VARIABLE}[{index}]"
    if not isinstance(entry, Mapping):
        return [f"{where} must be a dict with user and secret"]
    user, secret = entry.get("user"), entry.get("secret")
    if not isinstance(user, str) or not user:
        return [f"{where}.user must be the name of an account"]
    if user not in accounts and _SECRET.fullmatch(user):
        # Possibly user and secret swapped: the value is not shown.
        return [f"{where}.user is not an account on this host and looks like a TOTP secret"
                " (user and secret swapped?); the value is not shown"]
    problems = []
    if user in seen:
        problems.append(f"{VARIABLE}: {user} is listed more than once (one secret per user)")
    seen.add(user)
    if user not in accounts:
        problems.append(f"{VARIABLE}: no such user on this host: {user}")
    if not isinstance(secret, str):
        problems.append(f"{VARIABLE}: the secret for {user} is not a string")
    elif not _SECRET.fullmatch(secret):
        problems.append(
            f"{VARIABLE}: the secret for {user} is not base32 of {_MIN_SECRET} or more characters"
            " (A-Z and 2-7 only, no '=' padding, no spaces or newlines)")
    return problems


def ssh_totp_secret_problems(secrets: object, accounts: object) -> list[str]:
    """Return why the TOTP secrets cannot be installed; an empty list means they can.

    ``secrets`` is ``ssh_hardening_totp_secrets`` (a list of ``{user, secret}``);
    ``accounts`` the host's accounts: the ``getent passwd`` facts (a mapping keyed by
    name) or a list of names. No message contains a secret."""
    if not isinstance(secrets, list):
        raise ValueError(f"{VARIABLE} must be a list of {{user, secret}}")
    if isinstance(accounts, Mapping):
        names = set(accounts)
    elif isinstance(accounts, list) and all(isinstance(name, str) for name in accounts):
        names = set(accounts)
    else:
        raise ValueError("accounts must be the getent passwd facts or a list of user names")
    seen: set[str] = set()
    problems = []
    for index, entry in enumerate(secrets):
        problems.extend(_entry_problems(index, entry, seen, names))
    return problems


def _check_text(text: object) -> list[str]:
    if not isinstance(text, str):
        raise ValueError(f"the content of {PAM_FILE} must be a string")
    return text.split("\n")


def _role_block(lines: list[str]) -> tuple[int, int] | None:
    """The role's lines: (first, marker) indexes, or None when the file has none."""
    markers = [index for index, line in enumerate(lines) if _MARKER.fullmatch(line.strip())]
    if not markers:
        return None
    if len(markers) > 1:
        raise ValueError(f"{PAM_FILE} has the role's commented-out common-auth line more than once:"
                         " put Debian's file back (the openssh-server package's) and run the role again")
    first = markers[0]
    while first > 0 and (_GOOGLE_AUTHENTICATOR.fullmatch(lines[first - 1].strip())
                         or _PERMIT.fullmatch(lines[first - 1].strip())):
        first -= 1
    return first, markers[0]


def pam_sshd_asks_totp(text: object) -> bool:
    """True when sshd's PAM stack asks for the TOTP code instead of the Unix password:
    the role's pam_google_authenticator line above its commented-out common-auth."""
    lines = _check_text(text)
    block = _role_block(lines)
    if block is None:
        return False
    first, marker = block
    return any(_GOOGLE_AUTHENTICATOR.fullmatch(line.strip()) for line in lines[first:marker])


def pam_sshd_totp(text: object, enabled: object, nullok: object = False) -> str:
    """Return /etc/pam.d/sshd (``text``) with the TOTP code instead of the Unix password
    (``enabled``), or with the role's lines taken out and ``@include common-auth`` back.

    Idempotent, and only the auth lines change: enabling replaces the one
    ``@include common-auth`` line; disabling a file the role changed gives back the file
    it found. A file without the include (and without the role's lines) is refused when
    enabling: the role would not know where sshd's auth stack is."""
    lines = _check_text(text)
    if not isinstance(enabled, bool):
        raise ValueError(f"enabled must be a boolean, got {enabled!r}")
    if not isinstance(nullok, bool):
        raise ValueError(f"ssh_hardening_totp_nullok must be a boolean, got {nullok!r}")
    block = _role_block(lines)
    if block is None:
        includes = [index for index, line in enumerate(lines) if _COMMON_AUTH.fullmatch(line.strip())]
        if not enabled:
            return text  # nothing of the role's to take out
        if len(includes) != 1:
            raise ValueError(
                f"{PAM_FILE} must have exactly one '{COMMON_AUTH}' line for the role to replace with the TOTP"
                f" module, it has {len(includes)}: put Debian's file back (the openssh-server package's)"
                " or set up its auth stack by hand without ssh_hardening_totp_groups")
        first = last = includes[0]
    else:
        first, last = block
    if enabled:
        wanted = [GOOGLE_AUTHENTICATOR + (" nullok" if nullok else "")]
        wanted += [PERMIT] if nullok else []
        wanted.append(MARKER)
    else:
        wanted = [COMMON_AUTH]
    return "\n".join(lines[:first] + wanted + lines[last + 1:])
