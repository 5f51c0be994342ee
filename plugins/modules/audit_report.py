#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.audit_report: grade the facts of fedisec.hardening.host_audit and write the
audit report (JSON, Markdown, HTML) on the controller. The grading and rendering are in
module_utils/audit_report.py; :func:`run` does the rest and is what the unit tests call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_report
short_description: Grade the read-only audit's facts and write the report as JSON, Markdown and HTML
version_added: 0.1.0
description:
  - "Runs on the controller (C(delegate_to: localhost), C(run_once: true)) after
    C(fedisec.hardening.host_audit) has collected each host's raw facts."
  - Grades every host, one cell per check in a fixed order - web headers (MDN Observatory
    score), TLS (only TLSv1.2 and TLSv1.3, no weak suites), certificate (days left, chain, TLSA,
    CAA), SSH, PostgreSQL TLS enforcement, SMTP STARTTLS, firewall, onion service, backup, updates.
    Each cell is green, amber, red or n/a (the host does not run that service). A probe that
    failed, and facts that do not follow the host_audit contract, give a red cell saying so.
  - Writes O(dest)/O(name).json (the report), .md (a one-screen summary) and .html (one
    self-contained page - no script, no external asset, its only style allowed by a
    Content-Security-Policy hash; details open on click without JavaScript), and the same three
    as C(latest.json), C(latest.md), C(latest.html). Files are written atomically, mode 0644;
    O(dest) is created (0755) when missing. A file whose content is unchanged is not rewritten.
  - Never fails because of what it found; the playbook decides what to do with RV(worst) and
    RV(below_bar).
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the report is built and returned but no file is written.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  hosts:
    description:
      - Host name to that host's C(audit) facts, as C(fedisec.hardening.host_audit) returns them.
      - The report keeps this order. Facts that are not a dictionary fail the task, naming the host.
    type: dict
    required: true
  bars:
    description:
      - Overrides of the default bars, merged key by key. Numeric bars take C(amber) and/or
        C(red) (a number >= 0, or V(null) for never) - C(observatory_score) (a score below
        it; default amber 100, red 90), C(certificate_days_left) (fewer days; 30, 14),
        C(backup_age_hours) (older; 26, 50), C(pending_security_updates) (at least that many;
        1, never).
      - C(reboot_required) and C(held_packages) take the status a pending reboot or a held
        package gives - V(green) (ignore it), V(amber) (the default) or V(red).
      - A bad bar (unknown key, wrong type, negative, red less strict than amber) fails the
        task with a message naming it, for example C(audit_bars.certificate_days_left.red).
    type: dict
    default: {}
  dest:
    description: Directory for the report files; created (mode 0755) with its parents if missing.
    type: path
    required: true
  version:
    description: The collection version, printed in the report (for example from C(galaxy.yml)).
    type: str
    required: true
  name:
    description:
      - Base name of this run's files (letters, digits, C(.), C(_), C(-); not C(latest)).
      - Default C(audit-<UTC time>), for example C(audit-20261203T120000Z).
    type: str
notes:
  - The report's time is the controller's UTC time when the module runs.
seealso:
  - module: fedisec.hardening.host_audit
  - module: fedisec.hardening.http_observatory_grade
"""

EXAMPLES = r"""
- name: Collect the raw facts on every host
  fedisec.hardening.host_audit:
  register: host_audit

- name: Write the audit report on the controller
  fedisec.hardening.audit_report:
    hosts: >-
      {{ dict(ansible_play_hosts
              | zip(ansible_play_hosts | map('extract', hostvars, ['host_audit', 'audit']))) }}
    bars:
      certificate_days_left: {amber: 21}
      held_packages: green
    dest: "{{ playbook_dir }}/../reports"
    version: "0.1.0"
  delegate_to: localhost
  run_once: true
  register: audit_report

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ audit_report.summary }}"
  run_once: true

- name: Fail when a check is below the bar
  ansible.builtin.assert:
    that: audit_report.below_bar | length == 0
    fail_msg: "{{ audit_report.below_bar }}"
  run_once: true
"""

RETURN = r"""
report:
  description:
    - The whole report, as written to the C(.json) file - C(generated), C(version), C(bars)
      (merged), C(checks) (id and title, in column order), C(hosts) (name to C(collected),
      C(cells), C(worst)), C(worst), C(below_bar).
    - Each cell has C(check), C(title), C(status) (green, amber, red or none), C(summary) (one
      line) and C(details) (lines).
  returned: success
  type: dict
  sample:
    generated: "2026-12-03T12:00:00Z"
    version: 0.1.0
    worst: red
    below_bar: ["fedi: tls: accepts TLSv1"]
summary:
  description: The Markdown summary (host x check matrix, the amber and red cells, run and version).
  returned: success
  type: str
paths:
  description: The files written (in check mode, that would be written).
  returned: success
  type: dict
  sample:
    json: /srv/reports/audit-20261203T120000Z.json
    md: /srv/reports/audit-20261203T120000Z.md
    html: /srv/reports/audit-20261203T120000Z.html
    latest_json: /srv/reports/latest.json
    latest_md: /srv/reports/latest.md
    latest_html: /srv/reports/latest.html
below_bar:
  description: "One C(host: check: summary) line per red cell."
  returned: success
  type: list
  elements: str
  sample: ["fedi: tls: accepts TLSv1"]
worst:
  description: The worst status of all cells - red, amber, green, or none when every cell is n/a.
  returned: success
  type: str
  sample: red
"""

import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils.audit_report import (
    build_report,
    render_html,
    render_markdown,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "hosts": {"type": "dict", "required": True},
    "bars": {"type": "dict", "default": {}},
    "dest": {"type": "path", "required": True},
    "version": {"type": "str", "required": True},
    "name": {"type": "str"},
}
EXTENSIONS = ("json", "md", "html")
FILE_MODE = 0o644
DIR_MODE = 0o755
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def utc_now() -> datetime:
    """The current time in UTC (a function, so that tests can fix it)."""
    return datetime.now(timezone.utc)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name == "latest":
        raise ValueError(
            f"name must be letters, digits, '.', '_' or '-' (not 'latest'), got {name!r}"
        )
    return name


def render(params: Mapping[str, Any], now: datetime) -> tuple[dict, dict[str, str]]:
    """The report and its three renderings ({extension: text}); ValueError on bad input."""
    version = params.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ValueError(f"version must be a non-empty string, got {version!r}")
    bars = params.get("bars")
    report = build_report(
        params.get("hosts"),
        {} if bars is None else bars,
        generated=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        version=version,
    )
    texts = {
        "json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        "md": render_markdown(report),
        "html": render_html(report),
    }
    return report, texts


def _differs(path: str, data: bytes) -> bool:
    """Whether writing ``data`` at ``path`` (mode 0644) would change anything."""
    try:
        with open(path, "rb") as handle:
            same = handle.read() == data
        return not same or (os.stat(path).st_mode & 0o7777) != FILE_MODE
    except FileNotFoundError:
        return True


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` next to ``path`` (mode 0644), flush it, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".audit-report.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _ensure_dir(dest: str, check_mode: bool) -> bool:
    """Create ``dest`` (0755, with parents) unless it exists; True when it was (or would be)."""
    if os.path.isdir(dest):
        return False
    if os.path.exists(dest):
        raise ValueError(f"dest {dest} exists and is not a directory")
    if not check_mode:
        os.makedirs(dest, mode=DIR_MODE)
        os.chmod(dest, DIR_MODE)  # makedirs' mode is masked by the umask
    return True


def run(params: Mapping[str, Any], check_mode: bool = False, now: datetime | None = None) -> dict:
    """Build the report and write its files; the module's result (without ``failed``).

    Raises ValueError (bad bars, facts or name) and OSError (dest not writable).
    """
    now = now or utc_now()
    dest = params.get("dest")
    if not isinstance(dest, str) or not dest:
        raise ValueError(f"dest must be a directory path, got {dest!r}")
    name = params.get("name") or f"audit-{now.strftime('%Y%m%dT%H%M%SZ')}"
    name = _check_name(name)
    report, texts = render(params, now)
    changed = _ensure_dir(dest, check_mode)
    paths: dict[str, str] = {}
    for ext in EXTENSIONS:
        data = texts[ext].encode("utf-8")
        for key, base in ((ext, name), (f"latest_{ext}", "latest")):
            path = os.path.join(dest, f"{base}.{ext}")
            paths[key] = path
            if _differs(path, data):
                changed = True
                if not check_mode:
                    write_atomic(path, data)
    return {
        "changed": changed,
        "report": report,
        "summary": texts["md"],
        "paths": paths,
        "below_bar": report["below_bar"],
        "worst": report["worst"],
    }


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module.params, check_mode=module.check_mode)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"cannot write the report in {module.params['dest']}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
