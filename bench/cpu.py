"""Where the CPU went during a benchmark case: `cpu.py snapshot SERVER_PID POSTMASTER_PID > F`
before and after, then `cpu.py split BEFORE AFTER` prints the shares of the machine's total
CPU time used by LockCloud, by PostgreSQL (postmaster, backends, and exited children such as
pgbench's connections) and by everything else (wrk, the kernel's own work), and idle time.
A profile at the level of processes: enough to see which side of the socket the time is on."""
import json
import os
import sys


def ticks(pid, reaped=True):
    """utime + stime of one process, in clock ticks, with its reaped children's unless told not."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(v) for v in fields[11:15 if reaped else 13])


def children(pid):
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def snapshot(server, postmaster):
    cpu = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return {"total": sum(cpu), "idle": cpu[3] + cpu[4], "server": ticks(server),
            "postgres": ticks(postmaster) + sum(ticks(c) for c in children(postmaster))}


if __name__ == "__main__":  # bench/fleet.py imports snapshot() and ticks()
    if sys.argv[1] == "snapshot":
        print(json.dumps(snapshot(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        before, after = (json.load(open(path)) for path in sys.argv[2:4])
        delta = {key: after[key] - before[key] for key in before}
        total = delta["total"] or 1
        other = total - delta["idle"] - delta["server"] - delta["postgres"]
        print(f"server {100 * delta['server'] / total:.1f}%, postgres {100 * delta['postgres'] / total:.1f}%, "
              f"wrk and the rest {100 * max(other, 0) / total:.1f}%, idle {100 * delta['idle'] / total:.1f}%")
