"""docker-compose.yml is not run here (no Docker engine on the development machines): these
checks read it, so that it at least parses and keeps the policies the deployment relies on,
and gives `serve` every setting it cannot start without."""
import base64
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
README = ROOT / "README.md"


def services():
    return yaml.safe_load(COMPOSE.read_text())["services"]


def required_settings():
    """README's configuration table marks the settings with no default as required; and the
    default DATABASE_URL (127.0.0.1) never reaches the database container."""
    rows = [line.split("|") for line in README.read_text().splitlines() if line.startswith("| `")]
    required = {row[1].strip().strip("`") for row in rows if "required" in row[3]}
    assert "LOCKCLOUD_KEY_ENCRYPTION_KEY" in required
    return required | {"DATABASE_URL"}


def env_file_paths(service):
    return [entry["path"] if isinstance(entry, dict) else entry for entry in service.get("env_file", [])]


def key_file_command():
    """The one command README gives to create compose's key file."""
    commands = [line.strip() for line in README.read_text().splitlines()
                if "lockcloud.env" in line and "head -c 32 /dev/urandom" in line]
    assert len(commands) == 1, commands
    return commands[0]


def test_compose_file_parses_and_restarts_a_dead_lockcloud():
    found = services()
    assert set(found) == {"postgres", "migrate", "lockcloud"}
    assert found["lockcloud"]["restart"] == "unless-stopped"
    assert found["postgres"]["restart"] == "unless-stopped"
    # The one-shot migration must not be restarted after it finished.
    assert found["migrate"]["restart"] == "no"
    assert found["lockcloud"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert found["lockcloud"]["command"] == ["serve"]


def test_every_required_setting_reaches_serve(tmp_path):
    lockcloud = services()["lockcloud"]
    environment = lockcloud.get("environment", {})
    assert env_file_paths(lockcloud) == ["lockcloud.env"]
    # A missing key file must stop `docker compose up`, not start a server that cannot serve.
    assert all(entry.get("required", True) for entry in lockcloud["env_file"] if isinstance(entry, dict))
    # README's command, run as written, makes the file compose reads.
    subprocess.run(["sh", "-c", key_file_command()], cwd=tmp_path, check=True)
    from_file = dict(line.split("=", 1) for line in (tmp_path / "lockcloud.env").read_text().splitlines() if line)
    assert len(base64.b64decode(from_file["LOCKCLOUD_KEY_ENCRYPTION_KEY"], validate=True)) == 32
    for name in required_settings():
        value = environment.get(name, from_file.get(name))
        assert value, f"{name} is required by `lockcloud serve` but docker-compose.yml does not set it"
    assert "@postgres:" in environment["DATABASE_URL"]
    assert "@postgres:" in services()["migrate"]["environment"]["DATABASE_URL"]


def test_the_key_file_stays_out_of_git_and_the_image():
    assert "lockcloud.env" in (ROOT / ".gitignore").read_text().splitlines()
    # The Dockerfile copies named folders only, never the whole context with the key file.
    copies = re.findall(r"^COPY\s+(?!--from)(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert "." not in copies and "lockcloud.env" not in copies
