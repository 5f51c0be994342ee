"""OpenSSH server hardening filters of the fedisec.hardening collection.

- ``ssh_algorithms``: ``ssh_hardening_kex_algorithms |
  fedisec.hardening.ssh_algorithms(ssh_q_kex.stdout, 'kex', allow_weak=false)``
  returns the wanted algorithms the installed OpenSSH supports (the output of
  ``ssh -Q kex``; sshd has no ``-Q``), order preserved, duplicates removed. Kinds:
  kex, cipher, mac, hostkey, pubkey (``ssh -Q key-sig``) and casig (``ssh -Q
  sig``). Weak algorithms are refused unless ``allow_weak``; an empty result is an
  error.
- ``ssh_default_algorithms``: ``'kex' | fedisec.hardening.ssh_default_algorithms``
  returns the recommended list for a kind (the ssh-audit Debian 12 v3 / Debian 13
  v1 guides, post-quantum first), plus ``hardware_key`` for the FIDO2-only list.
- ``sshd_effective``: ``sshd_t.stdout | fedisec.hardening.sshd_effective`` parses
  ``sshd -T`` into a dict with lowercase keys; hostkey, port, listenaddress,
  acceptenv, subsystem and allow/deny users/groups are lists.
- ``ssh_lockout_problems``: ``config | fedisec.hardening.ssh_lockout_problems(login,
  keyed_users)`` returns why applying the configuration would lock the Ansible user
  or every key holder out; an empty list means it is safe.
- ``ssh_kex_with_fallback``: ``ssh_hardening_kex_algorithms |
  fedisec.hardening.ssh_kex_with_fallback(ssh_hardening_kex_classic_fallback)``
  appends curve25519-sha256 and curve25519-sha256@libssh.org when the switch is on.
- ``ssh_client_kex_problems``: ``kex | fedisec.hardening.ssh_client_kex_problems(
  ssh_q_kex.stdout, connection, classic_fallback, client, client_error)`` returns why
  Ansible could not reconnect with the final kex list: paramiko without a kex it
  implements, or an OpenSSH client (``ssh -Q kex`` on the controller) that supports
  none of them. Empty or garbled ``ssh -Q`` output is an error.
- ``ssh_totp_secret_problems``: ``ssh_hardening_totp_secrets |
  fedisec.hardening.ssh_totp_secret_problems(ansible_facts.getent_passwd)`` returns
  why the TOTP secrets cannot be installed (no such account, not base32 of 16+
  characters, a user twice), naming users, never a secret.
- ``ssh_admin_problems``: ``ssh_hardening_admins |
  fedisec.hardening.ssh_admin_problems(config, ssh_hardening_admin_sudo, login_user,
  login_keys)`` returns why the admins' accounts cannot be applied: a malformed entry or
  key, a missing password hash while sudo asks for one, an admin the policy would shut out,
  or a change that would cut Ansible's own login. Never shows a password hash.
- ``ssh_admin_entries``: ``ssh_hardening_admins | fedisec.hardening.ssh_admin_entries``
  fills in each entry's defaults (groups [], password_hash None, state present).
- ``pam_sshd_totp``: ``content | fedisec.hardening.pam_sshd_totp(enabled, nullok)``
  returns /etc/pam.d/sshd asking for the TOTP code instead of the Unix password
  (``@include common-auth`` replaced), or with the role's lines taken out again.
- ``pam_sshd_asks_totp``: ``content | fedisec.hardening.pam_sshd_asks_totp`` tells
  whether that file already asks for the TOTP code.

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_admins import ssh_admin_entries, ssh_admin_problems
from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_hardening import (
    ssh_algorithms,
    ssh_client_kex_problems,
    ssh_default_algorithms,
    ssh_kex_with_fallback,
    ssh_lockout_problems,
    sshd_effective,
)
from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_totp import (
    pam_sshd_asks_totp,
    pam_sshd_totp,
    ssh_totp_secret_problems,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for OpenSSH server configuration."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "ssh_algorithms": ansible_filter(ssh_algorithms),
            "ssh_default_algorithms": ansible_filter(ssh_default_algorithms),
            "sshd_effective": ansible_filter(sshd_effective),
            "ssh_lockout_problems": ansible_filter(ssh_lockout_problems),
            "ssh_kex_with_fallback": ansible_filter(ssh_kex_with_fallback),
            "ssh_client_kex_problems": ansible_filter(ssh_client_kex_problems),
            "ssh_totp_secret_problems": ansible_filter(ssh_totp_secret_problems),
            "ssh_admin_problems": ansible_filter(ssh_admin_problems),
            "ssh_admin_entries": ansible_filter(ssh_admin_entries),
            "pam_sshd_totp": ansible_filter(pam_sshd_totp),
            "pam_sshd_asks_totp": ansible_filter(pam_sshd_asks_totp),
        }
