"""docker-compose.yml is not run here (no Docker engine on the development machines): these
checks read it, so that it at least parses and keeps the policies the deployment relies on."""
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_file_parses_and_restarts_a_dead_lockcloud():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) == {"postgres", "migrate", "lockcloud"}
    assert services["lockcloud"]["restart"] == "unless-stopped"
    # The one-shot migration must not be restarted after it finished.
    assert services["migrate"]["restart"] == "no"
    assert services["lockcloud"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["lockcloud"]["command"] == ["serve"]


def test_compose_lockcloud_gets_the_required_key_encryption_key():
    """`serve` refuses to start without it; a restarted instance without it would loop."""
    environment = yaml.safe_load(COMPOSE.read_text())["services"]["lockcloud"]["environment"]
    assert environment["LOCKCLOUD_KEY_ENCRYPTION_KEY"].startswith("${LOCKCLOUD_KEY_ENCRYPTION_KEY:?")
