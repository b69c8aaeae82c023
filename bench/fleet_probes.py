"""What the fleet case measures outside the fleet itself: the server process (memory, open
file descriptors, CPU shares) and the API's latency under wrk."""
import asyncio
import os
from pathlib import Path

import cpu

WRK_DIR = Path(__file__).resolve().parent / "wrk"


def server_status(pid):
    """(VmRSS MB, VmHWM MB, open file descriptors) of a process."""
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["VmHWM"][0]) / 1024, open_descriptors(pid)


def open_descriptors(pid):
    """How many descriptors a process has open. Linux 6.2 and later give the count as the size
    of /proc/PID/fd; listing it instead took 14-30 ms for the server's 10,000, and the sampler
    did that every second on the generator's event loop, holding it (and so every arrival time
    and the loop-lag figure) that long. Older kernels report size 0: then the listing."""
    path = f"/proc/{pid}/fd"
    return os.stat(path).st_size or len(os.listdir(path))


class CPUWindow:
    """Shares of the machine's CPU time between start() and stop(): the server, PostgreSQL,
    this fleet process alone, the wrk runs it started and waited for, and the rest (the
    kernel, anything else), as bench/cpu.py splits a case."""

    def __init__(self, server_pid, postmaster_pid):
        self.server_pid, self.postmaster_pid = server_pid, postmaster_pid

    def _take(self):
        sample = cpu.snapshot(self.server_pid, self.postmaster_pid)
        sample["fleet"] = cpu.ticks(os.getpid(), reaped=False)
        sample["wrk"] = cpu.ticks(os.getpid()) - sample["fleet"]  # reaped children: the wrk runs
        return sample

    def start(self):
        self.before = self._take()

    def stop(self):
        after = self._take()
        delta = {key: after[key] - self.before[key] for key in after}
        total = delta["total"] or 1
        shares = {part: delta[part] / total for part in ("server", "postgres", "fleet", "wrk", "idle")}
        shares["rest"] = max(0.0, 1 - sum(shares.values()))
        return shares


# The niceness this process started with: wrk gets it back when the generator lowered its own
# (BENCH_FLEET_NICE), so that only the fleet runs at a lower priority. Raising a priority again
# needs root; otherwise wrk keeps the generator's niceness (bench/fleet.py says which happened).
STARTING_NICE = os.getpriority(os.PRIO_PROCESS, 0)


def restore_priority():
    try:
        os.setpriority(os.PRIO_PROCESS, 0, STARTING_NICE)
    except OSError:
        pass


def wrk_priority_restorable():
    return os.getpriority(os.PRIO_PROCESS, 0) == STARTING_NICE or os.geteuid() == 0


async def wrk_get_lock(base_url, workdir, token, lock_ids, seconds, connections, delay_ms=None):
    """One wrk run of authenticated GET /locks/{id} (bench/wrk/get_lock.lua, random locks of
    the token's owner), as fast as it is answered or, with `delay_ms`, each connection pausing
    that long between requests (bench/wrk/paced.lua): {"rps", "p50_ms", "p99_ms", "non2xx", "errors"}."""
    parts = ["common.lua", "get_lock.lua"] + (["paced.lua"] if delay_ms else [])
    script = Path(workdir) / ("fleet_get_lock_paced.lua" if delay_ms else "fleet_get_lock.lua")
    script.write_text("".join((WRK_DIR / part).read_text() for part in parts))
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), base_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "BENCH_TOKEN": token, "BENCH_LOCK_IDS": str(lock_ids), "BENCH_DELAY_MS": str(delay_ms or 0)},
        # Only a generator that lowered its priority needs a function run in the child: that
        # forces a fork of this process (10,000 sockets) where Python otherwise spawns lighter.
        preexec_fn=None if os.getpriority(os.PRIO_PROCESS, 0) == STARTING_NICE else restore_priority)
    out, _ = await process.communicate()
    line = next((l for l in out.decode().splitlines() if l.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError("wrk printed no RESULT line")
    f = dict(part.split("=") for part in line.split()[1:])
    ok = int(f["requests"]) - int(f["non2xx"])
    return {"rps": ok / float(f["seconds"]), "p50_ms": float(f["p50_ms"]), "p99_ms": float(f["p99_ms"]),
            "non2xx": int(f["non2xx"]), "errors": int(f["errors"])}


def median_by_p99(runs):
    """The run with the median p99, as bench.sh reports its repeated GET /locks/{id} cases."""
    return sorted(runs, key=lambda run: run["p99_ms"])[len(runs) // 2]
