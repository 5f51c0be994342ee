"""Unit tests for plugins/module_utils/audit_report.py (grading the read-only audit's facts and
rendering the report) and for the fedisec.hardening.audit_report module built on it.

The facts are the golden ``tests/unit/golden/audit/<host>.json`` files (host_audit's contract,
every check green), changed one fact at a time."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fedisec.hardening.plugins.module_utils import audit_report as ar
from ansible_collections.fedisec.hardening.plugins.modules import audit_report as module

GOLDEN = Path(__file__).resolve().parent / "golden" / "audit"
GENERATED = "2026-12-03T12:00:00Z"
CHECK_IDS = [check for check, *_ in ar.CHECKS]


def golden(name: str = "fedi") -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def cells(facts: dict, bars: dict | None = None) -> dict[str, dict]:
    return {cell["check"]: cell for cell in ar.grade_host(facts, bars)}


def cell(facts: dict, check: str, bars: dict | None = None) -> dict:
    return cells(facts, bars)[check]


def status(facts: dict, check: str, bars: dict | None = None) -> str:
    return cell(facts, check, bars)["status"]


def changed(path: str | tuple[str, ...], value, name: str = "fedi") -> dict:
    """The golden facts of ``name`` with the fact at ``path`` set to ``value`` (deleted: ...).

    ``path`` is dotted ("web.certificate.days_left") or a tuple of keys (for keys with dots).
    """
    facts = golden(name)
    *parents, leaf = path.split(".") if isinstance(path, str) else path
    target = facts
    for key in parents:
        target = target[key]
    if value is ...:
        del target[leaf]
    else:
        target[leaf] = value
    return facts


# --------------------------------------------------------------------------- the golden hosts


def test_golden_hosts_are_green_in_check_order():
    fedi = ar.grade_host(golden("fedi"))
    assert (
        [c["check"] for c in fedi]
        == CHECK_IDS
        == [
            "web",
            "tls",
            "certificate",
            "ssh",
            "postgresql",
            "smtp",
            "firewall",
            "onion",
            "backup",
            "updates",
        ]
    )
    assert {c["check"]: c["status"] for c in fedi} == {
        **{check: "green" for check in CHECK_IDS},
        "backup": "none",
    }
    backup = {c["check"]: c["status"] for c in ar.grade_host(golden("backup"))}
    assert [check for check, s in backup.items() if s == "green"] == [
        "ssh",
        "firewall",
        "backup",
        "updates",
    ]
    for one in fedi:
        assert set(one) == {"check", "title", "status", "summary", "details"}
        assert one["summary"] and "\n" not in one["summary"]
        assert all(isinstance(line, str) for line in one["details"])


def test_green_summaries():
    summaries = {check: c["summary"] for check, c in cells(golden()).items()}
    assert summaries["web"] == "A+ (120)"
    assert summaries["tls"] == "TLSv1.2 + TLSv1.3 only, no weak suites"
    assert summaries["certificate"] == "88 days left (until 2027-03-01)"
    assert summaries["postgresql"] == "TLS only, on 2 addresses"
    assert summaries["smtp"] == "STARTTLS (TLSv1.3), no AUTH before TLS"
    assert summaries["firewall"] == "loaded as confirmed, 12 packets dropped"
    assert summaries["onion"].endswith(".onion") and len(summaries["onion"]) <= 25
    assert summaries["backup"] == "n/a"
    assert summaries["updates"] == "up to date"
    backup = cell(golden("backup"), "backup")
    assert backup["summary"] == "last success 10.5 h ago, 1 drill ok"
    assert "dropped: 12 packets, 720 bytes" in cell(golden(), "firewall")["details"]
    onion = golden()["onion"]["address"]
    assert f"address: {onion}" in cell(golden(), "onion")["details"]


@pytest.mark.parametrize("section", ["ssh", "postgresql", "smtp", "firewall", "onion", "updates"])
def test_null_section_is_none(section):
    one = cell(changed(section, None), section)
    assert (one["status"], one["summary"], one["details"]) == ("none", "n/a", [])


def test_null_web_is_none_for_its_three_checks():
    graded = cells(changed("web", None))
    assert [graded[c]["status"] for c in ("web", "tls", "certificate")] == ["none"] * 3


@pytest.mark.parametrize("section", ["web", "ssh", "postgresql", "smtp", "firewall", "updates"])
def test_error_section_is_red_with_the_error(section):
    graded = cells(changed(section, {"error": "probe timed out after 10 s"}))
    checks = ("web", "tls", "certificate") if section == "web" else (section,)
    for check in checks:
        assert graded[check]["status"] == "red"
        assert graded[check]["summary"] == "error: probe timed out after 10 s"
    others = [c for c in CHECK_IDS if c not in checks and c != "backup"]
    assert all(graded[c]["status"] == "green" for c in others)


def test_nested_probe_errors():
    graded = cells(changed("web.certificate", {"error": "handshake failed"}))
    assert graded["certificate"]["status"] == "red"
    assert graded["certificate"]["summary"] == "error: certificate: handshake failed"
    assert graded["web"]["status"] == graded["tls"]["status"] == "green"
    web = cell(changed("web.observatory", {"error": "no response"}), "web")
    assert (web["status"], web["summary"]) == ("red", "error: observatory: no response")


# --------------------------------------------------------------------------- web headers


@pytest.mark.parametrize(
    ("score", "expected"),
    [(145, "green"), (100, "green"), (99, "amber"), (90, "amber"), (89, "red"), (0, "red")],
)
def test_observatory_score_bars(score, expected):
    assert status(changed("web.observatory.score", score), "web") == expected


def test_observatory_summary_and_details():
    facts = changed("web.observatory.score", 80)
    facts["web"]["observatory"]["grade"] = "B+"
    facts["web"]["observatory"]["tests"]["strict-transport-security"] = {
        "result": "hsts-header-invalid",
        "modifier": -20,
    }
    one = cell(facts, "web")
    assert one["summary"] == "B+ (80), bar 90"
    assert "strict-transport-security: hsts-header-invalid (-20)" in one["details"]
    assert "https://social.example.org/ answered HTTP 200" in one["details"]
    assert cell(changed("web.observatory.score", 95), "web")["summary"] == "A+ (95), bar 100"


def test_observatory_bars_can_be_moved():
    facts = changed("web.observatory.score", 50)
    assert status(facts, "web", {"observatory_score": {"red": None}}) == "amber"
    assert status(facts, "web", {"observatory_score": {"amber": None, "red": None}}) == "green"
    assert (
        status(changed("web.observatory.score", 110), "web", {"observatory_score": {"amber": 120}})
        == "amber"
    )


# --------------------------------------------------------------------------- TLS


@pytest.mark.parametrize(
    ("protocols", "expected", "summary"),
    [
        ({"TLSv1.2": True, "TLSv1.3": True}, "green", "TLSv1.2 + TLSv1.3 only, no weak suites"),
        ({"TLSv1.2": False, "TLSv1.3": True}, "green", "TLSv1.3 only, no weak suites"),
        ({"TLSv1.2": True, "TLSv1.3": False}, "green", "TLSv1.2 only, no weak suites"),
        ({"TLSv1": True}, "red", "accepts TLSv1"),
        ({"TLSv1.1": True}, "red", "accepts TLSv1.1"),
        ({"SSLv3": True, "TLSv1.2": True}, "red", "accepts SSLv3"),
        (
            {"TLSv1.2": False, "TLSv1.3": False},
            "red",
            "neither TLSv1.2 nor TLSv1.3 accepted",
        ),
    ],
)
def test_tls_protocols(protocols, expected, summary):
    facts = golden()
    facts["web"]["protocols"].update(protocols)
    one = cell(facts, "tls")
    assert (one["status"], one["summary"]) == (expected, summary)


def test_tls_weak_suites_are_red():
    one = cell(changed("web.weak_ciphers_accepted", ["AES128-SHA", "DES-CBC3-SHA"]), "tls")
    assert one["status"] == "red"
    assert one["summary"] == "weak suites: AES128-SHA, DES-CBC3-SHA"
    assert "weak suite accepted: DES-CBC3-SHA" in one["details"]
    details = cell(golden(), "tls")["details"]
    assert "TLSv1: refused" in details and "TLSv1.3: accepted" in details
    assert "groups: X25519, P-256, P-384 (refused: P-521)" in details


# --------------------------------------------------------------------------- certificate


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (88, "green"),
        (30, "green"),
        (29, "amber"),
        (14, "amber"),
        (13.5, "red"),
        (13, "red"),
        (-2, "red"),
    ],
)
def test_certificate_days_bars(days, expected):
    assert status(changed("web.certificate.days_left", days), "certificate") == expected


def test_certificate_summaries():
    assert cell(changed("web.certificate.days_left", 20), "certificate")["summary"] == (
        "20 days left, bar 30"
    )
    assert cell(changed("web.certificate.days_left", 3), "certificate")["summary"] == (
        "3 days left, bar 14"
    )
    bars = {"certificate_days_left": {"amber": 60, "red": 7}}
    assert status(changed("web.certificate.days_left", 45), "certificate", bars) == "amber"
    assert status(changed("web.certificate.days_left", 7), "certificate", bars) == "amber"
    assert status(changed("web.certificate.days_left", 6), "certificate", bars) == "red"


def test_certificate_chain_tlsa_caa():
    invalid = cell(changed("web.certificate.chain_valid", False), "certificate")
    assert (invalid["status"], invalid["summary"]) == ("red", "chain not valid")
    facts = changed("web.certificate.tlsa.match", False)
    facts["web"]["certificate"]["tlsa"]["served"] = "3 1 1 ffff"
    mismatch = cell(facts, "certificate")
    assert (mismatch["status"], mismatch["summary"]) == (
        "red",
        "TLSA does not match the served key",
    )
    assert "TLSA of the served key: 3 1 1 ffff" in mismatch["details"]
    # No TLSA published: nothing to match.
    assert status(changed("web.certificate.tlsa", None), "certificate") == "green"
    assert status(changed("web.certificate.tlsa.published", []), "certificate") == "green"
    no_caa = cell(changed("web.certificate.caa", None), "certificate")
    assert (no_caa["status"], no_caa["summary"]) == ("amber", "no CAA record")
    assert status(changed("web.certificate.caa.published", []), "certificate") == "amber"
    # Red wins over amber, and the summary lists the worst first.
    facts = changed("web.certificate.caa", None)
    facts["web"]["certificate"]["chain_valid"] = False
    both = cell(facts, "certificate")
    assert (both["status"], both["summary"]) == ("red", "chain not valid; no CAA record")


# --------------------------------------------------------------------------- ssh


@pytest.mark.parametrize(
    ("key", "value", "expected", "summary"),
    [
        ("weak", ["hmac-sha1"], "red", "weak: hmac-sha1"),
        ("weak", ["a", "b", "c", "d", "e"], "red", "weak: a, b, c (+2)"),
        ("password_authentication", "yes", "red", "password authentication on"),
        ("password_authentication", "YES", "red", "password authentication on"),
        ("permit_root_login", "yes", "red", "root login allowed"),
        ("permit_root_login", "prohibit-password", "green", None),
        ("permit_root_login", "no", "green", None),
    ],
)
def test_ssh_rules(key, value, expected, summary):
    one = cell(changed(f"ssh.{key}", value), "ssh")
    assert one["status"] == expected
    if summary:
        assert one["summary"] == summary
    else:
        assert one["summary"].startswith("no weak algorithms; password no, root ")


# --------------------------------------------------------------------------- postgresql


def test_postgresql_rules():
    assert status(golden(), "postgresql") == "green"
    plain = cell(changed(("postgresql", "plain_refused", "10.89.0.5"), False), "postgresql")
    assert (plain["status"], plain["summary"]) == ("red", "plaintext not refused on 10.89.0.5")
    assert any(
        d.startswith("10.89.0.5: plaintext ACCEPTED, TLS accepted") for d in plain["details"]
    )
    no_tls = cell(changed(("postgresql", "tls_accepted", "127.0.0.1"), False), "postgresql")
    assert (no_tls["status"], no_tls["summary"]) == ("red", "TLS not accepted on 127.0.0.1")
    facts = golden()
    facts["postgresql"]["addresses"].append("10.89.0.9")
    unprobed = cell(facts, "postgresql")
    assert unprobed["status"] == "red"
    assert "10.89.0.9: plaintext not probed, TLS not probed" in unprobed["details"]
    none = cell(changed("postgresql.addresses", []), "postgresql")
    assert (none["status"], none["summary"]) == ("red", "no address probed")


# --------------------------------------------------------------------------- smtp, firewall, onion


def test_smtp_rules():
    no_starttls = cell(changed("smtp.starttls", False), "smtp")
    assert (no_starttls["status"], no_starttls["summary"]) == ("red", "no STARTTLS")
    early = cell(changed("smtp.auth_before_tls", ["PLAIN", "LOGIN"]), "smtp")
    assert (early["status"], early["summary"]) == ("red", "AUTH before TLS: PLAIN, LOGIN")
    assert status(changed("smtp.auth_after_tls", []), "smtp") == "green"
    assert (
        "AUTH after STARTTLS: none" in cell(changed("smtp.auth_after_tls", []), "smtp")["details"]
    )


def test_firewall_rules():
    unloaded = cell(changed("firewall.loaded", False), "firewall")
    assert (unloaded["status"], unloaded["summary"]) == ("red", "table inet fedisec not loaded")
    facts = changed("firewall.matches_confirmed", False)
    facts["firewall"]["difference"] = ["+ tcp dport 5432 accept", "- tcp dport 22 accept"]
    differs = cell(facts, "firewall")
    assert differs["status"] == "red"
    assert differs["summary"] == "differs from the confirmed rules (2 lines)"
    assert "diff: + tcp dport 5432 accept" in differs["details"]
    assert "dropped: 12 packets, 720 bytes" in differs["details"]
    no_counters = changed("firewall.drops", ...)
    assert cell(no_counters, "firewall")["summary"] == "loaded as confirmed, 0 packets dropped"


def test_onion_rules():
    assert status(golden(), "onion") == "green"
    down = cell(changed("onion.tor_active", False), "onion")
    assert (down["status"], down["summary"]) == ("red", "tor not active")
    assert status(changed("onion.address", ""), "onion") == "red"


# --------------------------------------------------------------------------- backup


@pytest.mark.parametrize(
    ("age", "expected"),
    [(0, "green"), (26, "green"), (26.1, "amber"), (50, "amber"), (50.1, "red"), (1000, "red")],
)
def test_backup_age_bars(age, expected):
    assert status(changed("backup.age_hours", age, "backup"), "backup") == expected


def test_backup_rules():
    assert cell(changed("backup.age_hours", 30, "backup"), "backup")["summary"] == (
        "last success 30 h ago, bar 26"
    )
    never = cell(changed("backup.age_hours", None, "backup"), "backup")
    assert (never["status"], never["summary"]) == ("red", "never succeeded")
    facts = changed("backup.last_run.ok", False, "backup")
    facts["backup"]["last_run"]["error"] = "pg_dump: connection refused"
    failed = cell(facts, "backup")
    assert (failed["status"], failed["summary"]) == (
        "red",
        "last run failed: pg_dump: connection refused",
    )
    first = cell(changed("backup.last_run", None, "backup"), "backup")
    assert (first["status"], first["summary"]) == ("amber", "no backup has run yet")
    facts = changed(
        "backup.drill",
        {"db/a": {"ok": True, "error": None}, "db/b": {"ok": False, "error": "0 rows"}},
        "backup",
    )
    drill = cell(facts, "backup")
    assert (drill["status"], drill["summary"]) == ("red", "drill failed: db/b")
    assert "restore drill db/b: FAILED: 0 rows" in drill["details"]
    no_drill = cell(changed("backup.drill", {}, "backup"), "backup")
    assert (no_drill["status"], no_drill["summary"]) == ("amber", "no restore drill")
    check = cell(changed("backup.check.ok", False, "backup"), "backup")
    assert (check["status"], check["summary"]) == ("red", "repository check failed")
    assert status(changed("backup.check", None, "backup"), "backup") == "green"
    assert (
        status(
            changed("backup.age_hours", 100, "backup"),
            "backup",
            {"backup_age_hours": {"red": None}},
        )
        == "amber"
    )


# --------------------------------------------------------------------------- updates


@pytest.mark.parametrize(
    ("pending", "bars", "expected"),
    [
        (0, None, "green"),
        (1, None, "amber"),
        (40, None, "amber"),  # red is never by default
        (2, {"pending_security_updates": {"red": 3}}, "amber"),
        (3, {"pending_security_updates": {"red": 3}}, "red"),
        (4, {"pending_security_updates": {"amber": 5}}, "green"),
        (5, {"pending_security_updates": {"amber": 5}}, "amber"),
        (9, {"pending_security_updates": {"amber": None}}, "green"),
    ],
)
def test_pending_security_updates_bars(pending, bars, expected):
    facts = changed("updates.pending_security", [f"pkg{i}" for i in range(pending)])
    assert status(facts, "updates", bars) == expected


def test_updates_held_and_reboot():
    held = changed("updates.held", ["postgresql-15"])
    assert cell(held, "updates")["summary"] == "1 held: postgresql-15"
    assert status(held, "updates") == "amber"
    assert status(held, "updates", {"held_packages": "green"}) == "green"
    assert cell(held, "updates", {"held_packages": "green"})["summary"] == "1 held"
    assert status(held, "updates", {"held_packages": "red"}) == "red"
    reboot = changed("updates.reboot_required", True)
    reboot["updates"]["reboot_packages"] = ["linux-image-amd64"]
    one = cell(reboot, "updates")
    assert (one["status"], one["summary"]) == ("amber", "reboot required")
    assert "reboot wanted by: linux-image-amd64" in one["details"]
    assert status(reboot, "updates", {"reboot_required": "red"}) == "red"
    assert status(reboot, "updates", {"reboot_required": "green"}) == "green"
    quiet = changed("updates.pending_security", ["libssl3"])
    one = cell(quiet, "updates", {"pending_security_updates": {"amber": None}})
    assert (one["status"], one["summary"]) == ("green", "1 security update pending")


# --------------------------------------------------------------------------- bars


def test_merge_bars_defaults_and_partial_overrides():
    assert ar.merge_bars() == ar.DEFAULT_BARS == ar.merge_bars({})
    assert ar.DEFAULT_BARS == {
        "observatory_score": {"amber": 100, "red": 90},
        "certificate_days_left": {"amber": 30, "red": 14},
        "backup_age_hours": {"amber": 26, "red": 50},
        "pending_security_updates": {"amber": 1, "red": None},
        "reboot_required": "amber",
        "held_packages": "amber",
    }
    merged = ar.merge_bars({"certificate_days_left": {"amber": 21}, "reboot_required": "red"})
    assert merged["certificate_days_left"] == {"amber": 21, "red": 14}
    assert merged["reboot_required"] == "red"
    assert ar.merge_bars(merged) == merged
    merged["backup_age_hours"]["amber"] = 1
    assert ar.DEFAULT_BARS["backup_age_hours"]["amber"] == 26  # no aliasing


@pytest.mark.parametrize(
    ("bars", "message"),
    [
        ([], r"^audit_bars: must be a dict, got list"),
        ({"tls_days": {"amber": 1}}, r"^audit_bars\.tls_days: unknown bar"),
        ({"certificate_days_left": 30}, r"^audit_bars\.certificate_days_left: must be a dict"),
        (
            {"certificate_days_left": {"orange": 3}},
            r"^audit_bars\.certificate_days_left\.orange: unknown level",
        ),
        (
            {"certificate_days_left": {"red": "14"}},
            r"^audit_bars\.certificate_days_left\.red: must be a number or null, got str",
        ),
        (
            {"certificate_days_left": {"red": True}},
            r"^audit_bars\.certificate_days_left\.red: must be a number or null, got bool",
        ),
        (
            {"backup_age_hours": {"red": float("inf")}},
            r"^audit_bars\.backup_age_hours\.red: must be a number or null, got float",
        ),
        (
            {"backup_age_hours": {"amber": -1}},
            r"^audit_bars\.backup_age_hours\.amber: must not be negative",
        ),
        (
            {"certificate_days_left": {"red": 31}},
            r"^audit_bars\.certificate_days_left\.red: 31 is above amber \(30\)",
        ),
        (
            {"certificate_days_left": {"amber": 10}},
            r"^audit_bars\.certificate_days_left\.red: 14 is above amber \(10\)",
        ),
        (
            {"observatory_score": {"amber": 80, "red": 90}},
            r"^audit_bars\.observatory_score\.red: 90 is above amber",
        ),
        (
            {"backup_age_hours": {"red": 20}},
            r"^audit_bars\.backup_age_hours\.red: 20 is below amber \(26\)",
        ),
        (
            {"pending_security_updates": {"amber": 5, "red": 2}},
            r"^audit_bars\.pending_security_updates\.red: 2 is below amber",
        ),
        (
            {"reboot_required": "orange"},
            r"^audit_bars\.reboot_required: must be one of green, amber, red, got 'orange'",
        ),
        ({"held_packages": None}, r"^audit_bars\.held_packages: must be one of green, amber, red"),
    ],
)
def test_bad_bars_name_the_key(bars, message):
    with pytest.raises(ValueError, match=message):
        ar.merge_bars(bars)
    with pytest.raises(ValueError, match=message):
        ar.grade_host(golden(), bars)


def test_equal_amber_and_red_are_allowed():
    bars = {"certificate_days_left": {"amber": 14, "red": 14}}
    assert status(changed("web.certificate.days_left", 13), "certificate", bars) == "red"
    assert status(changed("web.certificate.days_left", 14), "certificate", bars) == "green"


# --------------------------------------------------------------------------- malformed facts


@pytest.mark.parametrize(
    ("path", "value", "check", "what"),
    [
        ("web.observatory.score", "120", "web", "web.observatory.score: expected number, got str"),
        ("web.observatory", ..., "web", "web.observatory missing"),
        (
            "web.observatory.tests",
            {"cookies": 5},
            "web",
            "web.observatory.tests.cookies: expected dict, got int",
        ),
        ("web.protocols", ["TLSv1.2"], "tls", "web.protocols: expected dict, got list"),
        (
            "web.protocols",
            {"TLSv1.2": "yes"},
            "tls",
            "web.protocols.TLSv1.2: expected bool, got str",
        ),
        (
            "web.weak_ciphers_accepted",
            None,
            "tls",
            "web.weak_ciphers_accepted: expected list, got null",
        ),
        (
            "web.weak_ciphers_accepted",
            [1],
            "tls",
            "web.weak_ciphers_accepted[0]: expected str, got int",
        ),
        (
            "web.certificate.days_left",
            None,
            "certificate",
            "web.certificate.days_left: expected number, got null",
        ),
        (
            "web.certificate.chain_valid",
            "true",
            "certificate",
            "web.certificate.chain_valid: expected bool, got str",
        ),
        ("web.certificate.tlsa", ..., "certificate", "web.certificate.tlsa missing"),
        (
            "web.certificate.tlsa.match",
            None,
            "certificate",
            "web.certificate.tlsa.match: expected bool, got null",
        ),
        ("ssh.weak", "hmac-sha1", "ssh", "ssh.weak: expected list, got str"),
        (
            "ssh.password_authentication",
            False,
            "ssh",
            "ssh.password_authentication: expected str, got bool",
        ),
        ("postgresql.addresses", ..., "postgresql", "postgresql.addresses missing"),
        ("smtp.starttls", 1, "smtp", "smtp.starttls: expected bool, got int"),
        (
            "firewall.drops",
            {"packets": "12"},
            "firewall",
            "firewall.drops.packets: expected int, got str",
        ),
        ("onion.address", None, "onion", "onion.address: expected str, got null"),
        (
            "updates.reboot_required",
            "no",
            "updates",
            "updates.reboot_required: expected bool, got str",
        ),
        ("ssh", ..., "ssh", "ssh missing"),
        ("smtp", ["starttls"], "smtp", "smtp: expected dict or null, got list"),
        ("updates", "ok", "updates", "updates: expected dict or null, got str"),
    ],
)
def test_malformed_facts_make_the_cell_red(path, value, check, what):
    graded = cells(changed(path, value))
    assert graded[check]["status"] == "red"
    assert graded[check]["summary"] == ar._one_line(f"unreadable facts: {what}")
    assert any(what in line for line in graded[check]["details"])
    # Only that check's cells are affected.
    assert all(c["status"] in ("green", "none") for k, c in graded.items() if k != check)


@pytest.mark.parametrize(
    ("path", "value", "what"),
    [
        ("backup.drill", {"db/x": "ok"}, "backup.drill.db/x: expected dict, got str"),
        ("backup.drill", [{"ok": True}], "backup.drill: expected dict, got list"),
        ("backup.last_run.ok", None, "backup.last_run.ok: expected bool, got null"),
        ("backup.age_hours", "10", "backup.age_hours: expected number, got str"),
        ("backup.check", {"finished": "x"}, "backup.check.ok missing"),
    ],
)
def test_malformed_backup_facts(path, value, what):
    one = cell(changed(path, value, "backup"), "backup")
    assert (one["status"], one["summary"]) == ("red", f"unreadable facts: {what}")


@pytest.mark.parametrize("facts", [None, [], "fedi", 3])
def test_non_dict_facts_raise(facts):
    with pytest.raises(ValueError, match=r"^facts must be a dict, got "):
        ar.grade_host(facts)


def test_empty_facts_are_red_not_a_crash():
    graded = ar.grade_host({})
    assert {c["status"] for c in graded} == {"red"}
    assert graded[0]["summary"] == "unreadable facts: web missing"


def test_long_and_multiline_text_stays_on_one_line():
    error = "line one\nline two\t" + "x" * 200
    one = cell(changed("smtp", {"error": error}), "smtp")
    assert "\n" not in one["summary"] and len(one["summary"]) <= 80
    assert one["summary"].startswith("error: line one line two x") and one["summary"].endswith(
        "..."
    )


# --------------------------------------------------------------------------- the report


def four_hosts() -> dict:
    """fedi (TLSv1 accepted, short certificate), backup, and two more with long names."""
    fedi = golden()
    fedi["web"]["protocols"]["TLSv1"] = True
    fedi["web"]["certificate"]["days_left"] = 20
    db = golden()
    db["web"] = db["smtp"] = db["onion"] = None
    db["updates"]["pending_security"] = ["libpq5", "postgresql-15", "openssl"]
    mail = golden()
    mail["smtp"] = {"error": "connection to port 25 refused: " + "z" * 150}
    return {"fedi": fedi, "backup": golden("backup"), "db-primary-1": db, "mx-relay-two": mail}


def test_build_report_shape():
    report = ar.build_report(four_hosts(), {}, generated=GENERATED, version="1.2.3")
    assert json.loads(json.dumps(report)) == report
    assert list(report) == ["generated", "version", "bars", "checks", "hosts", "worst", "below_bar"]
    assert report["generated"] == GENERATED and report["version"] == "1.2.3"
    assert report["bars"] == ar.DEFAULT_BARS
    assert [c["check"] for c in report["checks"]] == CHECK_IDS
    assert list(report["hosts"]) == ["fedi", "backup", "db-primary-1", "mx-relay-two"]
    assert report["hosts"]["fedi"]["collected"] == "2026-12-03T12:00:00Z"
    assert report["hosts"]["fedi"]["worst"] == "red"
    assert report["hosts"]["backup"]["worst"] == "green"
    assert report["hosts"]["db-primary-1"]["worst"] == "amber"
    assert report["worst"] == "red"
    assert report["below_bar"] == [
        "fedi: tls: accepts TLSv1",
        "mx-relay-two: smtp: " + ar._one_line("error: connection to port 25 refused: " + "z" * 150),
    ]


def test_build_report_worst_and_bad_input():
    assert ar.build_report({}, None, generated=GENERATED, version="1")["worst"] == "none"
    only_backup = ar.build_report({"b": golden("backup")}, {}, generated=GENERATED, version="1")
    assert (only_backup["worst"], only_backup["below_bar"]) == ("green", [])
    with pytest.raises(ValueError, match=r"^hosts\.ghost: facts must be a dict, got null"):
        ar.build_report({"fedi": golden(), "ghost": None}, {}, generated=GENERATED, version="1")
    with pytest.raises(ValueError, match=r"^hosts must be a dict"):
        ar.build_report([golden()], {}, generated=GENERATED, version="1")
    with pytest.raises(ValueError, match=r"^audit_bars\.held_packages: "):
        ar.build_report({}, {"held_packages": "maybe"}, generated=GENERATED, version="1")


def test_worst_order():
    assert ar.worst([]) == "none"
    assert ar.worst(["none", "green"]) == "green"
    assert ar.worst(["green", "amber", "none"]) == "amber"
    assert ar.worst(["amber", "red", "green"]) == "red"


# --------------------------------------------------------------------------- Markdown


def test_markdown_fits_100_columns_for_four_hosts():
    report = ar.build_report(four_hosts(), {}, generated=GENERATED, version="1.2.3")
    text = ar.render_markdown(report)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    assert len(lines) <= 30  # one screen
    assert lines[0] == "# fedisec audit: FAIL (2 checks below the bar)"
    matrix = [line for line in lines if line.startswith("| ")]
    assert len(matrix) == 5  # header + 4 hosts
    assert matrix[0].split("|")[1:-1] == [
        f" {h.ljust(w)} "
        for h, w in zip(
            ["host", "web", "tls", "cert", "ssh", "pg", "smtp", "fw", "onion", "backup", "updates"],
            [12, 4, 4, 4, 4, 4, 4, 4, 5, 6, 7],
        )
    ]
    fedi = [c.strip() for c in matrix[1].split("|")[1:-1]]
    assert fedi == ["fedi", "OK", "FAIL", "WARN", "OK", "OK", "OK", "OK", "OK", "n/a", "OK"]
    assert "- FAIL fedi tls: accepts TLSv1" in lines
    assert "- WARN fedi certificate: 20 days left, bar 30" in lines
    assert "- WARN db-primary-1 updates: 3 security updates pending" in lines
    fail_smtp = next(line for line in lines if line.startswith("- FAIL mx-relay-two smtp:"))
    assert fail_smtp.endswith("...")
    # Red findings come before amber ones.
    order = [line.split()[1] for line in lines if line.startswith("- ")]
    assert order == sorted(order, key=lambda word: word != "FAIL")
    assert GENERATED in text and "1.2.3" in text


def test_markdown_all_green_and_escaping():
    report = ar.build_report({"a|b": golden("backup")}, {}, generated=GENERATED, version="1")
    text = ar.render_markdown(report)
    assert text.splitlines()[0] == "# fedisec audit: PASS"
    assert "| a\\|b " in text
    assert "Every check is green or n/a." in text
    empty = ar.render_markdown(ar.build_report({}, {}, generated=GENERATED, version="1"))
    assert "No hosts were audited." in empty


# --------------------------------------------------------------------------- HTML

HOSTILE = '<script>alert("x")</script>'


def hostile_report() -> dict:
    """Facts from a host that tries to inject markup everywhere a string reaches the page."""
    facts = golden()
    facts["web"]["url"] = f"https://x/{HOSTILE}"
    facts["web"]["observatory"]["grade"] = HOSTILE
    facts["web"]["observatory"]["tests"]['"><img src=x onerror=alert(1)>'] = {
        "result": HOSTILE,
        "modifier": -5,
    }
    facts["web"]["certificate"]["subject"] = "CN=<b>bold</b>"
    facts["ssh"]["weak"] = ["<iframe src=//evil>"]
    facts["smtp"] = {"error": "</td></tr></table><script src=//evil/x.js></script>"}
    facts["collected"] = '"><style>body{display:none}</style>'
    return ar.build_report({HOSTILE: facts}, {}, generated=GENERATED, version=HOSTILE)


def test_html_escapes_every_fact():
    page = ar.render_html(hostile_report())
    lowered = page.lower()
    for tag in ("<script", "<img", "<iframe", "<b>"):
        assert tag not in lowered, tag
    assert lowered.count("<style") == 1 and lowered.count("</table>") == 1
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;iframe src=//evil&gt;" in page
    assert "CN=&lt;b&gt;bold&lt;/b&gt;" in page
    # No attribute points anywhere: no external asset, no link.
    assert not re.search(r"<[^>]+\s(src|href|action|srcset)\s*=", page, re.I)


def test_html_csp_hash_matches_the_style_element():
    page = ar.render_html(hostile_report())
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(styles) == 1 and styles[0] == ar.STYLE
    digest = base64.b64encode(hashlib.sha256(styles[0].encode("utf-8")).digest()).decode()
    assert digest == ar.style_hash()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp
    assert csp.group(1) == (
        f"default-src &#x27;none&#x27;; style-src &#x27;sha256-{digest}&#x27;; img-src data:; "
        "base-uri &#x27;none&#x27;; form-action &#x27;none&#x27;"
    )
    # The policy comes before the style it allows.
    assert page.index("Content-Security-Policy") < page.index("<style>")
    assert " style=" not in page  # inline style attributes would be refused


def test_html_structure():
    report = ar.build_report(four_hosts(), {}, generated=GENERATED, version="1.2.3")
    page = ar.render_html(report)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert 'Verdict: <span class="verdict s-red">FAIL</span> - 2 checks below the bar' in page
    assert f"Run {GENERATED} - collection version 1.2.3 - 4 hosts" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    assert len(rows) == 5  # header + a row per host
    body_cells = re.findall(r'<td class="s-(\w+)"', page)
    assert len(body_cells) == 4 * len(ar.CHECKS)
    counts = {s: body_cells.count(s) for s in set(body_cells)}
    assert counts["red"] == 2 and counts["amber"] == 2
    words = re.findall(
        r'<td class="s-(\w+)"[^>]*>(?:<details><summary>)?<span class="word">([^<]+)<', page
    )
    assert words and all(ar.STATUS_WORDS[s] == w for s, w in words)
    non_none = [c for host in report["hosts"].values() for c in host["cells"] if c["details"]]
    assert page.count("<details><summary>") == len(non_none)
    assert "<h2>Not green</h2>" in page


# --------------------------------------------------------------------------- the module

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc)


def module_params(dest: Path, **overrides) -> dict:
    """Params as AnsibleModule hands them over: every option present, defaults filled in."""
    params = {name: spec.get("default") for name, spec in module.ARGUMENT_SPEC.items()}
    params.update(
        hosts={"fedi": golden(), "backup": golden("backup")}, dest=str(dest), version="0.1.0"
    )
    params.update(overrides)
    return params


def test_module_writes_six_files(tmp_path):
    dest = tmp_path / "reports" / "audit"
    old_umask = os.umask(0o077)
    try:
        result = module.run(module_params(dest), now=NOW)
    finally:
        os.umask(old_umask)
    assert result["changed"] is True
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    name = "audit-20261203T120000Z"
    assert result["paths"] == {
        "json": f"{dest}/{name}.json",
        "latest_json": f"{dest}/latest.json",
        "md": f"{dest}/{name}.md",
        "latest_md": f"{dest}/latest.md",
        "html": f"{dest}/{name}.html",
        "latest_html": f"{dest}/latest.html",
    }
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        Path(p).name for p in result["paths"].values()
    )
    for ext in ("json", "md", "html"):
        run_file, latest = Path(result["paths"][ext]), Path(result["paths"][f"latest_{ext}"])
        assert run_file.read_bytes() == latest.read_bytes()
        assert stat.S_IMODE(run_file.stat().st_mode) == 0o644 == stat.S_IMODE(latest.stat().st_mode)
    assert json.loads(Path(result["paths"]["json"]).read_text()) == result["report"]
    assert Path(result["paths"]["md"]).read_text() == result["summary"]
    assert result["report"]["generated"] == "2026-12-03T12:00:00Z"
    assert (result["worst"], result["below_bar"]) == ("green", [])
    assert set(result) == {"changed", "report", "summary", "paths", "below_bar", "worst"}


def test_module_rerun_check_mode_and_name(tmp_path):
    first = module.run(module_params(tmp_path, name="weekly"), now=NOW)
    assert first["changed"] is True
    assert module.run(module_params(tmp_path, name="weekly"), now=NOW)["changed"] is False
    later = datetime(2026, 12, 4, tzinfo=timezone.utc)
    assert module.run(module_params(tmp_path, name="weekly"), now=later)["changed"] is True
    # Check mode: the report, no file.
    fresh = tmp_path / "new"
    checked = module.run(module_params(fresh), check_mode=True, now=NOW)
    assert checked["changed"] is True and not fresh.exists()
    assert checked["report"] == module.run(module_params(fresh), now=NOW)["report"]
    assert module.run(module_params(fresh), check_mode=True, now=NOW)["changed"] is False
    assert not [p for p in tmp_path.rglob(".audit-report.*")]  # no temporary file left


def test_module_reports_what_is_below_the_bar(tmp_path):
    hosts = four_hosts()
    result = module.run(module_params(tmp_path, hosts=hosts), now=NOW)
    assert result["worst"] == "red"
    assert result["below_bar"][0] == "fedi: tls: accepts TLSv1"
    assert result["summary"].startswith("# fedisec audit: FAIL")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"bars": {"certificate_days_left": {"red": 40}}},
            r"^audit_bars\.certificate_days_left\.red: 40 is above amber",
        ),
        ({"bars": {"nope": 1}}, r"^audit_bars\.nope: unknown bar"),
        ({"hosts": {"fedi": "facts"}}, r"^hosts\.fedi: facts must be a dict, got str"),
        ({"name": "latest"}, r"^name must be letters"),
        ({"name": "../escape"}, r"^name must be letters"),
        ({"name": ".hidden"}, r"^name must be letters"),
        ({"version": ""}, r"^version must be a non-empty string"),
    ],
)
def test_module_bad_input(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        module.run(module_params(tmp_path / "out", **overrides), now=NOW)
    assert not (tmp_path / "out").exists()


def test_module_dest_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        module.run(module_params(tmp_path / "file"), now=NOW)


def run_main(args: dict, capsys) -> dict:
    """Run the module's main() as Ansible does; return the JSON it printed."""
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def test_module_main(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(module, "utc_now", lambda: NOW)
    args = {"hosts": {"fedi": golden()}, "dest": str(tmp_path), "version": "0.1.0"}
    result = run_main(args, capsys)
    assert result["changed"] is True and "failed" not in result
    assert result["paths"]["html"] == f"{tmp_path}/audit-20261203T120000Z.html"
    assert Path(result["paths"]["latest_html"]).read_text().startswith("<!DOCTYPE html>")
    assert result["worst"] == "green"
    bad = run_main({**args, "bars": {"backup_age_hours": {"amber": "1d"}}}, capsys)
    assert bad["failed"] is True
    assert bad["msg"].startswith("audit_bars.backup_age_hours.amber: must be a number or null")
    checked = run_main({**args, "dest": str(tmp_path / "dry"), "_ansible_check_mode": True}, capsys)
    assert checked["changed"] is True and not (tmp_path / "dry").exists()


def test_module_documentation_matches_argument_spec():
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == "audit_report"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    options = doc["options"]
    assert set(options) == set(module.ARGUMENT_SPEC)
    for name, spec in module.ARGUMENT_SPEC.items():
        option = options[name]
        assert option["type"] == spec["type"], name
        assert option.get("default") == spec.get("default"), name
        assert bool(option.get("required")) == bool(spec.get("required")), name
        assert option["description"], name
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) == {"report", "summary", "paths", "below_bar", "worst"}
    assert set(returned["paths"]["sample"]) == {
        "json",
        "md",
        "html",
        "latest_json",
        "latest_md",
        "latest_html",
    }


def test_module_examples_use_documented_options():
    options = set(yaml.safe_load(module.DOCUMENTATION)["options"])
    tasks = yaml.safe_load(module.EXAMPLES)
    calls = [
        t["fedisec.hardening.audit_report"] for t in tasks if "fedisec.hardening.audit_report" in t
    ]
    assert calls
    for args in calls:
        assert set(args) <= options
        assert {"hosts", "dest", "version"} <= set(args)
        ar.merge_bars(args.get("bars"))  # the example's bars are valid
