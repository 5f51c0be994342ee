"""Prints, as JSON, every account that can log in with a key: its groups, the key types in
its authorized_keys (and authorized_keys2, Debian's default AuthorizedKeysFile), and
whether it has a TOTP secret. Read-only; run by the lock-out guard.

RSA keys shorter than 3072 bits are reported as "ssh-rsa:<bits>-bit": sshd refuses them
with RequiredRSASize 3072, so the guard must not count them."""
import base64
import binascii
import grp
import json
import os
import pwd
import re
import struct

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
        "key_types": types,
        "totp": os.path.exists(os.path.join(user.pw_dir, ".google_authenticator")),
    }
print(json.dumps(accounts, sort_keys=True))
