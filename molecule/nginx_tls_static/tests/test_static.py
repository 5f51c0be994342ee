"""nginx_tls imported alone: static mode, modern profile, checked on the host by the name
the lab's name server gives it."""
import json

import observatory

URL = "https://solo.lab/"


def test_full_header_set_exactly_once_and_a_plus(lab):
    status, headers, body = lab.page("solo", URL)
    assert status == 200
    expected = {
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    for name, value in expected.items():
        assert observatory.header_values(headers, name) == [value], name
    csp = observatory.header_values(headers, "Content-Security-Policy")
    assert len(csp) == 1 and "frame-ancestors 'none'" in csp[0]
    assert len(observatory.header_values(headers, "Permissions-Policy")) == 1
    result = observatory.score(headers, redirect_ok=True, html=body, host="solo.lab")
    assert result["grade"] == "A+", result


def test_http_redirects_with_308(lab):
    status, headers = lab.http("solo", "http://solo.lab/x")
    assert status == 308
    assert observatory.header_values(headers, "Location") == ["https://solo.lab/x"]


def test_modern_profile_is_tls13_only(lab):
    report = json.loads(lab.run_script("solo", "tls_probe.py", "solo.lab"))
    assert report["protocols"]["TLSv1_3"]["accepted"]
    for version in ("TLSv1", "TLSv1_1", "TLSv1_2"):
        assert not report["protocols"][version]["accepted"], version
    assert report["tls12_suites"] == []
