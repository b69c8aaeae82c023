"""The reports without a server: HTML escapes everything it shows, JUnit is well-formed with one
suite per guide section, and the exit code follows the required checks only."""
import sys
import xml.etree.ElementTree as ET

from conftest import KIT

sys.path.insert(0, str(KIT))
import run  # noqa: E402


def results():
    evil = "<script>alert(1)</script>&\"'"
    a = run.Result("oauth.state_round_trip", "oauth", "contract §3 " + evil, run.REQUIRED, "state " + evil)
    a.outcome, a.message, a.exchanges = "failed", "came back " + evil, ["> GET /x?" + evil + "\n< 200\n< " + evil]
    b = run.Result("devices.list", "devices", "r", run.REQUIRED, "t")
    b.outcome = "passed"
    c = run.Result("offline.create", "offline", "r", run.OPTIONAL, "t")
    c.outcome, c.message = "skipped", "optional: run with --optional"
    return [a, b, c]


def test_html_escapes_everything(tmp_path):
    path = tmp_path / "r.html"
    run.html_report(results(), str(path), "http://api.example/<b>", ["webhook <i>x</i>"])
    page = path.read_text()
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "OAuth 2.0" in page and "Device model and discovery" in page
    assert page.count("<pre>") == 1  # the failure's exchange


def test_junit_has_a_suite_per_section(tmp_path):
    path = tmp_path / "r.xml"
    run.junit(results(), str(path))
    root = ET.parse(path).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"OAuth 2.0 (authorization code flow)", "Device model and discovery", "Offline access codes (optional)"}
    assert suites["OAuth 2.0 (authorization code flow)"].get("failures") == "1"
    assert suites["Offline access codes (optional)"].find("testcase/skipped") is not None


def test_redaction():
    assert "s3cret" not in run.redact("grant_type=x&client_secret=s3cret&password=s3cret")
    assert "s3cret" not in run.redact('{"refresh_token": "s3cret", "access_token":"s3cret", "secret": "s3cret"}')
