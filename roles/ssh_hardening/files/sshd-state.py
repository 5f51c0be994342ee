"""Prints, as JSON, what the ssh_hardening role needs to know about the host, in one
read-only pass (one remote call instead of one per question):

- supported: the algorithms this OpenSSH build supports (`ssh -Q`; sshd has no -Q and ssh
  comes from the same build), per kind: kex, cipher, mac, key-sig;
- sshd_t: the output of `sshd -T` for a plain root login from localhost (its keywords
  tell which options this sshd knows);
- host_key_files: the /etc/ssh/ssh_host_* files present;
- rsa_host_key_bits: the size of the RSA host key (0 when there is none);
- weak_moduli: how many DH moduli in /etc/ssh/moduli are shorter than --moduli-min-bits;
- dropin_included: whether an Include line of /etc/ssh/sshd_config names a pattern that
  matches --dropin (relative patterns are read from /etc/ssh, as sshd reads them);
- logins: every account that can log in with a key: its groups, home, the key types in its
  authorized_keys (and authorized_keys2, Debian's default AuthorizedKeysFile), and whether
  it has a TOTP secret. RSA keys shorter than 3072 bits are reported as
  "ssh-rsa:<bits>-bit": sshd refuses them with RequiredRSASize 3072, so the lock-out guard
  must not count them.

Usage: sshd-state.py --sshd /usr/sbin/sshd --moduli-min-bits 3072 --dropin /etc/ssh/sshd_config.d/NAME.conf"""
import argparse
import base64
import binascii
import fnmatch
import glob
import grp
import json
import os
import pwd
import re
import shlex
import struct
import subprocess

# "<options> <type> <base64 blob>": the type is the word before the blob.
KEY = re.compile(r"(?:^|\s)([a-z0-9@.-]+)\s+(AAAA[0-9A-Za-z+/]+=*)")
MIN_RSA_BITS = 3072


def rsa_bits(blob):
    """Modulus size of an ssh-rsa public key blob (string type, mpint e, mpint n)."""
    try:
        data = base64.b64decode(blob)
        offset = 0
        fields = []
        for _ in range(3):
            (length,) = struct.unpack(">I", data[offset:offset + 4])
            fields.append(data[offset + 4:offset + 4 + length])
            offset += 4 + length
        return int.from_bytes(fields[2], "big").bit_length()
    except (binascii.Error, struct.error, ValueError):
        return 0


def key_types(home):
    types = set()
    for name in ("authorized_keys", "authorized_keys2"):
        try:
            with open(os.path.join(home, ".ssh", name), encoding="utf-8", errors="replace") as keys:
                for line in keys:
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    for key_type, blob in KEY.findall(line):
                        bits = rsa_bits(blob) if key_type == "ssh-rsa" else MIN_RSA_BITS
                        types.add(key_type if bits >= MIN_RSA_BITS else f"{key_type}:{bits}-bit")
        except OSError:
            continue
    return sorted(types)


def logins():
    accounts = {}
    for user in pwd.getpwall():
        types = key_types(user.pw_dir)
        if not types:
            continue
        groups = sorted(g.gr_name for g in grp.getgrall() if user.pw_name in g.gr_mem)
        try:
            groups.insert(0, grp.getgrgid(user.pw_gid).gr_name)
        except KeyError:
            pass
        accounts[user.pw_name] = {
            "groups": groups,
            "home": user.pw_dir,
            "key_types": types,
            "totp": os.path.exists(os.path.join(user.pw_dir, ".google_authenticator")),
        }
    return accounts


def public_key_bits(path):
    """Modulus size of the RSA public key in an OpenSSH .pub file; 0 if missing or not RSA."""
    try:
        with open(path, encoding="utf-8", errors="replace") as key:
            found = KEY.findall(key.read())
    except OSError:
        return 0
    return rsa_bits(found[0][1]) if found and found[0][0] == "ssh-rsa" else 0


def weak_moduli(lines, min_bits):
    """Moduli lines (time type tests tries size generator modulus) whose size is below
    min_bits. The size field is the modulus length minus one. Counts exactly what the
    role's awk filter removes: a size that is not a number reads as 0, as in awk."""
    count = 0
    for line in lines:
        fields = line.split()
        if len(fields) < 7 or fields[0].startswith("#"):
            continue
        size = re.match(r"[0-9]*", fields[4]).group()
        if int(size or 0) + 1 < min_bits:
            count += 1
    return count


def includes(lines, dropin):
    """True when an Include line of the main configuration names a pattern that matches the
    drop-in's path (sshd reads relative patterns from /etc/ssh; `Include=...` and quoted
    patterns as sshd takes them)."""
    for line in lines:
        found = re.match(r"\s*include(?:\s*=\s*|\s+)(.*)", line, re.IGNORECASE)
        if not found:
            continue
        try:
            patterns = shlex.split(found.group(1), comments=True)
        except ValueError:
            continue
        for pattern in patterns:
            pattern = pattern if pattern.startswith("/") else os.path.join("/etc/ssh", pattern)
            # As glob(3): a wildcard never matches a '/'.
            wanted, parts = pattern.split("/"), dropin.split("/")
            if len(wanted) == len(parts) and all(map(fnmatch.fnmatchcase, parts, wanted)):
                return True
    return False


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sshd", default="/usr/sbin/sshd")
    parser.add_argument("--moduli-min-bits", type=int, default=3072)
    parser.add_argument("--dropin", default="/etc/ssh/sshd_config.d/00-fedisec-hardening.conf")
    args = parser.parse_args()
    try:
        with open("/etc/ssh/moduli", encoding="utf-8", errors="replace") as moduli:
            weak = weak_moduli(moduli, args.moduli_min_bits)
    except OSError:
        weak = 0
    try:
        with open("/etc/ssh/sshd_config", encoding="utf-8", errors="replace") as config:
            dropin_included = includes(config, args.dropin)
    except OSError:
        dropin_included = False
    print(json.dumps({
        "supported": {kind: run("ssh", "-Q", kind).split() for kind in ("kex", "cipher", "mac", "key-sig")},
        "sshd_t": run(args.sshd, "-T", "-C", "user=root,host=localhost,addr=127.0.0.1"),
        "host_key_files": sorted(glob.glob("/etc/ssh/ssh_host_*")),
        "rsa_host_key_bits": public_key_bits("/etc/ssh/ssh_host_rsa_key.pub"),
        "weak_moduli": weak,
        "dropin_included": dropin_included,
        "logins": logins(),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
