"""Seeds a benchmark database through LockCloud's own CLI and API (and plain SQL for bulk lock
rows), and writes what the wrk scripts need: tokens, lock id files, a shell env file."""
import argparse
import base64
import subprocess
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pytests"))
from oauth_helpers import create_client, create_owner, tokens_for_client  # noqa: E402

REDIRECT = "http://localhost:3020/oauth/callback"


def psql(url, sql):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def bulk_locks(url, owner_id, count, tag):
    """Lock rows straight into the table (pairing one by one would take hours for a million).
    Their offline keys are placeholders: these locks are only read, never issued codes."""
    psql(url, "INSERT INTO locks (owner_id, model_id, name, timezone, device_credential_hash, offline_key_sealed) "
              f"SELECT '{owner_id}', 'lc-200', 'Bench {tag} ' || i, 'UTC', sha256(('{tag}-' || i)::bytea), '\\x00'::bytea "
              f"FROM generate_series(1, {count}) i")


def write_ids(url, owner_id, path, sample=100_000):
    """At most `sample` of the owner's lock ids, drawn at random from all of them: wrk's Lua
    holds them in memory, and a million strings there makes its own garbage collector pause the
    load generator (seen as a false latency tail)."""
    ids = psql(url, f"SELECT lock_id FROM locks WHERE owner_id = '{owner_id}' AND removed_at IS NULL "
                    f"ORDER BY random() LIMIT {sample}")
    Path(path).write_text(ids + "\n")
    return ids.count("\n") + 1


def owner(base_url, lockcloud_bin, database_url, client):
    email, password = create_owner(lockcloud_bin, database_url)
    tokens = tokens_for_client(base_url, email, password, client[0], client[1], REDIRECT)
    me = requests.get(f"{base_url}/me", headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
    return me["user_id"], tokens


def seed_code_lister(base_url, lockcloud_bin, database_url, work):
    """An owner of its own with one paired lock holding 199 online codes, its model's maximum
    (all pending: no device answers), for the access-code list case; writes `codes_env`."""
    client = create_client(lockcloud_bin, database_url, REDIRECT, name="Bench code lister")
    _, tokens = owner(base_url, lockcloud_bin, database_url, client)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + tokens["access_token"]
    response = session.post(f"{base_url}/locks", json={"name": "Code lister", "timezone": "UTC"})
    assert response.status_code == 201, response.text
    lock = response.json()
    for i in range(lock["max_access_codes"]):
        response = session.post(f"{base_url}/locks/{lock['lock_id']}/access_codes",
                                json={"name": f"Guest {i}", "code": f"{100000 + i}"})
        assert response.status_code == 201, response.text
    psql(database_url, "ANALYZE access_codes")
    (work / "codes_env").write_text(f"BENCH_CODES_TOKEN={tokens['access_token']}\n"
                                    f"BENCH_CODES_LOCK_ID={lock['lock_id']}\n")
    print(f"seed: one lock with {lock['max_access_codes']} access codes, its own owner")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["base", "scale", "codes"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--reader-locks", type=int, default=10_000)
    parser.add_argument("--scale-locks", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(args.workdir)

    if args.command == "codes":
        seed_code_lister(args.base_url, args.bin, args.database_url, work)
        return

    if args.command == "scale":
        reader_id = (work / "reader_id").read_text().strip()
        have = int(psql(args.database_url, f"SELECT count(*) FROM locks WHERE owner_id = '{reader_id}'"))
        bulk_locks(args.database_url, reader_id, args.scale_locks - have, "scale")
        # As a table that has been live for a while would be: statistics, visibility map and
        # hint bits set, and no checkpoint pending from the bulk load.
        psql(args.database_url, "VACUUM (ANALYZE) locks")
        psql(args.database_url, "CHECKPOINT")
        sampled = write_ids(args.database_url, reader_id, work / "reader_ids")
        print(f"seed: reader now has {args.scale_locks} locks ({sampled} random ones requested)")
        return

    client = create_client(args.bin, args.database_url, REDIRECT, name="Bench client")
    reader_id, reader = owner(args.base_url, args.bin, args.database_url, client)
    lister_id, lister = owner(args.base_url, args.bin, args.database_url, client)
    writer_id, writer = owner(args.base_url, args.bin, args.database_url, client)
    bulk_locks(args.database_url, reader_id, args.reader_locks, "reader")
    bulk_locks(args.database_url, lister_id, 100, "lister")
    # Locks that are issued codes are paired through the API: they need real sealed keys.
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + writer["access_token"]
    for i in range(1000):
        response = session.post(f"{args.base_url}/locks", json={"name": f"Writer {i}", "timezone": "UTC"})
        assert response.status_code == 201, response.text
    psql(args.database_url, "ANALYZE")
    (work / "reader_id").write_text(reader_id)
    write_ids(args.database_url, reader_id, work / "reader_ids")
    write_ids(args.database_url, writer_id, work / "writer_ids")
    basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    (work / "env").write_text(
        f"BENCH_READER_TOKEN={reader['access_token']}\n"
        f"BENCH_LISTER_TOKEN={lister['access_token']}\n"
        f"BENCH_WRITER_TOKEN={writer['access_token']}\n"
        f"BENCH_REFRESH_TOKEN={reader['refresh_token']}\n"
        f"BENCH_CLIENT_BASIC={basic}\n")
    print(f"seed: {args.reader_locks} + 100 + 1000 locks, three owners, one client")


if __name__ == "__main__":
    main()
