"""`make bench`'s fleet case: BENCH_FLEET_LOCKS (10,000) simulated locks hold one connection
each to the device gateway, heartbeat every 60 s and wait for commands, while wrk reads
GET /locks/{id} and lock actions go to random locks of the fleet. In order:

  1. the fleet's owner and locks are created (SQL, see fleet_db.seed_fleet);
  2. quiet: the server's statements/s with no fleet (its own background work, over as long
     as the idle window of step 4), then wrk GET /locks/{id} BENCH_REPEATS times without the
     fleet, as fast as it is answered, and BENCH_REPEATS times paced at
     BENCH_FLEET_PACED_SHARE (half) of that throughput;
  3. the fleet connects (BENCH_FLEET_CONNECT_RATE locks/s) and every lock heartbeats once;
  4. idle: statements/s over BENCH_FLEET_IDLE_SECONDS with every lock waiting for commands;
  5. wrk GET /locks/{id} again, same settings, with the fleet connected, while
     BENCH_FLEET_ACTIONS actions (POST /locks/{id}/actions) go to random fleet locks, each
     timed from its send to the arrival of its command at that lock; then the paced runs
     again, at the same pace;
  6. the server's RSS and open file descriptors with the fleet connected.
Prints progress as `fleet: ...` lines, then `FLEET key=value ...` (the figures report.py
reads), `FLEET_IDLE_STATEMENT calls/s text` for the statements that dominate the idle phase,
and `FLEET_COUNTS ...` (every outcome of the fleet's own requests). Never hangs: each phase has
a bound, and the whole case stops at BENCH_FLEET_DEADLINE_SECONDS with what it has.

The process holds one socket per lock, so it raises its own RLIMIT_NOFILE soft limit to what
the fleet needs (up to the hard limit; `ulimit -Hn` must allow locks + ~1,000). The server
needs as many descriptors: it inherits the limit of the shell that starts it."""
import argparse
import asyncio
import gc
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pytests"))
from fleet_db import StatementCounter, difference, seed_fleet  # noqa: E402
from fleet_http import Connection, HTTPError  # noqa: E402
from fleet_lock import Fleet  # noqa: E402
from fleet_probes import CPUWindow, median_by_p99, server_status, wrk_get_lock, wrk_priority_restorable  # noqa: E402


def setting(name, default):
    return type(default)(os.environ.get(name, default))


def say(text):
    print(f"fleet: {text}", flush=True)


def percentile(values, share):
    """Nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def raise_descriptor_limit(locks):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = locks + 1024  # one socket per lock, and room for psql, wrk and Python itself
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < wanted:
        say(f"RLIMIT_NOFILE hard limit is {hard}: {locks} locks need about {wanted}; expect connect errors")
    return soft


class FleetCase:
    def __init__(self, args, token, locks):
        """`token`: the fleet owner's OAuth token (sends the actions); `locks`: [(lock_id, credential)]."""
        self.args = args
        self.token, self.locks = token, locks
        self.figures = {"locks": args.locks, "heartbeat_s": args.heartbeat_seconds}
        self.idle_top = []
        self.action_statuses = {}
        self.fleet = None
        self.delay_ms = None
        host, port = args.base_url.split("//", 1)[1].rsplit(":", 1)
        self.host, self.port = host, int(port)

    async def run(self):
        a = self.args
        counter = StatementCounter(a.database_url)
        counter.enable()
        self.figures["statements_source"] = counter.source
        try:
            # As long as the idle window: the server's periodic jobs (every 1 s, 5 s, ...) then
            # fall into both windows alike. Over 10 s against the idle phase's 30 s, one job's
            # run more or less moved the constant by 0.1/s, and run K's verdict with it (178.5
            # statements/s against 168.3 heartbeats + 10.1).
            quiet = await self.statements_per_second(counter, a.idle_seconds)
            self.figures["quiet_statements_per_s"] = round(quiet["per_s"], 1)
            say(f"no fleet: {quiet['per_s']:.1f} statements/s ({counter.source})")
            await self.api_phase("without")
            await self.paced_phase("without")
            self.fleet = Fleet(self.host, self.port, self.locks, a.heartbeat_seconds, a.poll_wait, a.connect_rate)
            await self.fleet.start()
            sampler = asyncio.create_task(self.sample_server())
            await self.wait_until_ready()
            # The fleet's 10,000 connections are long-lived objects: out of the collector's
            # reach, a full collection no longer walks them all (which held this one process,
            # and so a core, for tens of ms at a time: a lag every arrival time included).
            gc.collect()
            gc.freeze()
            await self.idle_phase(counter)
            # The timed phases run without the cyclic collector: even young-generation
            # collections of the fleet's churn held this one process 50-260 ms at a time (seen
            # with gc.callbacks), a stall of all 10,000 simulated locks at once that real locks,
            # each its own device, never have. Collected once before, with time for the lag
            # watcher's sample that collection delayed to land before api_phase clears them.
            gc.collect()
            gc.disable()
            try:
                await asyncio.sleep(0.5)
                actions = asyncio.create_task(self.send_actions(a.actions, a.repeats * a.seconds))
                await self.api_phase("with")
                await actions
                await self.paced_phase("with")
            finally:
                gc.enable()  # also when the deadline cancels a phase: stopping and reporting follow
            await self.wait_for_arrivals()
            sampler.cancel()
        finally:
            counter.disable()

    async def statements_per_second(self, counter, seconds):
        before = await counter.snapshot()
        started = time.monotonic()
        await asyncio.sleep(seconds)
        after = await counter.snapshot()
        elapsed = time.monotonic() - started
        top = difference(before, after)
        return {"per_s": sum(calls for calls, _ in top) / elapsed, "top": top, "elapsed": elapsed}

    async def api_phase(self, label):
        """wrk as fast as it is answered: both cores saturated, with and without the fleet."""
        a = self.args
        if label == "without":
            await wrk_get_lock(a.base_url, a.workdir, a.wrk_token, a.wrk_lock_ids, 3, a.connections)  # warm-up
        if self.fleet:
            self.fleet.loop_lag_ms.clear()
        run = await self.wrk_runs("api", label, None)
        if label == "without":
            rss, _, fds = server_status(a.server_pid)
            self.figures.update({"rss_mb_without": round(rss, 1), "fds_without": fds})
            # The paced runs offer a fixed share of what the machine served here, every
            # connection pausing between requests (whole milliseconds, as wrk takes them).
            self.delay_ms = max(1, round(1000 * a.connections / (a.paced_share * max(run["rps"], 1.0))))
        else:
            self.figures["fleet_loop_lag_p99_ms"] = round(percentile(self.fleet.loop_lag_ms, 0.99) or 0, 1)

    async def paced_phase(self, label):
        """The same wrk at a fixed load below saturation (BENCH_FLEET_PACED_SHARE of the
        unpaced throughput without the fleet), with and without the fleet: what the fleet does
        to the API's latency when the cores are not already full (context for the saturated
        ratio, whose tail also holds the fleet's share of the cores)."""
        self.figures["paced_delay_ms"] = self.delay_ms
        await self.wrk_runs("paced", label, self.delay_ms)

    async def wrk_runs(self, prefix, label, delay_ms):
        """BENCH_REPEATS wrk runs; records the run with the median p99 and the CPU shares as
        `<prefix>_*_<label>` figures (the unpaced ones keep their older names: api_*, cpu_*)."""
        a = self.args
        window = CPUWindow(a.server_pid, a.postmaster_pid)
        window.start()
        runs = []
        for _ in range(a.repeats):
            runs.append(await wrk_get_lock(a.base_url, a.workdir, a.wrk_token, a.wrk_lock_ids, a.seconds, a.connections,
                                           delay_ms))
        shares = window.stop()
        run = median_by_p99(runs)
        cpu = "cpu" if prefix == "api" else f"{prefix}_cpu"
        self.figures.update({
            f"{prefix}_rps_{label}": round(run["rps"], 1), f"{prefix}_p50_ms_{label}": run["p50_ms"],
            f"{prefix}_p99_ms_{label}": run["p99_ms"], f"{prefix}_non2xx_{label}": run["non2xx"],
            f"{prefix}_errors_{label}": run["errors"],
            f"{prefix}_p99_runs_{label}": "/".join(f"{r['p99_ms']:.2f}" for r in runs),
            f"{cpu}_server_{label}": round(shares["server"], 3), f"{cpu}_postgres_{label}": round(shares["postgres"], 3),
            f"{cpu}_fleet_{label}": round(shares["fleet"], 3), f"{cpu}_wrk_{label}": round(shares["wrk"], 3),
            f"{cpu}_idle_{label}": round(shares["idle"], 3)})
        pace = f", every connection pausing {delay_ms} ms" if delay_ms else ""
        say(f"GET /locks/{{id}} {label} the fleet{pace}: {run['rps']:,.0f} req/s, p50 {run['p50_ms']} ms, "
            f"p99 {run['p99_ms']} ms (runs: {self.figures[f'{prefix}_p99_runs_{label}']}), non-2xx {run['non2xx']}, "
            f"errors {run['errors']}; CPU: server {shares['server']:.0%}, postgres {shares['postgres']:.0%}, "
            f"fleet {shares['fleet']:.0%}, wrk {shares['wrk']:.0%}")
        return run

    async def wait_until_ready(self):
        """Every lock connected, heartbeated once (online) and waiting, or the bound passed."""
        fleet, count = self.fleet, self.args.locks
        bound = time.monotonic() + count / self.args.connect_rate + self.args.heartbeat_seconds + 60
        started = time.monotonic()
        while time.monotonic() < bound:
            await asyncio.sleep(1)
            if len(fleet.heartbeated) >= count and fleet.waiting >= count * 0.99:
                break
            if int(time.monotonic() - started) % 10 == 0:
                say(f"connecting: {fleet.open_connections} connections, {len(fleet.heartbeated)} heartbeated, "
                    f"{fleet.waiting} waiting")
        self.figures.update({"ready_s": round(time.monotonic() - started, 1), "online": len(fleet.heartbeated),
                             "connected": fleet.open_connections})
        say(f"fleet: {fleet.open_connections} connections, {len(fleet.heartbeated)} of {count} heartbeated, "
            f"{fleet.waiting} waiting, after {self.figures['ready_s']} s")

    async def idle_phase(self, counter):
        a, fleet = self.args, self.fleet
        heartbeats_before, polls_before = fleet.counts["heartbeat ok"], fleet.counts["poll ok"]
        window = CPUWindow(a.server_pid, a.postmaster_pid)
        window.start()
        idle = await self.statements_per_second(counter, a.idle_seconds)
        shares = window.stop()
        heartbeats = (fleet.counts["heartbeat ok"] - heartbeats_before) / idle["elapsed"]
        polls = (fleet.counts["poll ok"] - polls_before) / idle["elapsed"]
        rss, _, fds = server_status(a.server_pid)
        self.idle_top = [(calls / idle["elapsed"], query) for calls, query in idle["top"][:8]]
        self.figures.update({
            "idle_statements_per_s": round(idle["per_s"], 1), "idle_heartbeats_per_s": round(heartbeats, 1),
            "idle_polls_answered_per_s": round(polls, 1), "idle_waiting": fleet.waiting,
            "idle_cpu_server": round(shares["server"], 3), "idle_cpu_postgres": round(shares["postgres"], 3),
            "idle_cpu_fleet": round(shares["fleet"], 3), "rss_mb": round(rss, 1), "fds": fds})
        say(f"idle {idle['elapsed']:.0f} s: {idle['per_s']:,.1f} statements/s, {heartbeats:.1f} heartbeats/s, "
            f"{polls:.1f} polls answered/s; CPU: server {shares['server']:.0%}, postgres {shares['postgres']:.0%}, "
            f"fleet {shares['fleet']:.0%}; server RSS {rss:.0f} MB, {fds} fds")

    async def sample_server(self):
        """The server's largest RSS and descriptor count while the fleet is connected."""
        while True:
            rss, hwm, fds = server_status(self.args.server_pid)
            self.figures["rss_mb_max"] = max(self.figures.get("rss_mb_max", 0), round(rss, 1))
            self.figures["hwm_mb"] = round(hwm, 1)
            self.figures["fds_max"] = max(self.figures.get("fds_max", 0), fds)
            await asyncio.sleep(1)

    async def send_actions(self, count, over_seconds):
        """`count` lock/unlock actions to distinct online fleet locks, spread over `over_seconds`,
        each on a fresh connection (the send time excludes the connect)."""
        fleet = self.fleet
        targets = random.sample(sorted(fleet.heartbeated), min(count, len(fleet.heartbeated)))
        statuses, answer_ms = {}, []

        async def one(lock_id, at):
            await asyncio.sleep(at)
            connection = Connection(self.host, self.port)
            body = json.dumps({"action": random.choice(["lock", "unlock"])}).encode()
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            try:
                await connection.open(10)
                sent = {}

                def mark():
                    sent["at"] = fleet.sent[lock_id] = time.monotonic()

                status, _ = await connection.request("POST", f"/locks/{lock_id}/actions", headers, body, 30, mark)
                answer_ms.append((time.monotonic() - sent["at"]) * 1000)
            except HTTPError as error:
                status = f"error {error}"
            finally:
                connection.close()
            statuses[status] = statuses.get(status, 0) + 1
            if status != 202:
                fleet.sent.pop(lock_id, None)  # not accepted: no command to wait for

        spacing = over_seconds / max(1, len(targets))
        await asyncio.gather(*(one(lock_id, i * spacing) for i, lock_id in enumerate(targets)))
        self.figures.update({"actions_sent": len(targets), "actions_accepted": statuses.get(202, 0),
                             "action_post_p99_ms": round(percentile(answer_ms, 0.99) or 0, 1)})
        self.action_statuses = statuses

    async def wait_for_arrivals(self):
        """Commands still on their way get until the server's action timeout (30 s) and a margin."""
        fleet = self.fleet
        bound = time.monotonic() + self.args.action_wait
        while time.monotonic() < bound and any(lock not in fleet.arrived for lock in fleet.sent):
            await asyncio.sleep(0.5)
        latencies = [(fleet.arrived[lock] - sent) * 1000 for lock, sent in fleet.sent.items() if lock in fleet.arrived]
        lost = len(fleet.sent) - len(latencies)
        # A command that never arrived is slower than any that did: it counts in the percentiles.
        ranked = latencies + [float("inf")] * lost
        p50, p99 = percentile(ranked, 0.5), percentile(ranked, 0.99)
        self.figures.update({
            "actions_arrived": len(latencies), "actions_lost": lost,
            "action_p50_ms": "lost" if p50 == float("inf") else round(p50 or 0, 1),
            "action_p99_ms": "lost" if p99 == float("inf") else round(p99 or 0, 1),
            "action_max_ms": round(max(latencies), 1) if latencies else 0})
        say(f"actions: {self.figures['actions_sent']} sent {self.action_statuses}, {len(latencies)} arrived at "
            f"their lock, {lost} did not within {self.args.action_wait} s; action to lock p50 "
            f"{self.figures['action_p50_ms']} ms, p99 {self.figures['action_p99_ms']} ms")

    def report(self, status):
        self.figures["status"] = status
        if self.fleet:
            self.figures["fleet_errors"] = sum(n for what, n in self.fleet.counts.items() if what.startswith("error"))
            self.figures["fleet_non2xx"] = sum(
                n for what, n in self.fleet.counts.items() if what.split()[0] in ("heartbeat", "poll", "result")
                and not what.endswith(" ok"))
        for prefix in ("api", "paced"):
            without, with_fleet = self.figures.get(f"{prefix}_p99_ms_without"), self.figures.get(f"{prefix}_p99_ms_with")
            if without and with_fleet:
                self.figures[f"{prefix}_p99_ratio"] = round(with_fleet / without, 3)
        print("FLEET " + " ".join(f"{key}={value}" for key, value in self.figures.items()), flush=True)
        for per_s, query in self.idle_top:
            print(f"FLEET_IDLE_STATEMENT {per_s:.1f} {query}", flush=True)
        if self.fleet:
            counts = ", ".join(f"{what}: {n}" for what, n in sorted(self.fleet.counts.items()))
            print(f"FLEET_COUNTS {counts}", flush=True)


async def main(args):
    # BENCH_FLEET_NICE: the generator at a lower priority than the server, PostgreSQL and wrk (a
    # diagnostic of how much of the API's tail is the generator's share of the cores).
    nice = int(os.environ.get("BENCH_FLEET_NICE", "0"))
    if nice > 0:
        os.nice(nice)
        say(f"generator at nice {nice}; wrk " + ("back at its starting priority" if wrk_priority_restorable()
                                                 else "left at the same niceness (raising it again needs root)"))
    say(f"creating {args.locks} locks")
    case = FleetCase(args, *seed_fleet(args.base_url, args.bin, args.database_url, args.locks))
    status = "complete"
    try:
        await asyncio.wait_for(case.run(), args.deadline)
    except asyncio.TimeoutError:
        status = "deadline"
        say(f"stopped at the {args.deadline} s deadline; the figures are what was measured until then")
    finally:
        if case.fleet:
            await case.fleet.stop()
    case.report(status)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--postmaster-pid", type=int, required=True)
    parser.add_argument("--wrk-token", required=True, help="owner token for wrk's GET /locks/{id}")
    parser.add_argument("--wrk-lock-ids", required=True, help="file of that owner's lock ids")
    parser.add_argument("--locks", type=int, default=setting("BENCH_FLEET_LOCKS", 10_000))
    parser.add_argument("--heartbeat-seconds", type=float, default=setting("BENCH_FLEET_HEARTBEAT_SECONDS", 60.0))
    parser.add_argument("--poll-wait", type=int, default=25)
    parser.add_argument("--connect-rate", type=float, default=setting("BENCH_FLEET_CONNECT_RATE", 1000.0))
    parser.add_argument("--idle-seconds", type=float, default=setting("BENCH_FLEET_IDLE_SECONDS", 30.0))
    parser.add_argument("--actions", type=int, default=setting("BENCH_FLEET_ACTIONS", 200))
    parser.add_argument("--action-wait", type=float, default=35.0)
    parser.add_argument("--seconds", type=int, default=setting("BENCH_SECONDS", 10), help="per wrk run")
    parser.add_argument("--repeats", type=int, default=setting("BENCH_REPEATS", 3), help="wrk runs with and without")
    parser.add_argument("--connections", type=int, default=setting("BENCH_FLEET_WRK_CONNECTIONS", 16))
    parser.add_argument("--paced-share", type=float, default=setting("BENCH_FLEET_PACED_SHARE", 0.5),
                        help="the paced runs' load, as a share of the unpaced req/s without the fleet")
    parser.add_argument("--deadline", type=float, default=setting("BENCH_FLEET_DEADLINE_SECONDS", 900.0))
    return parser.parse_args()


if __name__ == "__main__":
    options = arguments()
    raise_descriptor_limit(options.locks)
    asyncio.run(main(options))
