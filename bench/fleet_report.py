"""The fleet case's part of the `make bench` report: bench/fleet.py's figures against the
issue's targets. Standard library only (report.py runs outside the virtualenv)."""
import os

# The targets on this 2-core machine.
ACTION_P99_MS = 100
API_P99_RATIO = 1.2
RSS_MB = 300


class FleetResults:
    def __init__(self, line, figures, idle_statements, counts):
        self.line = line  # the FLEET line as printed, every figure (for comparing runs)
        self.figures = figures
        self.idle_statements = idle_statements
        self.counts = counts


def read(path):
    """The last FLEET line's figures (numbers where they parse), or None without a fleet run."""
    if not path or not os.path.exists(path):
        return None
    fleet_line, figures, statements, counts = "", None, [], ""
    for line in open(path):
        kind, _, rest = line.rstrip("\n").partition(" ")
        if kind == "FLEET":
            fleet_line = rest
            figures = {key: number(value) for key, value in (part.split("=", 1) for part in rest.split())}
        elif kind == "FLEET_IDLE_STATEMENT":
            statements.append(rest)
        elif kind == "FLEET_COUNTS":
            counts = rest
    return FleetResults("FLEET " + fleet_line, figures, statements, counts) if figures else None


def number(text):
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def verdict(met):
    return "met" if met else "NOT met"


def describe(fleet):
    f = fleet.figures
    get = f.get
    print(f"Fleet: {get('locks'):,} simulated locks (bench/fleet.py, one connection each, heartbeat every "
          f"{get('heartbeat_s')} s, long poll wait=25), wrk -t2 -c16 GET /locks/{{id}}; status {get('status')}")
    print(f"  {get('connected', 0):,} connected, {get('online', 0):,} online (heartbeated) after {get('ready_s', '-')} s; "
          f"fleet requests that failed: {get('fleet_errors', 0):,} errors, {get('fleet_non2xx', 0):,} non-2xx")
    if "idle_statements_per_s" in f:
        statements, heartbeats, quiet = f["idle_statements_per_s"], f["idle_heartbeats_per_s"], f["quiet_statements_per_s"]
        # The "small constant" is measured: the server's own background statements with no fleet.
        limit = heartbeats + quiet
        per_heartbeat = (statements - quiet) / heartbeats if heartbeats else float("inf")
        print(f"  idle: {statements:,.1f} statements/s ({get('statements_source')}) with {heartbeats:.1f} heartbeats/s "
              f"and {get('idle_polls_answered_per_s')} long polls answered/s; {quiet:.1f}/s without the fleet. "
              f"Target <= heartbeats/s + that constant = {limit:,.1f}: {verdict(statements <= limit)} "
              f"(the fleet costs {per_heartbeat:,.1f} statements per heartbeat it sends)")
        print(f"  idle CPU: server {get('idle_cpu_server', 0):.1%}, postgres {get('idle_cpu_postgres', 0):.1%}, "
              f"fleet generator {get('idle_cpu_fleet', 0):.1%}")
        if fleet.idle_statements:
            print("  statements while idle (per second, normalised text):")
            for line in fleet.idle_statements:
                print(f"    {line}")
    if "action_p99_ms" in f:
        p99 = f["action_p99_ms"]
        met = isinstance(p99, (int, float)) and p99 <= ACTION_P99_MS
        print(f"  action to lock (POST /locks/{{id}}/actions sent -> command received by that lock): "
              f"p50 {get('action_p50_ms')} ms, p99 {p99} ms, max {get('action_max_ms')} ms over "
              f"{get('actions_accepted')} accepted of {get('actions_sent')} sent ({get('actions_lost')} never arrived); "
              f"target p99 <= {ACTION_P99_MS} ms: {verdict(met)}. The generator's event loop ran up to "
              f"{get('fleet_loop_lag_p99_ms')} ms late (p99), which the arrival times include")
    if "api_p99_ms_with" in f:
        ratio = get("api_p99_ratio")
        print(f"  GET /locks/{{id}} p99 without the fleet {get('api_p99_ms_without')} ms "
              f"(runs {get('api_p99_runs_without')}; {get('api_rps_without'):,.0f} req/s), with it "
              f"{get('api_p99_ms_with')} ms (runs {get('api_p99_runs_with')}; {get('api_rps_with'):,.0f} req/s, "
              f"{get('api_non2xx_with')} non-2xx): x{ratio}; target <= {API_P99_RATIO}: "
              f"{verdict(ratio is not None and ratio <= API_P99_RATIO and not get('api_non2xx_with'))}")
    if "paced_p99_ms_with" in f:
        # Context, not the target: the same reads offered at a fixed pace below saturation.
        print(f"  paced (every connection pausing {get('paced_delay_ms')} ms between requests): GET /locks/{{id}} p99 "
              f"without the fleet {get('paced_p99_ms_without')} ms (runs {get('paced_p99_runs_without')}; "
              f"{get('paced_rps_without'):,.0f} req/s), with it {get('paced_p99_ms_with')} ms (runs "
              f"{get('paced_p99_runs_with')}; {get('paced_rps_with'):,.0f} req/s, {get('paced_non2xx_with')} non-2xx): "
              f"x{get('paced_p99_ratio')}; CPU with the fleet: server {get('paced_cpu_server_with', 0):.1%}, "
              f"postgres {get('paced_cpu_postgres_with', 0):.1%}, fleet generator {get('paced_cpu_fleet_with', 0):.1%}, "
              f"machine idle {get('paced_cpu_idle_with', 0):.1%} (without the fleet {get('paced_cpu_idle_without', 0):.1%})")
    if "rss_mb" in f:
        rss = max(f["rss_mb"], get("rss_mb_max", 0))
        print(f"  server with the fleet: RSS {f['rss_mb']} MB idle, {get('rss_mb_max')} MB at most "
              f"(VmHWM {get('hwm_mb')} MB over the whole bench; {get('rss_mb_without')} MB before the fleet), "
              f"{get('fds_max', f.get('fds'))} open descriptors ({get('fds_without')} without); "
              f"target RSS <= {RSS_MB} MB: {verdict(rss <= RSS_MB)}")
    if "cpu_server_with" in f:
        # Before 3 December the generator's share also held its wrk runs' (reaped children).
        print(f"  CPU while wrk ran with the fleet: server {f['cpu_server_with']:.1%}, postgres "
              f"{get('cpu_postgres_with', 0):.1%}, fleet generator {get('cpu_fleet_with', 0):.1%}, wrk "
              f"{get('cpu_wrk_with', 0):.1%} of the machine (without: {get('cpu_server_without', 0):.1%}, "
              f"{get('cpu_postgres_without', 0):.1%}, {get('cpu_fleet_without', 0):.1%}, "
              f"{get('cpu_wrk_without', 0):.1%}); the rest is the kernel and whatever else the machine ran")
    if fleet.counts:
        print(f"  fleet requests: {fleet.counts}")
    print("  " + fleet.line)
