"""The kit against LockCloud, then against a faulty proxy per rule: each required check passes
against the correct server and fails against the server that breaks its rule."""
import re

import pytest

from conftest import run_kit  # noqa: F401 (fixtures come from conftest)
from faulty_proxy import FAULTS, FaultyProxy

# Checks written to the contract (/work/shared/design/contract.md) whose behaviour LockCloud gets
# from a parallel branch: against a binary without it they fail, and this test says so.
REQUIRED_CHECKS = [
    "health.ok", "oauth.state_round_trip", "oauth.token_response", "oauth.exact_redirect", "oauth.prompt_login",
    "oauth.code_single_use", "oauth.refresh_keeps_old_tokens", "oauth.parallel_refresh", "oauth.stable_user_id",
    "devices.list", "devices.lock_fields", "devices.get_lock", "devices.unknown_lock_404", "webhooks.register",
    "actions.create", "actions.custom_id_idempotent", "actions.completes", "actions.device_offline",
    "actions.completed_event", "codes.create", "codes.reaches_active", "codes.list", "codes.update", "codes.delete",
    "codes.invalid_pin", "codes.pin_conflict", "codes.limit_reached", "codes.default_page_all_live",
    "webhooks.delivery", "webhooks.access_code_events", "webhooks.envelope", "webhooks.signature",
    "webhooks.retry_after_500", "webhooks.events_seam_needs", "openapi.responses_match",
]

# What else a check needs to have run (the kit always runs sign-in, discovery, pairing and the
# webhook registration).
NEEDS = {
    "actions.custom_id_idempotent": ["actions.create"], "actions.completes": ["actions.create"],
    "actions.completed_event": ["actions.create"],
    "codes.reaches_active": ["codes.create"], "codes.list": ["codes.create"], "codes.update": ["codes.create"],
    "codes.delete": ["codes.create"], "codes.default_page_all_live": ["codes.limit_reached"],
    "webhooks.delivery": ["actions.create"], "webhooks.envelope": ["actions.create"],
    "webhooks.signature": ["actions.create"], "webhooks.retry_after_500": ["actions.create"],
    "webhooks.access_code_events": ["codes.create", "codes.update", "codes.delete"],
    "webhooks.events_seam_needs": ["actions.create", "codes.create", "codes.update", "codes.delete"],
    "openapi.responses_match": ["devices.list"],
}


def test_every_required_check_has_a_fault():
    assert sorted(set(FAULTS.values())) == sorted(REQUIRED_CHECKS)


@pytest.mark.parametrize("check", REQUIRED_CHECKS)
def test_passes_against_lockcloud(honest_run, check):
    code, outcomes, output, paths = honest_run
    assert outcomes.get(check) == "passed", f"{check}: {outcomes.get(check)}\n" + \
        "\n".join(l for l in output.splitlines() if check in l or l.startswith("       "))


def test_exit_code_follows_the_required_checks(honest_run):
    code, outcomes, output, paths = honest_run
    required_bad = [c for c in REQUIRED_CHECKS if outcomes.get(c) != "passed"]
    assert (code == 0) == (not required_bad), (code, required_bad)


def test_html_report_escapes_and_names_every_check(honest_run):
    code, outcomes, output, paths = honest_run
    page = paths["html"].read_text()
    for check in REQUIRED_CHECKS:
        assert check in page
    assert "<script" not in page.lower()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_check_fails_against_a_server_breaking_its_rule(lockcloud, workdir, fault):
    check = FAULTS[fault]
    proxy = FaultyProxy(lockcloud["LOCKCLOUD_URL"], fault)
    try:
        code, outcomes, output, paths = run_kit(proxy.url, lockcloud["ALICE_LOCK"], workdir, f"fault-{fault}",
                                                *only_args(check))
    finally:
        proxy.stop()
    assert outcomes.get(check) == "failed", f"{check} did not fail against fault {fault}: {outcomes.get(check)}\n{output}"
    assert code != 0


def test_a_correct_proxy_changes_nothing(lockcloud, workdir):
    """The proxy itself (no fault) passes the checks it can break, so a failure above is the fault's."""
    proxy = FaultyProxy(lockcloud["LOCKCLOUD_URL"], None)
    try:
        only = []
        for c in ["oauth", "devices", "actions", "codes.create", "codes.reaches_active", "codes.list", "codes.update",
                  "codes.delete", "codes.invalid_pin", "codes.pin_conflict", "webhooks", "health"]:
            only += ["--only", c]
        code, outcomes, output, paths = run_kit(proxy.url, lockcloud["ALICE_LOCK"], workdir, "proxy-no-fault", *only)
    finally:
        proxy.stop()
    contract_pending = {"webhooks.access_code_events"}
    bad = {c: o for c, o in outcomes.items() if o == "failed" and c in REQUIRED_CHECKS and c not in contract_pending}
    assert not bad, output


def only_args(check):
    args = []
    for c in [check, *NEEDS.get(check, [])]:
        args += ["--only", c]
    return args


@pytest.mark.parametrize("check", REQUIRED_CHECKS)
def test_the_same_selection_passes_without_a_fault(lockcloud, workdir, check):
    """The very run the fault test makes (same --only selection, through the proxy), with no
    fault: the check passes, so its failure above is the fault's doing."""
    proxy = FaultyProxy(lockcloud["LOCKCLOUD_URL"], None)
    try:
        code, outcomes, output, paths = run_kit(proxy.url, lockcloud["ALICE_LOCK"], workdir, f"nofault-{check}",
                                                *only_args(check))
    finally:
        proxy.stop()
    assert outcomes.get(check) == "passed", f"{check}: {outcomes.get(check)}\n{output}"
