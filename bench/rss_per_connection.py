"""Memory per connection of a running LockCloud server (issue 17's RSS target), split by what
the connection is doing: N sockets opened, then each sends one device heartbeat and reads the
answer (one after another, so the figure is what a lock's connection keeps between requests, not
the peak of N requests at once), then each holds a long poll (GET /device/v1/commands?wait=25,
one seeded lock per socket; PROBE_PATH names another path), sent in batches of 50 every 50 ms as
a fleet's polls spread out (a burst of N at once measures the allocator's peak, which it keeps).
With PROBE_HEALTH=1 each socket first sends a GET /health (an API request's kept memory).
After each step it waits 2 s and reads the server's VmRSS; it prints kB per socket over the
starting RSS.
  .venv/bin/python bench/rss_per_connection.py BASE_URL LOCKCLOUD_BIN DATABASE_URL SERVER_PID N
The server needs a heartbeat timeout above the run (LOCKCLOUD_HEARTBEAT_TIMEOUT_SECONDS=600) and
a descriptor limit above N."""
import os
import socket
import sys
import time

from fleet_db import seed_fleet


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def read_answer(sock):
    """One small HTTP answer with a JSON body (what /health sends)."""
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"connection closed after {data!r}")
        data += chunk
    return data


def main():
    base, binary, database_url, pid, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    host, port = base.split("//")[1].split(":")
    path = os.environ.get("PROBE_PATH", "/device/v1/commands?wait=25")
    _, locks = seed_fleet(base, binary, database_url, count)

    def settled():
        time.sleep(2)
        return rss_kb(pid)

    start = settled()
    sockets = [socket.create_connection((host, int(port))) for _ in range(count)]
    connected = settled()
    after_request = connected
    if os.environ.get("PROBE_HEALTH") == "1":
        for sock in sockets:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: probe\r\n\r\n")
            read_answer(sock)
        after_request = settled()
    for sock, (_, credential) in zip(sockets, locks):
        sock.sendall(f"POST /device/v1/heartbeat HTTP/1.1\r\nHost: probe\r\nAuthorization: Bearer {credential}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}".encode())
        read_answer(sock)
    after_heartbeat = settled()
    for index, (sock, (_, credential)) in enumerate(zip(sockets, locks)):
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: probe\r\nAuthorization: Bearer {credential}\r\n\r\n".encode())
        if index % 50 == 49:
            time.sleep(0.05)
    waiting = settled()
    per = lambda kb: f"{(kb - start) / count:.1f}"
    print(f"RSS per connection, {count} connections, server at {start / 1024:.0f} MB before: connected {per(connected)} kB, "
          f"after GET /health {per(after_request)} kB, after a heartbeat {per(after_heartbeat)} kB, holding {path} {per(waiting)} kB")
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
