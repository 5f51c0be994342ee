"""Grade the facts of the read-only audit and render the report (JSON, Markdown, HTML).

Pure functions with no Ansible dependency and only standard-library imports, so they can be
imported both as ``ansible_collections.fedisec.hardening.plugins.module_utils.audit_report``
(the ``fedisec.hardening.audit_report`` module, run on the controller) and as a plain
``audit_report`` module.

The input is, per host, the ``audit`` dictionary that ``fedisec.hardening.host_audit`` returns
(the contract is in that module's documentation). Every section is ``None`` (the host does not
run that service: a grey "n/a" cell), a dictionary of raw facts, or ``{"error": text}`` (the probe
failed: a red cell with the text). Facts that do not follow the contract (a missing key, a wrong
type) never raise: the cell is red with ``unreadable facts: <what>``.

:func:`grade_host` turns one host's facts into one cell per check, in :data:`CHECKS` order;
:func:`build_report` grades every host into a JSON-serialisable report, which
:func:`render_markdown` and :func:`render_html` print. Thresholds come from :data:`DEFAULT_BARS`,
overridden with :func:`merge_bars`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, List, Tuple

__all__ = [
    "BAR_LEVELS",
    "CHECKS",
    "CSP_TEMPLATE",
    "DEFAULT_BARS",
    "STATUSES",
    "STATUS_WORDS",
    "STYLE",
    "build_report",
    "grade_host",
    "merge_bars",
    "render_html",
    "render_markdown",
    "style_hash",
    "worst",
]

# --------------------------------------------------------------------------- bars

# Numbers: "amber"/"red" are the first values that count as amber/red (None: never).
#   certificate_days_left, observatory_score: fewer days / a lower score than the bar.
#   backup_age_hours: older than the bar.  pending_security_updates: at least that many.
# Levels: the status a held package / a pending reboot gives (green: ignore it).
DEFAULT_BARS: dict[str, Any] = {
    "observatory_score": {"amber": 100, "red": 90},
    "certificate_days_left": {"amber": 30, "red": 14},
    "backup_age_hours": {"amber": 26, "red": 50},
    "pending_security_updates": {"amber": 1, "red": None},
    "reboot_required": "amber",
    "held_packages": "amber",
}

# How each numeric bar compares: "below" (value < bar), "above" (value > bar),
# "at_least" (value >= bar).
_BAR_DIRECTION = {
    "observatory_score": "below",
    "certificate_days_left": "below",
    "backup_age_hours": "above",
    "pending_security_updates": "at_least",
}
BAR_LEVELS = ("green", "amber", "red")

# --------------------------------------------------------------------------- statuses

STATUSES = ("none", "green", "amber", "red")  # from best to worst for worst()
STATUS_WORDS = {"green": "OK", "amber": "WARN", "red": "FAIL", "none": "n/a"}
_RANK = {status: rank for rank, status in enumerate(STATUSES)}
_SUMMARY_LIMIT = 80

Details = List[str]
Grade = Tuple[str, str, Details]


def worst(statuses: Sequence[str]) -> str:
    """The worst of ``statuses`` (red > amber > green > none); "none" for an empty list."""
    return max(statuses, key=_RANK.__getitem__, default="none")


# --------------------------------------------------------------------------- bar checks


def _is_number(value: object) -> bool:
    """An int or a finite float, not a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def _bar_error(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}")


def _merge_threshold(key: str, value: object, name: str) -> dict[str, Any]:
    """One numeric bar: the default with ``value``'s amber/red applied, checked."""
    where = f"{name}.{key}"
    if not isinstance(value, Mapping):
        raise _bar_error(where, f"must be a dict with amber and/or red, got {_kind(value)}")
    merged = dict(DEFAULT_BARS[key])
    for level, bar in value.items():
        if level not in ("amber", "red"):
            raise _bar_error(f"{where}.{level}", "unknown level (allowed: amber, red)")
        if bar is not None and not _is_number(bar):
            raise _bar_error(f"{where}.{level}", f"must be a number or null, got {_kind(bar)}")
        if bar is not None and bar < 0:
            raise _bar_error(f"{where}.{level}", f"must not be negative, got {bar}")
        merged[level] = bar
    _check_order(key, merged, where)
    return merged


def _check_order(key: str, bar: Mapping[str, Any], where: str) -> None:
    """Red must be at least as bad as amber (when both are set)."""
    amber, red = bar["amber"], bar["red"]
    if amber is None or red is None:
        return
    if _BAR_DIRECTION[key] == "below" and red > amber:
        raise _bar_error(
            f"{where}.red", f"{red} is above amber ({amber}): red must not be above amber"
        )
    if _BAR_DIRECTION[key] != "below" and red < amber:
        raise _bar_error(
            f"{where}.red", f"{red} is below amber ({amber}): red must not be below amber"
        )


def _merge_level(key: str, value: object, name: str) -> str:
    if value not in BAR_LEVELS:
        raise _bar_error(f"{name}.{key}", f"must be one of {', '.join(BAR_LEVELS)}, got {value!r}")
    return str(value)


def merge_bars(overrides: Mapping[str, Any] | None = None, name: str = "audit_bars") -> dict:
    """:data:`DEFAULT_BARS` with ``overrides`` applied, validated.

    ``overrides`` maps a bar to a dict of ``amber``/``red`` (numbers >= 0 or None; the level not
    given keeps its default) or, for ``reboot_required`` and ``held_packages``, to a status
    (green, amber or red). A complete bars dict (e.g. a report's ``bars``) merges to itself.
    Raises ValueError naming the key (``<name>.<bar>[.<level>]: ...``) for an unknown bar or
    level, a wrong type, a negative number, or red less strict than amber.
    """
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise _bar_error(name, f"must be a dict, got {_kind(overrides)}")
    merged = copy.deepcopy(DEFAULT_BARS)
    for key, value in overrides.items():
        if key not in DEFAULT_BARS:
            raise _bar_error(
                f"{name}.{key}", f"unknown bar (allowed: {', '.join(sorted(DEFAULT_BARS))})"
            )
        if key in _BAR_DIRECTION:
            merged[key] = _merge_threshold(key, value, name)
        else:
            merged[key] = _merge_level(key, value, name)
    return merged


def _against(value: float, bar: Mapping[str, Any], direction: str) -> str:
    """green, amber or red for ``value`` against a numeric ``bar``."""
    for level in ("red", "amber"):
        limit = bar[level]
        if limit is None:
            continue
        if direction == "below" and value < limit:
            return level
        if direction == "above" and value > limit:
            return level
        if direction == "at_least" and value >= limit:
            return level
    return "green"


# --------------------------------------------------------------------------- reading facts


class _Unreadable(Exception):
    """A fact does not follow the contract; the message says which and how."""


class _ProbeError(Exception):
    """A (sub)section is ``{"error": text}``: the probe failed."""


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


_KIND_NAMES = {bool: "bool", str: "str", dict: "dict", list: "list", int: "int", float: "number"}


def _matches(value: object, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if float in kinds and isinstance(value, (int, float)):
        return math.isfinite(value)
    if dict in kinds and isinstance(value, Mapping):
        return True
    return isinstance(value, kinds)


def _field(
    section: Mapping[str, Any],
    key: str,
    kinds: tuple[type, ...],
    where: str,
    *,
    nullable: bool = False,
    optional: bool = False,
) -> Any:
    """``section[key]`` if it has one of ``kinds`` (or is None and ``nullable``).

    A missing key is None when ``optional``, else unreadable.
    """
    if key not in section:
        if optional:
            return None
        raise _Unreadable(f"{where}.{key} missing")
    value = section[key]
    if value is None and (nullable or optional):
        return None
    if not _matches(value, kinds):
        expected = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise _Unreadable(f"{where}.{key}: expected {expected}, got {_kind(value)}")
    return value


def _strings(section: Mapping[str, Any], key: str, where: str, *, optional: bool = False):
    """A list of strings at ``section[key]`` (``[]`` when optional and absent)."""
    value = _field(section, key, (list,), where, optional=optional)
    if value is None:
        return []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _Unreadable(f"{where}.{key}[{index}]: expected str, got {_kind(item)}")
    return list(value)


def _flags(section: Mapping[str, Any], key: str, where: str, *, optional: bool = False):
    """A dict of str -> bool at ``section[key]`` (``{}`` when optional and absent)."""
    value = _field(section, key, (dict,), where, optional=optional)
    if value is None:
        return {}
    for name, flag in value.items():
        if not isinstance(flag, bool):
            raise _Unreadable(f"{where}.{key}.{name}: expected bool, got {_kind(flag)}")
    return {str(name): flag for name, flag in value.items()}


def _error_text(section: object, *, only_key: bool = False) -> str | None:
    """The text of an ``{"error": text}`` section, else None.

    A top-level section is an error when its ``error`` is set (no section has an ``error``
    fact); a nested one only when ``error`` is its only key (``backup.last_run`` has one).
    """
    if not isinstance(section, Mapping) or section.get("error") is None:
        return None
    if only_key and set(section) != {"error"}:
        return None
    return str(section["error"])


def _sub(section: Mapping[str, Any], key: str, where: str, *, nullable: bool = False):
    """A nested dict; its ``{"error": text}`` form raises :class:`_ProbeError`."""
    value = _field(section, key, (dict,), where, nullable=nullable)
    error = _error_text(value, only_key=True)
    if error is not None:
        raise _ProbeError(f"{key}: {error}")
    return value


# --------------------------------------------------------------------------- text helpers


def _one_line(text: object, limit: int = _SUMMARY_LIMIT) -> str:
    """``text`` on one line (whitespace and control characters collapsed), at most ``limit``."""
    line = re.sub(r"[\s\x00-\x1f\x7f]+", " ", str(text)).strip()
    if len(line) > limit:
        line = line[: max(limit - 3, 0)].rstrip() + "..."
    return line


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


def _listing(items: Sequence[str], limit: int = 3) -> str:
    """The first ``limit`` items joined, with a count of the rest."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} (+{len(items) - limit})"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _verdict(findings: list[tuple[str, str]], ok_summary: str, details: Details) -> Grade:
    """The worst finding's status, the non-green findings as summary (worst first)."""
    status = worst([level for level, _ in findings] or ["green"])
    if status == "none":
        status = "green"
    bad = sorted((f for f in findings if f[0] != "green"), key=lambda f: _RANK[f[0]], reverse=True)
    summary = "; ".join(text for _, text in bad) if bad else ok_summary
    return status, summary, details


# --------------------------------------------------------------------------- graders


def _grade_web(web: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    observatory = _sub(web, "observatory", "web")
    where = "web.observatory"
    score = _field(observatory, "score", (float,), where)
    grade = _field(observatory, "grade", (str,), where)
    tests = _field(observatory, "tests", (dict,), where, optional=True) or {}
    bar = bars["observatory_score"]
    status = _against(score, bar, "below")
    details = _web_request_details(web)
    details.append(f"MDN Observatory score {_number(score)}, grade {grade}")
    for name, test in tests.items():
        details.extend(_observatory_test(str(name), test, f"{where}.tests"))
    summary = f"{grade} ({_number(score)})"
    if status != "green":
        summary += f", bar {_number(bar[status])}"
    return status, summary, details


def _web_request_details(web: Mapping[str, Any]) -> Details:
    url = _field(web, "url", (str,), "web", optional=True)
    code = _field(web, "status", (int,), "web", optional=True)
    if url is None and code is None:
        return []
    return [f"{url or 'front page'} answered HTTP {code if code is not None else '?'}"]


def _observatory_test(name: str, test: object, where: str) -> Details:
    """A detail line for a test that cost points (none for the others)."""
    if not isinstance(test, Mapping):
        raise _Unreadable(f"{where}.{name}: expected dict, got {_kind(test)}")
    modifier = _field(test, "modifier", (int,), f"{where}.{name}")
    result = _field(test, "result", (str,), f"{where}.{name}")
    if modifier >= 0:
        return []
    return [f"{name}: {result} ({modifier:+d})"]


_GOOD_PROTOCOLS = ("TLSv1.2", "TLSv1.3")


def _grade_tls(web: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    del bars  # fixed rules
    protocols = _flags(web, "protocols", "web")
    weak = _strings(web, "weak_ciphers_accepted", "web")
    accepted = [name for name, ok in protocols.items() if ok]
    findings = []
    old = [name for name in accepted if name not in _GOOD_PROTOCOLS]
    if old:
        findings.append(("red", f"accepts {', '.join(old)}"))
    if not any(name in _GOOD_PROTOCOLS for name in accepted):
        findings.append(("red", "neither TLSv1.2 nor TLSv1.3 accepted"))
    if weak:
        findings.append(("red", f"weak suites: {_listing(weak)}"))
    details = [f"{name}: {'accepted' if ok else 'refused'}" for name, ok in protocols.items()]
    details.extend(f"weak suite accepted: {name}" for name in weak)
    details.extend(_tls_suite_details(web))
    ok_summary = f"{' + '.join(accepted)} only, no weak suites"
    return _verdict(findings, ok_summary, details)


def _tls_suite_details(web: Mapping[str, Any]) -> Details:
    details = []
    ciphers = _field(web, "ciphers", (dict,), "web", optional=True) or {}
    for protocol in ciphers:
        suites = _strings(ciphers, protocol, "web.ciphers")
        details.append(f"{protocol} suites: {', '.join(suites) or 'none'}")
    groups = _flags(web, "groups", "web", optional=True)
    if groups:
        accepted = [name for name, ok in groups.items() if ok]
        refused = [name for name, ok in groups.items() if not ok]
        line = f"groups: {', '.join(accepted) or 'none'}"
        details.append(line + (f" (refused: {', '.join(refused)})" if refused else ""))
    return details


def _grade_certificate(web: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    cert = _sub(web, "certificate", "web")
    where = "web.certificate"
    days = _field(cert, "days_left", (float,), where)
    chain_valid = _field(cert, "chain_valid", (bool,), where)
    bar = bars["certificate_days_left"]
    days_status = _against(days, bar, "below")
    days_text = f"{_number(days)} days left"
    findings = [(days_status, days_text + _bar_note(days_status, bar))]
    if not chain_valid:
        findings.append(("red", "chain not valid"))
    details = _certificate_details(cert, where)
    findings.extend(_tlsa_findings(cert, where, details))
    findings.extend(_caa_findings(cert, where, details))
    not_after = _field(cert, "not_after", (str,), where, optional=True)
    ok_summary = days_text + (f" (until {not_after[:10]})" if not_after else "")
    return _verdict(findings, ok_summary, details)


def _bar_note(status: str, bar: Mapping[str, Any]) -> str:
    """The ", bar N" suffix for an amber or red value (words, not "<": HTML keeps it as is)."""
    return "" if status in ("green", "none") else f", bar {_number(bar[status])}"


def _certificate_details(cert: Mapping[str, Any], where: str) -> Details:
    details = []
    for key, label in (("subject", "subject"), ("issuer", "issuer"), ("not_after", "valid until")):
        value = _field(cert, key, (str,), where, optional=True)
        if value is not None:
            details.append(f"{label}: {value}")
    names = _strings(cert, "names", where, optional=True)
    if names:
        details.append(f"names: {', '.join(names)}")
    key_type = _field(cert, "key_type", (str,), where, optional=True)
    if key_type is not None:
        curve = _field(cert, "curve", (str,), where, optional=True)
        bits = _field(cert, "bits", (int,), where, optional=True)
        extra = ", ".join(str(part) for part in (curve, bits and f"{bits} bits") if part)
        details.append(f"key: {key_type}" + (f" ({extra})" if extra else ""))
    chain_valid = cert["chain_valid"]
    details.append(f"chain: {'valid' if chain_valid else 'NOT valid'} against the trust store")
    return details


def _tlsa_findings(cert: Mapping[str, Any], where: str, details: Details):
    tlsa = _sub(cert, "tlsa", where, nullable=True)
    if tlsa is None:
        details.append("TLSA: none published")
        return []
    published = _strings(tlsa, "published", f"{where}.tlsa")
    served = _field(tlsa, "served", (str,), f"{where}.tlsa", optional=True)
    match = _field(tlsa, "match", (bool,), f"{where}.tlsa")
    details.extend(f"TLSA published: {record}" for record in published)
    details.append(f"TLSA of the served key: {served or 'unknown'}")
    if not published:
        details.append("TLSA: none published")
        return []
    return [] if match else [("red", "TLSA does not match the served key")]


def _caa_findings(cert: Mapping[str, Any], where: str, details: Details):
    caa = _sub(cert, "caa", where, nullable=True)
    published = [] if caa is None else _strings(caa, "published", f"{where}.caa")
    details.extend(f"CAA: {record}" for record in published)
    if not published:
        details.append("CAA: none published")
        return [("amber", "no CAA record")]
    return []


def _grade_ssh(ssh: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    del bars  # fixed rules
    weak = _strings(ssh, "weak", "ssh")
    password = _field(ssh, "password_authentication", (str,), "ssh")
    root = _field(ssh, "permit_root_login", (str,), "ssh")
    findings = []
    if weak:
        findings.append(("red", f"weak: {_listing(weak)}"))
    if password.strip().lower() == "yes":
        findings.append(("red", "password authentication on"))
    if root.strip().lower() == "yes":
        findings.append(("red", "root login allowed"))
    details = [f"weak algorithm offered: {name}" for name in weak]
    details.append(f"PasswordAuthentication {password}")
    details.append(f"PermitRootLogin {root}")
    methods = _field(ssh, "authentication_methods", (str,), "ssh", optional=True)
    if methods is not None:
        details.append(f"AuthenticationMethods {methods}")
    for key in ("kex", "ciphers", "macs", "hostkeyalgorithms"):
        offered = _strings(ssh, key, "ssh", optional=True)
        if offered:
            details.append(f"{key}: {', '.join(offered)}")
    ok_summary = f"no weak algorithms; password {password}, root {root}"
    return _verdict(findings, ok_summary, details)


def _grade_postgresql(pg: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    del bars  # fixed rules
    addresses = _strings(pg, "addresses", "postgresql")
    plain_refused = _flags(pg, "plain_refused", "postgresql")
    tls_accepted = _flags(pg, "tls_accepted", "postgresql")
    notes = _field(pg, "details", (dict,), "postgresql", optional=True) or {}
    plaintext, no_tls, details = [], [], []
    for address in addresses:
        refused, tls = plain_refused.get(address), tls_accepted.get(address)
        if refused is not True:
            plaintext.append(address)
        if tls is not True:
            no_tls.append(address)
        line = f"{address}: plaintext {_pg_word(refused, 'refused', 'ACCEPTED')}, "
        line += f"TLS {_pg_word(tls, 'accepted', 'REFUSED')}"
        note = notes.get(address)
        details.append(line + (f" ({_one_line(note, 200)})" if note else ""))
    findings = []
    if not addresses:
        findings.append(("red", "no address probed"))
    if plaintext:
        findings.append(("red", f"plaintext not refused on {_listing(plaintext)}"))
    if no_tls:
        findings.append(("red", f"TLS not accepted on {_listing(no_tls)}"))
    ok_summary = f"TLS only, on {_plural(len(addresses), 'address', 'addresses')}"
    return _verdict(findings, ok_summary, details)


def _pg_word(flag: bool | None, yes: str, no: str) -> str:
    return "not probed" if flag is None else (yes if flag else no)


def _grade_smtp(smtp: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    del bars  # fixed rules
    starttls = _field(smtp, "starttls", (bool,), "smtp")
    before = _strings(smtp, "auth_before_tls", "smtp")
    after = _strings(smtp, "auth_after_tls", "smtp", optional=True)
    port = _field(smtp, "port", (int,), "smtp", optional=True)
    version = _field(smtp, "tls_version", (str,), "smtp", optional=True)
    findings = []
    if not starttls:
        findings.append(("red", "no STARTTLS"))
    if before:
        findings.append(("red", f"AUTH before TLS: {_listing(before)}"))
    details = [
        f"port {port if port is not None else '?'}: STARTTLS {'offered' if starttls else 'MISSING'}"
    ]
    if version:
        details.append(f"TLS version: {version}")
    details.append(f"AUTH before STARTTLS: {', '.join(before) or 'none'}")
    details.append(f"AUTH after STARTTLS: {', '.join(after) or 'none'}")
    ok_summary = "STARTTLS" + (f" ({version})" if version else "") + ", no AUTH before TLS"
    return _verdict(findings, ok_summary, details)


def _grade_firewall(fw: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    del bars  # fixed rules
    loaded = _field(fw, "loaded", (bool,), "firewall")
    matches = _field(fw, "matches_confirmed", (bool,), "firewall")
    drops = _field(fw, "drops", (dict,), "firewall", optional=True) or {}
    packets = _field(drops, "packets", (int,), "firewall.drops", optional=True) or 0
    octets = _field(drops, "bytes", (int,), "firewall.drops", optional=True) or 0
    difference = _strings(fw, "difference", "firewall", optional=True)
    findings = []
    if not loaded:
        findings.append(("red", "table inet fedisec not loaded"))
    if not matches:
        findings.append(("red", f"differs from the confirmed rules ({len(difference)} lines)"))
    details = [
        f"table inet fedisec: {'loaded' if loaded else 'NOT loaded'}",
        f"rules {'match' if matches else 'DIFFER from'} /etc/fedisec/firewall/active.nft",
        f"dropped: {packets} packets, {octets} bytes",
    ]
    details.extend(f"diff: {line}" for line in difference)
    ok_summary = f"loaded as confirmed, {_plural(packets, 'packet')} dropped"
    return _verdict(findings, ok_summary, details)


def _grade_onion(onion: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    del bars  # fixed rules
    address = _field(onion, "address", (str,), "onion")
    active = _field(onion, "tor_active", (bool,), "onion")
    findings = []
    if not address.strip():
        findings.append(("red", "no onion address"))
    if not active:
        findings.append(("red", "tor not active"))
    details = [f"address: {address or 'none'}", f"tor: {'active' if active else 'NOT active'}"]
    short = address if len(address) <= 24 else f"{address[:12]}...{address[-10:]}"
    return _verdict(findings, short, details)


def _grade_backup(backup: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    if _sub(backup, "last_run", "backup", nullable=True) is None:
        # A server set up since its timer last fired: amber, not red, until the first run.
        return _verdict([("amber", "no backup has run yet")], "",
                        ["last run: none yet (the first one runs at fedisec-backup.timer)"])
    findings, details = _last_run_findings(backup)
    age = _field(backup, "age_hours", (float,), "backup", nullable=True)
    last_success = _field(backup, "last_success", (str,), "backup", optional=True)
    bar = bars["backup_age_hours"]
    if age is None:
        findings.append(("red", "never succeeded"))
        age_text = "no successful backup"
    else:
        age_text = f"last success {_number(round(age, 1))} h ago"
        status = _against(age, bar, "above")
        findings.append((status, age_text + _bar_note(status, bar)))
    details.append(age_text + (f" ({last_success})" if last_success else ""))
    drills = _drill_findings(backup, details)
    findings.extend(drills[0])
    findings.extend(_borg_check_findings(backup, details))
    return _verdict(findings, f"{age_text}, {drills[1]}", details)


def _last_run_findings(backup: Mapping[str, Any]) -> tuple[list, Details]:
    last_run = _sub(backup, "last_run", "backup")
    ok = _field(last_run, "ok", (bool,), "backup.last_run")
    error = _field(last_run, "error", (str,), "backup.last_run", optional=True)
    finished = _field(last_run, "finished", (str,), "backup.last_run", optional=True)
    line = f"last run{f' {finished}' if finished else ''}: {'ok' if ok else 'FAILED'}"
    details = [line + (f": {error}" if error else "")]
    if ok:
        return [], details
    return [("red", f"last run failed{f': {error}' if error else ''}")], details


def _drill_findings(backup: Mapping[str, Any], details: Details) -> tuple[list, str]:
    drills = _field(backup, "drill", (dict,), "backup", nullable=True) or {}
    failed = []
    for name, drill in drills.items():
        where = f"backup.drill.{name}"
        if not isinstance(drill, Mapping):
            raise _Unreadable(f"{where}: expected dict, got {_kind(drill)}")
        ok = _field(drill, "ok", (bool,), where)
        error = _field(drill, "error", (str,), where, optional=True)
        details.append(
            f"restore drill {name}: {'ok' if ok else 'FAILED'}" + (f": {error}" if error else "")
        )
        if not ok:
            failed.append(str(name))
    if not drills:
        details.append("restore drill: none recorded")
        return [("amber", "no restore drill")], "no drill"
    if failed:
        return [("red", f"drill failed: {_listing(failed)}")], "drill failed"
    return [], f"{_plural(len(drills), 'drill')} ok"


def _borg_check_findings(backup: Mapping[str, Any], details: Details) -> list:
    check = _sub(backup, "check", "backup", nullable=True) if "check" in backup else None
    if check is None:
        return []
    ok = _field(check, "ok", (bool,), "backup.check")
    finished = _field(check, "finished", (str,), "backup.check", optional=True)
    details.append(
        f"repository check{f' {finished}' if finished else ''}: {'ok' if ok else 'FAILED'}"
    )
    return [] if ok else [("red", "repository check failed")]


def _grade_updates(updates: Mapping[str, Any], bars: Mapping[str, Any]) -> Grade:
    pending = _strings(updates, "pending_security", "updates")
    held = _strings(updates, "held", "updates")
    reboot = _field(updates, "reboot_required", (bool,), "updates")
    reboot_packages = _strings(updates, "reboot_packages", "updates", optional=True)
    count_status = _against(len(pending), bars["pending_security_updates"], "at_least")
    findings, parts = [], []
    if pending:
        parts.append(f"{_plural(len(pending), 'security update')} pending")
        findings.append((count_status, parts[-1]))
    if held:
        parts.append(f"{len(held)} held")
        findings.append((bars["held_packages"], f"{len(held)} held: {_listing(held, 2)}"))
    if reboot:
        parts.append("reboot required")
        findings.append((bars["reboot_required"], "reboot required"))
    details = [f"pending security update: {name}" for name in pending]
    details.extend(f"held: {name}" for name in held)
    details.append(f"reboot required: {'yes' if reboot else 'no'}")
    details.extend(f"reboot wanted by: {name}" for name in reboot_packages)
    return _verdict(findings, "; ".join(parts) or "up to date", details)


# --------------------------------------------------------------------------- cells

# (check id, title, short column name for Markdown, facts section, grader)
CHECKS: tuple[tuple[str, str, str, str, Callable[..., Grade]], ...] = (
    ("web", "Web headers", "web", "web", _grade_web),
    ("tls", "TLS", "tls", "web", _grade_tls),
    ("certificate", "Certificate", "cert", "web", _grade_certificate),
    ("ssh", "SSH", "ssh", "ssh", _grade_ssh),
    ("postgresql", "PostgreSQL", "pg", "postgresql", _grade_postgresql),
    ("smtp", "SMTP", "smtp", "smtp", _grade_smtp),
    ("firewall", "Firewall", "fw", "firewall", _grade_firewall),
    ("onion", "Onion", "onion", "onion", _grade_onion),
    ("backup", "Backup", "backup", "backup", _grade_backup),
    ("updates", "Updates", "updates", "updates", _grade_updates),
)


def _make_cell(check: str, title: str, status: str, summary: str, details: Details) -> dict:
    return {
        "check": check,
        "title": title,
        "status": status,
        "summary": _one_line(summary),
        "details": [_one_line(line, 1000) for line in details],
    }


def _grade_cell(check: str, title: str, section: str, grader: Callable, facts, bars) -> dict:
    """One cell: n/a, probe error, unreadable facts or the grader's verdict."""
    if section not in facts:
        what = f"{section} missing"
        return _make_cell(check, title, "red", f"unreadable facts: {what}", [what])
    value = facts[section]
    if value is None:
        return _make_cell(check, title, "none", "n/a", [])
    error = _error_text(value)
    if error is not None:
        return _make_cell(check, title, "red", f"error: {error}", [error])
    if not isinstance(value, Mapping):
        what = f"{section}: expected dict or null, got {_kind(value)}"
        return _make_cell(check, title, "red", f"unreadable facts: {what}", [what])
    try:
        status, summary, details = grader(value, bars)
    except _ProbeError as exc:
        return _make_cell(check, title, "red", f"error: {exc}", [str(exc)])
    except _Unreadable as exc:
        return _make_cell(check, title, "red", f"unreadable facts: {exc}", [str(exc)])
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        what = f"{section}: {type(exc).__name__}: {exc}"
        return _make_cell(check, title, "red", f"unreadable facts: {what}", [what])
    return _make_cell(check, title, status, summary, details)


def grade_host(facts: Mapping[str, Any], bars: Mapping[str, Any] | None = None) -> list[dict]:
    """One cell per check of :data:`CHECKS`, in that order, for one host's audit facts.

    Each cell is ``{"check", "title", "status", "summary", "details"}`` with status green,
    amber, red or none (the section is null: summary "n/a"). ``bars`` is merged over
    :data:`DEFAULT_BARS` (see :func:`merge_bars`, which raises ValueError for bad bars).
    Facts that break the contract make that cell red ("unreadable facts: ..."); only a
    ``facts`` that is not a dict raises ValueError.
    """
    if not isinstance(facts, Mapping):
        raise ValueError(f"facts must be a dict, got {_kind(facts)}")
    merged = merge_bars(bars)
    return [
        _grade_cell(check, title, section, grader, facts, merged)
        for check, title, _short, section, grader in CHECKS
    ]


def build_report(
    hosts: Mapping[str, Any],
    bars: Mapping[str, Any] | None = None,
    *,
    generated: str,
    version: str,
) -> dict:
    """Grade every host; the result is JSON-serialisable.

    ``{"generated", "version", "bars" (merged), "checks" ([{"check", "title"}]),
    "hosts" ({name: {"collected", "cells", "worst"}}, in the given order), "worst",
    "below_bar" (["host: check: summary"] for every red cell)}``. Raises ValueError for bad
    bars or a host whose facts are not a dict (naming it).
    """
    if not isinstance(hosts, Mapping):
        raise ValueError(f"hosts must be a dict of host name -> facts, got {_kind(hosts)}")
    merged = merge_bars(bars)
    graded: dict[str, dict] = {}
    below_bar: list[str] = []
    for name, facts in hosts.items():
        try:
            cells = grade_host(facts, merged)
        except ValueError as exc:
            raise ValueError(f"hosts.{name}: {exc}") from None
        collected = facts.get("collected")
        graded[str(name)] = {
            "collected": collected if isinstance(collected, str) else None,
            "cells": cells,
            "worst": worst([cell["status"] for cell in cells]),
        }
        below_bar.extend(
            f"{name}: {cell['check']}: {cell['summary']}"
            for cell in cells
            if cell["status"] == "red"
        )
    return {
        "generated": str(generated),
        "version": str(version),
        "bars": merged,
        "checks": [{"check": check, "title": title} for check, title, *_ in CHECKS],
        "hosts": graded,
        "worst": worst([host["worst"] for host in graded.values()]),
        "below_bar": below_bar,
    }


# --------------------------------------------------------------------------- Markdown

_MARKDOWN_WIDTH = 100
_VERDICT_WORDS = {"green": "PASS", "amber": "WARN", "red": "FAIL", "none": "n/a"}


def _md_escape(text: str) -> str:
    return _one_line(text, 1000).replace("\\", "\\\\").replace("|", "\\|")


def _md_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"


def _md_matrix(report: Mapping[str, Any]) -> list[str]:
    shorts = {check: short for check, _title, short, *_ in CHECKS}
    header = ["host"] + [shorts.get(c["check"], c["check"]) for c in report["checks"]]
    rows = [
        [_md_escape(name)] + [STATUS_WORDS[cell["status"]] for cell in host["cells"]]
        for name, host in report["hosts"].items()
    ]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    widths = [max(width, 4) for width in widths]
    lines = [_md_row(header, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines.extend(_md_row(row, widths) for row in rows)
    return lines


def _non_green(report: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """(host, cell) for every amber or red cell, red first, then in report order."""
    cells = [
        (name, cell)
        for name, host in report["hosts"].items()
        for cell in host["cells"]
        if cell["status"] in ("red", "amber")
    ]
    return sorted(cells, key=lambda item: -_RANK[item[1]["status"]])


def render_markdown(report: Mapping[str, Any]) -> str:
    """A one-screen summary: verdict, host x check matrix, the amber/red cells, run and version.

    Lines stay within 100 columns for host names of up to ~12 characters (a longer host name
    widens the matrix; the list of findings is always cut at 100).
    """
    verdict = _VERDICT_WORDS[report["worst"]]
    red = sum(1 for _host, cell in _non_green(report) if cell["status"] == "red")
    lines = [
        f"# fedisec audit: {verdict}"
        + (f" ({_plural(red, 'check')} below the bar)" if red else ""),
        "",
    ]
    if report["hosts"]:
        lines.extend(_md_matrix(report))
    else:
        lines.append("No hosts were audited.")
    lines.append("")
    findings = _non_green(report)
    if findings:
        lines.append("Not green:")
        for host, cell in findings:
            entry = f"- {STATUS_WORDS[cell['status']]} {_md_escape(host)} {cell['check']}: "
            entry += _md_escape(cell["summary"])
            lines.append(_one_line(entry, _MARKDOWN_WIDTH))
    elif report["hosts"]:
        lines.append("Every check is green or n/a.")
    lines.append("")
    lines.append(
        _one_line(
            f"Run {report['generated']}, fedisec.hardening {report['version']}. "
            "OK green, WARN amber, FAIL red (below the bar), n/a not run on that host.",
            1000,
        )
    )
    return "\n".join(_wrap(line) for line in lines) + "\n"


def _wrap(line: str) -> str:
    """Wrap a long plain line (not a table row or list entry) at 100 columns."""
    if len(line) <= _MARKDOWN_WIDTH or line.startswith(("|", "- ")):
        return line
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > _MARKDOWN_WIDTH:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML

# The page's only style; its sha256 is allowed by the page's CSP (see style_hash).
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.25rem;color:#111;background:#fff}
h1{font-size:1.35rem;margin:0 0 .4rem}
h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{margin:.2rem 0;color:#333}
.verdict{display:inline-block;padding:.15rem .6rem;border:2px solid #111;font-weight:700}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th,td{border:1px solid #777;padding:.3rem .35rem;vertical-align:top;text-align:left;
overflow-wrap:anywhere;font-size:12.5px}
thead th{background:#eee}
th.host{width:8.5rem}
.word{display:block;font-weight:700;letter-spacing:.03em}
summary .word{display:inline}
.sum{display:block}
.when{display:block;font-weight:400;font-size:11px;color:#333}
.s-green{background:#c9efd2}
.s-amber{background:#ffe3a0}
.s-red{background:#ffbcbc}
.s-red .word{text-decoration:underline}
.s-none{background:#e4e4e4;color:#444}
summary{cursor:pointer}
details ul{margin:.3rem 0 0;padding-left:1rem;font-size:11.5px}
ul.findings li{margin:.15rem 0}
footer{margin-top:1.2rem;color:#333;font-size:12px}
"""

CSP_TEMPLATE = (
    "default-src 'none'; style-src 'sha256-{hash}'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def style_hash(style: str = STYLE) -> str:
    """The CSP source hash (base64 of the sha256) of a ``<style>`` element's exact text."""
    return base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_cell(cell: Mapping[str, Any]) -> str:
    status = cell["status"] if cell["status"] in STATUS_WORDS else "red"
    word = f'<span class="word">{_esc(STATUS_WORDS[status])}</span>'
    label = _esc(f"{cell['title']}: {STATUS_WORDS[status]}")
    if status == "none":
        return f'<td class="s-none" title="{label}">{word}</td>'
    summary = f'<span class="sum">{_esc(cell["summary"])}</span>'
    body = f"{word}{summary}"
    if cell["details"]:
        items = "".join(f"<li>{_esc(line)}</li>" for line in cell["details"])
        body = f"<details><summary>{word}{summary}</summary><ul>{items}</ul></details>"
    return f'<td class="s-{status}" title="{label}">{body}</td>'


def _html_table(report: Mapping[str, Any]) -> list[str]:
    heads = "".join(f'<th scope="col">{_esc(c["title"])}</th>' for c in report["checks"])
    lines = ["<table>", f'<thead><tr><th scope="col" class="host">Host</th>{heads}</tr></thead>']
    lines.append("<tbody>")
    for name, host in report["hosts"].items():
        status = host["worst"]
        collected = host.get("collected")
        collected = f'<span class="when">collected {_esc(collected)}</span>' if collected else ""
        row_head = (
            f'<th scope="row" class="s-{_esc(status)}">{_esc(name)}'
            f'<span class="word">{_esc(STATUS_WORDS.get(status, status))}</span>{collected}</th>'
        )
        cells = "".join(_html_cell(cell) for cell in host["cells"])
        lines.append(f"<tr>{row_head}{cells}</tr>")
    lines.extend(["</tbody>", "</table>"])
    return lines


def _html_findings(report: Mapping[str, Any]) -> list[str]:
    findings = _non_green(report)
    if not findings:
        return ["<p>Every check is green or n/a.</p>"]
    lines = ["<h2>Not green</h2>", '<ul class="findings">']
    for host, cell in findings:
        status = cell["status"]
        lines.append(
            f'<li class="s-{status}"><strong>{_esc(STATUS_WORDS[status])}</strong> '
            f"{_esc(host)} / {_esc(cell['title'])}: {_esc(cell['summary'])}</li>"
        )
    lines.append("</ul>")
    return lines


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained page: no script, no external asset, one hashed ``<style>``.

    The header gives the verdict, the run's time and the collection version; the table has a
    row per host and a cell per check, coloured and labelled in words (OK, WARN, FAIL, n/a),
    whose details open on click (``<details>``, no JavaScript). Every fact is HTML-escaped.
    """
    verdict_status = report["worst"]
    verdict = _VERDICT_WORDS.get(verdict_status, verdict_status)
    red = len(report["below_bar"])
    below = f" - {_plural(red, 'check')} below the bar" if red else ""
    csp = CSP_TEMPLATE.format(hash=style_hash(STYLE))
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_esc(csp)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>fedisec audit {_esc(verdict)} {_esc(report['generated'])}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>fedisec.hardening audit</h1>",
        f'<p class="meta">Verdict: <span class="verdict s-{_esc(verdict_status)}">'
        f"{_esc(verdict)}</span>{_esc(below)}</p>",
        f'<p class="meta">Run {_esc(report["generated"])} - collection version '
        f'{_esc(report["version"])} - {_plural(len(report["hosts"]), "host")}</p>',
        "</header>",
        "<main>",
    ]
    lines.extend(_html_table(report) if report["hosts"] else ["<p>No hosts were audited.</p>"])
    lines.extend(_html_findings(report))
    lines.extend(
        [
            "</main>",
            "<footer>OK: green (meets the bar). WARN: amber. FAIL: red, below the bar. "
            "n/a: the host does not run that service. Click a cell for its details.</footer>",
            "</body>",
            "</html>",
        ]
    )
    return "\n".join(lines) + "\n"
