"""The `make bench` report: the table, slot accounting, the scale comparison, where the CPU
went, what that means for the targets, the profile, the fleet case, and the last lines (the RATIOs, peak RSS).
`report.py RESULTS PGBENCH_TPS PEAK_RSS_KB SECONDS SCALE_LOCKS SLOT_CHECK CPU_FILE [PROFILE [REPEATS]]`
The fleet case's lines (bench/fleet.py) are read from $BENCH_FLEET_RESULTS when it is set."""
import os
import platform
import re
import sys

import fleet_report

path, pgbench, rss_kb, seconds, scale, slots, cpu_path = sys.argv[1:8]
profile = sys.argv[8] if len(sys.argv) > 8 else ""
repeats = sys.argv[9] if len(sys.argv) > 9 else ""
cores = os.cpu_count() or 1
rows = [line.split() for line in open(path)]
by = {r[0]: r for r in rows}
cpu = {}
for line in open(cpu_path):
    name, rest = line.split(" ", 1)
    cpu[name] = {part: float(value) / 100 for part, value in
                 re.findall(r"(server|postgres|rest|idle) ([0-9.]+)%", rest)}

print(f"LockCloud benchmark, {os.uname().nodename}, {platform.machine()}, {cores} cores; "
      f"wrk -t2 -c64 -d{seconds}s; release build; pool size {os.environ.get('BENCH_POOL_SIZE', '8')}")
print()
print("| case | req/s | p50 ms | p99 ms | non-2xx | errors |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r[0]} | {float(r[1]):,.0f} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |")
print()
duplicates, most = slots.split("|")
print(f"offline slots: {duplicates} reused, at most {most} codes in one lock's start hour (limit 3)")
get = float(by["get_lock_10k"][1])
p50_10k, p99_10k, p99_scale = float(by["get_lock_10k"][2]), float(by["get_lock_10k"][3]), float(by["get_lock_scale"][3])
print(f"p99 GET /locks/{{id}}: {p99_10k} ms with 10,000 locks, {p99_scale} ms with {int(scale):,} "
      f"(x{p99_scale / p99_10k:.2f})")
if repeats and os.path.exists(repeats):
    print("Each GET /locks/{id} case ran several times; the table shows the run with the median p99. "
          "All runs (requests, seconds, p99 ms):")
    for line in open(repeats):
        print(f"  {line.rstrip()}")
print()
print("Where the machine's CPU time went during each case, and per request (microseconds of one core):")
for name, share in cpu.items():
    rate = float(by[name][1]) if name in by else 0
    per = (lambda part: f"{share.get(part, 0) * cores * 1e6 / rate:.0f}") if rate else (lambda part: "-")
    print(f"  {name}: server {share.get('server', 0):.1%}, postgres {share.get('postgres', 0):.1%}, "
          f"wrk and the rest {share.get('rest', 0):.1%}, idle {share.get('idle', 0):.1%}; per request: "
          f"server {per('server')}, postgres {per('postgres')}, wrk and the rest {per('rest')}")

# What RATIO 0.5 would take on this machine: the database at pgbench's own cost per query (its
# cheapest: one primary-key read) and the load generator at its measured cost per request,
# both at half of pgbench's rate; whatever of the cores is left is LockCloud's budget.
pg_us = cpu["pgbench_select"]["postgres"] * cores * 1e6 / float(pgbench)
wrk_us = cpu["get_lock_10k"]["rest"] * cores * 1e6 / get
server_us = cpu["get_lock_10k"]["server"] * cores * 1e6 / get
target_rate = 0.5 * float(pgbench)
left_us = (cores * 1e6 - target_rate * (pg_us + wrk_us)) / target_rate
print()
print(f"RATIO 0.5 means {target_rate:,.0f} req/s of GET /locks/{{id}}. At that rate PostgreSQL at pgbench's own "
      f"cost per query ({pg_us:.1f} us) and wrk at its cost per request here ({wrk_us:.1f} us) take "
      f"{target_rate * (pg_us + wrk_us) / 1e6:.2f} of the {cores} cores, leaving {max(left_us, 0):.1f} us per "
      f"request for LockCloud (it used {server_us:.0f} us; wrk alone, the other end of each HTTP exchange, "
      f"used {wrk_us:.0f} us).")
# Little's law: 64 connections always busy, so mean latency = 64 / throughput; the p99 target
# then asks for the throughput at which this run's p99/p50 spread would put p99 at 10 ms.
spread = p99_10k / p50_10k
needed = 64 / (10 / spread / 1000)
if p99_10k <= 10:
    print(f"p99 <= 10 ms with 64 connections: met ({p99_10k} ms at {get:,.0f} req/s; with this run's p99/p50 "
          f"spread, x{spread:.2f}, it holds down to about {needed:,.0f} req/s).")
else:
    print(f"p99 <= 10 ms with 64 connections: with this run's p99/p50 spread (x{spread:.2f}) that needs about "
          f"{needed:,.0f} req/s (measured {get:,.0f}), i.e. about {server_us * get / needed:.0f} us of LockCloud "
          f"CPU per request instead of {server_us:.0f}.")
if profile and os.path.exists(profile):
    print()
    print("Server profile during get_lock_10k (perf, cpu-clock samples, top symbols):")
    for line in open(profile):
        print("  " + " ".join(line.split())[:160])
fleet = fleet_report.read(os.environ.get("BENCH_FLEET_RESULTS", ""))
if fleet:
    print()
    fleet_report.describe(fleet)
print()
print(f"RATIO get_lock_vs_health={get / float(by['health'][1]):.3f}")
if fleet and "api_p99_ratio" in fleet.figures:
    print(f"RATIO fleet_api_p99={fleet.figures['api_p99_ratio']}")
if fleet and "paced_p99_ratio" in fleet.figures:
    # Context for fleet_api_p99: the same ratio with wrk paced below saturation (bench/fleet.py).
    print(f"RATIO fleet_api_p99_paced={fleet.figures['paced_p99_ratio']}")
print(f"RATIO get_lock_vs_pgbench={get / float(pgbench):.3f}")
# Issue 17: the lists Seam reads after a token refresh, against one lock read in the same run
# (target >= 0.25 each).
print(f"RATIO list_locks_vs_get_lock={float(by['list_locks_100'][1]) / get:.3f}")
print(f"RATIO list_access_codes_vs_get_lock={float(by['list_access_codes_199'][1]) / get:.3f}")
# Issue 20: the same read through PgBouncer in transaction mode (unnamed statements), same run.
# get_lock_unnamed: the same unnamed statements without the pooler, so the two costs separate.
if "get_lock_pgbouncer" in by:
    print(f"RATIO get_lock_pgbouncer_vs_direct={float(by['get_lock_pgbouncer'][1]) / get:.3f}")
if "get_lock_unnamed" in by:
    print(f"RATIO get_lock_unnamed_vs_direct={float(by['get_lock_unnamed'][1]) / get:.3f}")
# Issue 20: the same list with the read pool on a streaming replica, against the direct run.
if "list_locks_100_replica" in by:
    print(f"RATIO list_locks_replica_vs_direct="
          f"{float(by['list_locks_100_replica'][1]) / float(by['list_locks_100'][1]):.3f}")
print(f"PEAK_RSS_MB={int(rss_kb) / 1024:.1f}")
