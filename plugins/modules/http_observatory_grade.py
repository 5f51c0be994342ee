#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.http_observatory_grade: score response headers by the MDN HTTP Observatory
rules, offline, with module_utils/observatory.py. Read-only; the work is in :func:`grade`, which
the unit tests call directly."""

from __future__ import annotations

DOCUMENTATION = r"""
module: http_observatory_grade
short_description: Grade HTTP response headers by the MDN HTTP Observatory rules, offline
version_added: 0.1.0
description:
  - Scores one final HTTPS response (its headers, and optionally its body) the way the
    L(MDN HTTP Observatory,https://developer.mozilla.org/en-US/observatory) scanner does
    (npm v1.4.8 / tag v1.6.3 rules, algorithm 5), without contacting any service.
  - The score starts at 100 and every test adds its modifier; bonuses count only if the score
    without them is at least 90. Any score of 100 or more is an C(A+).
  - Repeated headers are joined with C(", ") as the scanner sees them, so a duplicated
    C(Strict-Transport-Security) or C(X-Frame-Options) header is scored as invalid.
  - Stricter than the scanner on one point, on purpose - more than one Content-Security-Policy
    (two header lines or a comma-separated list) gives C(csp-duplicated-header) (-25).
  - What the scanner learns from other requests is given as options - the HTTP redirect
    route (O(redirect_ok) or O(redirects)), certificate validity (O(cert_valid)), the HSTS
    preload list (O(preloaded_hosts)) and the Origin sent for the CORS check (O(cors_origin)).
  - Only computes; it changes nothing on the target.
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  headers:
    description:
      - The response headers. Either a list of C([name, value]) pairs in response order, a
        repeated header as several pairs; or a dictionary mapping a header name to its value
        or to a list of values (one per header line).
      - Names are case-insensitive. Integer values are taken as strings. An empty value is
        scored as the scanner scores an empty header.
      - C(Set-Cookie) headers given here are used for the cookies test.
    type: raw
    required: true
  body:
    description:
      - The response body. When given and the C(Content-Type) header is absent or HTML, its
        C(<script>) elements are checked by the subresource-integrity test.
      - When omitted, the page counts as loading no scripts.
    type: str
  host:
    description:
      - The site's hostname, without scheme, port or path.
      - Tells same-site from foreign absolute script URLs in O(body) (the last two DNS labels
        are compared) and is looked up in O(preloaded_hosts).
      - When omitted, every absolute script URL counts as foreign.
    type: str
  https:
    description:
      - Whether the response came over HTTPS. When false, HSTS is scored as not possible and
        the CSP insecure-scheme checks are skipped.
    type: bool
    default: true
  redirect_ok:
    description:
      - Whether the plain C(http://) URL redirects to C(https://) on the same host.
      - V(false) scores C(redirection-missing) (-20).
      - Exactly one of O(redirect_ok) and O(redirects) is required.
    type: bool
  redirects:
    description:
      - The redirect route, as the scanner follows it - the C(http://) URL first requested,
        then every URL it was redirected to, in order.
      - An empty list means no HTTP listener answered (C(redirection-not-needed-no-http)).
      - Exactly one of O(redirect_ok) and O(redirects) is required.
    type: list
    elements: str
  cert_valid:
    description:
      - Whether the HTTPS certificate verified. V(false) scores C(hsts-invalid-cert) and, when
        the route reaches HTTPS, C(redirection-invalid-cert) (-20 each).
    type: bool
    default: true
  preloaded_hosts:
    description:
      - Hostnames on the Chromium HSTS preload list (this module ships no list). A listed name
        also covers its subdomains, like a preload entry with C(include_subdomains).
      - If O(host) is covered, HSTS scores C(hsts-preloaded) (+5); if every host of the redirect
        route is covered, redirection scores C(redirection-all-redirects-preloaded).
    type: list
    elements: str
    default: []
  cors_origin:
    description:
      - The C(Origin) request header sent with the request that returned O(headers).
      - The scanner sends an C(OPTIONS) preflight to the final URL, with the request header
        C(Origin) set to C(https://http-observatory.security.mozilla.org) and
        C(Access-Control-Request-Method) set to C(GET), and reads the CORS headers from its
        response; this module reads them from O(headers).
      - When C(Access-Control-Allow-Origin) reflects it and C(Access-Control-Allow-Credentials)
        is C(true), CORS scores C(cross-origin-resource-sharing-implemented-with-universal-access)
        (-50). Without this option, any specific origin counts as restricted access (0).
    type: str
notes:
  - Not modelled - C(<meta http-equiv>) policies in O(body), and the scanner's merging of
    several CSP policies (see the description). The cross-origin-opener-policy and
    cross-origin-embedder-policy tests of the scanner's unreleased main branch are not scored.
seealso:
  - name: MDN HTTP Observatory scoring
    description: The tests and their modifiers.
    link: https://developer.mozilla.org/en-US/observatory/docs/tests_and_scoring
"""

EXAMPLES = r"""
- name: Grade a fixed header set
  fedisec.hardening.http_observatory_grade:
    headers:
      - [Content-Security-Policy, "default-src 'none'; frame-ancestors 'none'"]
      - [Strict-Transport-Security, max-age=63072000; includeSubDomains]
      - [X-Content-Type-Options, nosniff]
      - [Referrer-Policy, same-origin]
    redirect_ok: true
  register: observatory

- name: Headers as a dictionary
  fedisec.hardening.http_observatory_grade:
    headers:
      Strict-Transport-Security: max-age=63072000
      Set-Cookie:
        - "_session=abc; Secure; HttpOnly; SameSite=Lax"
        - "lang=en; Secure; SameSite=Lax"
    redirect_ok: false

# curl writes the header block to stderr (-D /dev/stderr) and the body to stdout.
- name: Fetch the front page
  ansible.builtin.command:
    argv: [curl, -sS, --max-time, "10", -D, /dev/stderr, "https://social.example.org/"]
  register: front
  changed_when: false
  delegate_to: localhost

- name: Where the plain HTTP URL redirects to (first hop only)
  ansible.builtin.command:
    argv: [curl, -sS, --max-time, "10", -o, /dev/null, -w, "%{redirect_url}",
           "http://social.example.org/"]
  register: http_hop
  changed_when: false
  delegate_to: localhost

- name: Grade the front page
  fedisec.hardening.http_observatory_grade:
    headers: >-
      {{ front.stderr_lines[1:] | select('search', ':')
         | map('regex_replace', '^([^:]+):\s*', '\1: ') | map('split', ': ', 1) | list }}
    body: "{{ front.stdout }}"
    host: social.example.org
    redirects: "{{ ['http://social.example.org/', http_hop.stdout] | select | list }}"
  register: observatory
  delegate_to: localhost

- name: Require an A+
  ansible.builtin.assert:
    that: observatory.grade == 'A+'
    fail_msg: "{{ observatory.score }} ({{ observatory.grade }}): {{ observatory.tests }}"
"""

RETURN = r"""
score:
  description: The final score, floored at 0 (145 is the maximum).
  returned: success
  type: int
  sample: 120
grade:
  description: The letter grade for RV(score) (C(A+) for 100 and more, C(F) below 25).
  returned: success
  type: str
  sample: A+
tests:
  description:
    - One entry per scanner test, keyed by its name - content-security-policy, cookies,
      cross-origin-resource-sharing, redirection, referrer-policy, strict-transport-security,
      subresource-integrity, x-content-type-options, x-frame-options,
      cross-origin-resource-policy.
    - Each has the scanner's result name and the modifier it adds to the score.
  returned: success
  type: dict
  contains:
    result:
      description: The result name, as in the scanner's output (e.g. C(hsts-header-invalid)).
      type: str
      returned: always
    modifier:
      description: Points this result adds to (or removes from) the score.
      type: int
      returned: always
  sample:
    content-security-policy:
      result: csp-implemented-with-no-unsafe-default-src-none
      modifier: 10
    strict-transport-security:
      result: hsts-implemented-max-age-at-least-six-months
      modifier: 0
"""

from collections.abc import Mapping
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils.observatory import score

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "headers": {"type": "raw", "required": True},
    "body": {"type": "str"},
    "host": {"type": "str"},
    "https": {"type": "bool", "default": True},
    "redirect_ok": {"type": "bool"},
    "redirects": {"type": "list", "elements": "str"},
    "cert_valid": {"type": "bool", "default": True},
    "preloaded_hosts": {"type": "list", "elements": "str", "default": []},
    "cors_origin": {"type": "str"},
}
MUTUALLY_EXCLUSIVE = [("redirect_ok", "redirects")]
REQUIRED_ONE_OF = [("redirect_ok", "redirects")]


def grade(params: Mapping[str, Any]) -> dict[str, Any]:
    """Score the response described by the module's ``params``.

    Returns ``{"score": int, "grade": str, "tests": {name: {"result", "modifier"}}}``.
    Raises ValueError, naming the option, on bad input (also when called without Ansible's
    argument checks, as the unit tests do).
    """
    unknown = sorted(set(params) - set(ARGUMENT_SPEC))
    if unknown:
        raise ValueError(f"unsupported option(s): {', '.join(unknown)}")
    if params.get("headers") is None:
        raise ValueError("headers is required")
    body = params.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body must be a string, got {type(body).__name__}")
    redirect_ok, redirects = params.get("redirect_ok"), params.get("redirects")
    if redirect_ok is None and redirects is None:
        raise ValueError("one of redirect_ok or redirects is required")
    if redirect_ok is not None and redirects is not None:
        raise ValueError("redirect_ok and redirects are mutually exclusive")
    preloaded_hosts = params.get("preloaded_hosts")
    if preloaded_hosts is None:
        preloaded_hosts = []
    elif isinstance(preloaded_hosts, str) or not isinstance(preloaded_hosts, (list, tuple)):
        raise ValueError(f"preloaded_hosts must be a list, got {type(preloaded_hosts).__name__}")

    https = params.get("https")
    cert_valid = params.get("cert_valid")
    report = score(
        params["headers"],
        redirect_ok=redirect_ok,
        redirects=redirects,
        https=True if https is None else https,
        html=body,
        host=params.get("host"),
        cert_valid=True if cert_valid is None else cert_valid,
        preloaded_hosts=preloaded_hosts,
        cors_origin=params.get("cors_origin"),
    )
    return {"score": report["score"], "grade": report["grade"], "tests": report["tests"]}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_one_of=REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    try:
        result = grade(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
