"""Fixtures for the kit's own tests: one LockCloud (throwaway PostgreSQL, demo data, webhook
delivery, the lock simulator for the demo locks) started with conformance/lockcloud-up.sh, and a
helper that runs the kit and reads its JUnit report. LOCKCLOUD_BIN names the lockcloud binary."""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent
ROOT = KIT.parent


def env_of(path):
    values = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            values[k] = v.strip('"')
    return values


@pytest.fixture(scope="session")
def workdir():
    base = os.environ.get("LOCKCLOUD_TEST_WORKDIR")
    path = tempfile.mkdtemp(prefix="conformance-", dir=base)
    os.chmod(path, 0o755)
    return Path(path)


@pytest.fixture(scope="session")
def lockcloud(workdir):
    binary = os.environ.get("LOCKCLOUD_BIN")
    if not binary:
        pytest.fail("LOCKCLOUD_BIN must name the lockcloud binary")
    work = workdir / "lockcloud"
    subprocess.run([str(KIT / "lockcloud-up.sh"), str(work)], check=True, env={**os.environ, "LOCKCLOUD_BIN": binary},
                   stdin=subprocess.DEVNULL)
    values = env_of(work / "env")
    alice = subprocess.run(["psql", values["LOCKCLOUD_DATABASE_URL"], "-tAc",
                            "SELECT l.lock_id FROM locks l JOIN owners o USING (owner_id) "
                            "WHERE o.email = 'alice@example.com' ORDER BY l.lock_id LIMIT 1"],
                           check=True, capture_output=True, text=True).stdout.strip()
    values["ALICE_LOCK"] = alice
    yield values
    subprocess.run([str(KIT / "lockcloud-down.sh"), str(work)], stdin=subprocess.DEVNULL)


def run_kit(base_url, lock_id, workdir, name, *extra):
    """Runs the kit against base_url as demo owner alice; returns (exit code, {check id: outcome},
    output, paths)."""
    junit = workdir / f"{name}.xml"
    report = workdir / f"{name}.html"
    command = [sys.executable, str(KIT / "run.py"), "--base-url", base_url, "--client-id", "seam",
               "--client-secret", "seamsecret", "--email", "alice@example.com", "--password", "lockcloud-demo",
               "--lock-id", lock_id, "--openapi", str(ROOT / "openapi/openapi.yaml"),
               "--webhook-scheme", "standard-webhooks", "--wait", "30", "--junit", str(junit), "--html", str(report),
               *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    outcomes = {}
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            check_id = case.get("name").split(" ")[0]
            if case.find("failure") is not None:
                outcomes[check_id] = "failed"
            elif case.find("skipped") is not None:
                outcomes[check_id] = "skipped"
            else:
                outcomes[check_id] = "passed"
    return done.returncode, outcomes, done.stdout + done.stderr, {"junit": junit, "html": report}


@pytest.fixture(scope="session")
def honest_run(lockcloud, workdir):
    code, outcomes, output, paths = run_kit(lockcloud["LOCKCLOUD_URL"], lockcloud["ALICE_LOCK"], workdir, "lockcloud",
                                            "--optional")
    print(output)
    print(f"conformance report of the LockCloud run: {paths['html']}")
    return code, outcomes, output, paths
