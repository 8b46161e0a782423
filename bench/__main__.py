"""Run every benchmark on one local Kafka broker; write results/<date>.json and .png.

    python -m bench [--quick] [--out bench/results] [--profile DIR] [--bootstrap-servers HOST:PORT]
                    [--baseline REF]
    python -m bench --engine-stops-only     # only the real engine's stop times (about 4 minutes)
    python -m bench --fleet-only [--quick]  # the console and `syncctl jobs` at 100k and 1M jobs

--quick runs small sizes (a smoke run of 1.5-3 minutes on 2 cores) and writes
<date>-quick.json/png so that it never overwrites a full run of the same day. See
docs/performance.md for what each figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import confluent_kafka

from bench import chart, engine, fleet, latency, restore, retention, throughput
from bench.baseline import Baseline, checked_out
from bench.common import REPO
from syncctl.local import LocalKafka

RATES = (100, 1_000, 5_000)
TARGET_RATIO = 0.60
TARGETS_P99_MS = {100: 50, 5_000: 250}
# The worker's p99 at most this many times the bare pipe's, measured in the same run.
TARGETS_P99_VS_PIPE = {100: 1.3, 1_000: 2.0}
# Two workers in one group must keep up with this rate, within TARGETS_P99_MS at that rate.
TWO_WORKER_RATE = 5_000
TARGET_RESTORE_RECORDS, TARGET_RESTORE_SECONDS, TARGET_RSS_MIB = 1_000_000, 10.0, 1536
TWO_CORES_NOTE = (
    "the machine has {cores} cores, shared by the broker, every worker and the load generator: "
    "more workers than cores cannot add CPU, they only add partitions-in-flight and transactions"
)


@dataclass(frozen=True)
class Sizes:
    jobs: int  # throughput: 3 commands per job
    latency_seconds: float
    restore_records: tuple[int, ...]
    rounds: int = 1  # bare pipe / worker pairs, alternating; the medians are reported
    workers: tuple[int, ...] = (1, 2, 4)
    pipe_latency: bool = True  # also measure the bare pipe's latency (the floor) at every rate
    engine_rounds: int = 3  # terminate and complete-cdc on the real Connect engine, each
    # One worker's limit: open-loop rates tried in turn (each `limit_seconds`) until one falls
    # behind; the highest it kept up with is its limit.
    limit_rates: tuple[int, ...] = (2_000, 3_000, 4_000, 5_000, 6_000, 8_000)
    limit_seconds: float = 6
    # Retention: a state topic of this many records, 90 % of them jobs that ended 60 days ago.
    retention_records: tuple[int, ...] = (1_000_000,)
    # Fleet: the console and `syncctl jobs` with this many jobs in the state topic.
    fleet_jobs: tuple[int, ...] = (100_000, 1_000_000)


FULL = Sizes(jobs=20_000, latency_seconds=10, restore_records=(100_000, 1_000_000), rounds=3)
QUICK = Sizes(
    jobs=1_000,
    latency_seconds=3,
    restore_records=(10_000, 50_000),
    pipe_latency=False,
    engine_rounds=1,
    limit_rates=(2_000, 4_000),
    limit_seconds=3,
    retention_records=(20_000,),
    fleet_jobs=(10_000,),
)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def timed(
    name: str, measure: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """Run one measurement; add the machine's load when it began and how long it took."""
    load = os.getloadavg()[0]
    began = time.monotonic()
    result = measure(*args, **kwargs)
    # Kafka clients left in reference cycles (admin clients and their futures) keep their threads
    # and connections until collected: free them now, not during the next measurement or after
    # the broker has stopped.
    gc.collect()
    result["load_average_1m_at_start"] = round(load, 2)
    result["bench_seconds"] = round(time.monotonic() - began, 1)
    log(f"  {name}: {json.dumps(result)}")
    return result


@contextlib.contextmanager
def broker(address: str | None) -> Iterator[tuple[str, str]]:
    if address:
        yield address, "external broker"
        return
    with LocalKafka(lib_dir=REPO / ".local" / "kafka" / "lib") as kafka:
        yield kafka.bootstrap_servers, kafka.version


def run_all(
    bootstrap: str, sizes: Sizes, profile: Path | None, baseline: Baseline | None = None
) -> dict[str, Any]:
    kinds = ("pipe", "worker", "baseline") if baseline else ("pipe", "worker")
    log(
        f"throughput: {', '.join(kinds)}, {sizes.rounds} round(s), alternating"
        + (f" (baseline: {baseline.ref} = {baseline.commit[:12]})" if baseline else "")
    )
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for n in range(1, sizes.rounds + 1):
        # Rotate which goes first, so that a drift in the machine's load hits each alike.
        shift = (n - 1) % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            runs[kind].append(
                timed(
                    f"{kind}, round {n}",
                    throughput.measure,
                    bootstrap,
                    "pipe" if kind == "pipe" else "worker",
                    sizes.jobs,
                    profile_dir=profile if kind == "worker" else None,
                    source=baseline.source if kind == "baseline" and baseline else None,
                )
            )
    bares, workers = runs["pipe"], runs["worker"]
    log("breakdown: CPU per command in-process, by stage (bench/breakdown.py)")
    breakdown = {"worker": timed("worker", _breakdown, sizes.jobs, None)}
    if baseline:
        breakdown["baseline"] = timed("baseline", _breakdown, sizes.jobs, baseline.source)
    bare, worker = _median_run(bares), _median_run(workers)
    ratio = _ratio(worker["commands_per_second"], bare["commands_per_second"])
    log(
        f"scaling: {', '.join(map(str, sizes.workers[1:]))} workers in one group "
        "(1 worker: the median run above)"
    )
    scaling = [worker] + [
        timed(f"worker x{n}", throughput.measure, bootstrap, "worker", sizes.jobs, workers=n)
        for n in sizes.workers[1:]
    ]
    then = ", then the bare pipe" if sizes.pipe_latency else ""
    also = ", then the baseline's" if baseline else ""
    log(f"latency: open loop at {', '.join(map(str, RATES))} commands/s, one worker{also}{then}")
    latencies: list[dict[str, Any]] = []
    baseline_latencies: list[dict[str, Any]] = []
    pipe_latencies: list[dict[str, Any]] = []
    pipe2_latencies: list[dict[str, Any]] = []
    for rate in RATES:
        seconds = sizes.latency_seconds
        latencies.append(
            timed(
                f"worker {rate}/s", latency.measure, bootstrap, rate, seconds, profile_dir=profile
            )
        )
        if baseline:
            baseline_latencies.append(
                timed(
                    f"baseline {rate}/s",
                    latency.measure,
                    bootstrap,
                    rate,
                    seconds,
                    source=baseline.source,
                )
            )
        if sizes.pipe_latency:
            pipe_latencies.append(
                timed(f"bare pipe {rate}/s", latency.measure, bootstrap, rate, seconds, "pipe")
            )
            pipe2_latencies.append(
                timed(
                    f"bare pipe, 2 outputs {rate}/s",
                    latency.measure,
                    bootstrap,
                    rate,
                    seconds,
                    "pipe2",
                )
            )
    log(f"two workers in one group at {TWO_WORKER_RATE:,}/s; one worker's limit")
    two_workers = timed(
        f"2 workers {TWO_WORKER_RATE}/s",
        latency.measure,
        bootstrap,
        TWO_WORKER_RATE,
        sizes.latency_seconds,
        workers=2,
    )
    limit = _one_worker_limit(bootstrap, sizes)
    log(f"restore: {', '.join(f'{n:,}' for n in sizes.restore_records)} job records")
    restores = [
        timed(f"{n:,} records", restore.measure, bootstrap, n) for n in sizes.restore_records
    ]
    log(f"retention: {', '.join(f'{n:,}' for n in sizes.retention_records)} records, 90 % ended")
    expiries = [
        timed(f"{n:,} records", retention.measure, bootstrap, n) for n in sizes.retention_records
    ]
    sizes_text = ", ".join(f"{n:,}" for n in sizes.fleet_jobs)
    log(f"fleet: the console and syncctl jobs at {sizes_text} jobs")
    fleets = [timed(f"{n:,} jobs", fleet.measure, bootstrap, n) for n in sizes.fleet_jobs]
    log("engine: stops on Kafka Connect with a backlog of 10,000 changes")
    stops = timed("engine stops", engine.measure, bootstrap, rounds=sizes.engine_rounds)
    cores = os.cpu_count() or 0
    return {
        "throughput": {
            "bare_pipe": bare,
            "worker": worker,
            "ratio_worker_to_bare": ratio,
            # Median over the rounds of each: CPU time per command is steadier than commands/s.
            "cpu_us_per_command": {
                "worker": _median([w["cpu_us_per_command"] for w in workers]),
                "bare_pipe": _median([b["cpu_us_per_command"] for b in bares]),
                "baseline": _median([b["cpu_us_per_command"] for b in runs.get("baseline", [])]),
            },
            "baseline": {
                "ref": baseline.ref,
                "commit": baseline.commit,
                "runs": runs["baseline"],
                "cpu_ratio_worker_to_baseline": _ratio(
                    _median([w["cpu_us_per_command"] for w in workers]),
                    _median([b["cpu_us_per_command"] for b in runs["baseline"]]),
                ),
                "ratio_worker_to_baseline": _ratio(
                    worker["commands_per_second"],
                    _median_run(runs["baseline"])["commands_per_second"],
                ),
            }
            if baseline
            else None,
            "breakdown_us_per_command": breakdown,
            "ratio_per_round": [
                _ratio(w["commands_per_second"], b["commands_per_second"])
                for b, w in zip(bares, workers, strict=True)
            ],
            "bare_pipe_runs": bares,
            "worker_runs": workers,
            "note": "bare_pipe and worker are the median runs (by commands/s) of the rounds; "
            "the ratio is of those",
            "target_ratio": TARGET_RATIO,
            "met": ratio is not None and ratio >= TARGET_RATIO,
        },
        "scaling": {
            "runs": scaling,
            "speedup_vs_1_worker": {
                str(run["workers"]): _ratio(
                    run["commands_per_second"], worker["commands_per_second"]
                )
                for run in scaling
            },
            "ratio_to_bare_pipe": {
                str(run["workers"]): _ratio(run["commands_per_second"], bare["commands_per_second"])
                for run in scaling
            },
            "note": TWO_CORES_NOTE.format(cores=cores),
        },
        "latency": {
            "runs": latencies,
            "bare_pipe_runs": pipe_latencies,
            "bare_pipe_two_outputs_runs": pipe2_latencies,
            "baseline_runs": baseline_latencies,
            "ratio_worker_to_bare_p99": {
                str(w["rate"]): _ratio(w["p99_ms"], b["p99_ms"])
                for w, b in zip(latencies, pipe_latencies, strict=False)
            },
            "targets_p99_vs_bare": {str(r): x for r, x in TARGETS_P99_VS_PIPE.items()},
            "met_vs_bare": {
                str(w["rate"]): (_ratio(w["p99_ms"], b["p99_ms"]) or 0)
                <= TARGETS_P99_VS_PIPE[w["rate"]]
                for w, b in zip(latencies, pipe_latencies, strict=False)
                if w["rate"] in TARGETS_P99_VS_PIPE
            },
            "two_workers": two_workers,
            "two_workers_met": two_workers["keeps_up"]
            and two_workers["p99_ms"] <= TARGETS_P99_MS[TWO_WORKER_RATE],
            "one_worker_limit": limit,
            "targets_p99_ms": {str(rate): ms for rate, ms in TARGETS_P99_MS.items()},
            "met": {
                str(run["rate"]): run["p99_ms"] <= TARGETS_P99_MS[run["rate"]]
                and run["missing"] == 0
                for run in latencies
                if run["rate"] in TARGETS_P99_MS
            },
        },
        "restore": {
            "runs": restores,
            "target_records": TARGET_RESTORE_RECORDS,
            "target_seconds": TARGET_RESTORE_SECONDS,
            "target_rss_mib": TARGET_RSS_MIB,
            "met": _restore_met(restores),
        },
        "retention": expiries,
        "fleet": fleets,
        "engine_stops": stops,
    }


def _breakdown(jobs: int, source: Path | None) -> dict[str, Any]:
    env = {**os.environ, **({"PYTHONPATH": str(source)} if source else {})}
    argv = [sys.executable, "-m", "bench.breakdown", "--jobs", str(min(jobs, 10_000))]
    output = subprocess.run(argv, env=env, cwd=REPO, check=True, capture_output=True, text=True)
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def _one_worker_limit(bootstrap: str, sizes: Sizes) -> dict[str, Any]:
    """The highest of `sizes.limit_rates` one worker serves (open loop) without falling behind
    and within the p99 target at 5,000/s, trying them in turn until one fails."""
    tried: list[dict[str, Any]] = []
    limit_ms = TARGETS_P99_MS[TWO_WORKER_RATE]
    for rate in sizes.limit_rates:
        run = timed(f"1 worker {rate}/s", latency.measure, bootstrap, rate, sizes.limit_seconds)
        run["sustained"] = run["keeps_up"] and run["p99_ms"] <= limit_ms
        tried.append(run)
        if not run["sustained"]:
            break
    kept = [run["rate"] for run in tried if run["sustained"]]
    return {"sustained_rate": max(kept) if kept else None, "p99_limit_ms": limit_ms, "runs": tried}


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda run: run["commands_per_second"] or 0)
    return ordered[(len(ordered) - 1) // 2]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 3) if value and base else None


def _restore_met(runs: list[dict[str, Any]]) -> dict[str, bool] | None:
    run = next((r for r in runs if r["records"] == TARGET_RESTORE_RECORDS), None)
    if run is None:
        return None  # --quick does not restore the target size
    return {
        "seconds_from_process_start": run["seconds_from_process_start"] <= TARGET_RESTORE_SECONDS,
        "seconds_from_assigned": (run["seconds_from_assigned"] or 0) <= TARGET_RESTORE_SECONDS,
        "peak_rss": run["peak_rss_mib"] <= TARGET_RSS_MIB,
    }


def summary(results: dict[str, Any]) -> str:
    machine, tp, sc, lat, rs = (
        results[k] for k in ("machine", "throughput", "scaling", "latency", "restore")
    )

    def mark(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "MISSED")

    bare = tp["bare_pipe"]
    lines = [
        (
            f"syncctl benchmarks {results['date']} ({results['mode']}), "
            f"Kafka {results['kafka_version']}, "
            f"{machine['cores']} cores shared by broker, workers and load generator, "
            f"load average {machine['load_average_start']:.1f} at start; "
            f"{results['duration_seconds']:.0f} s"
        ),
        "",
        (
            f"Throughput, {tp['worker']['commands']:,} preloaded commands, 12 partitions   "
            "commands/s  vs bare  vs 1 worker"
        ),
        (
            "  bare transactional pipe                                    "
            f"{bare['commands_per_second'] or 0:>10,.0f}     1.00"
        ),
    ]
    for run in sc["runs"]:
        n = str(run["workers"])
        lines.append(
            f"  syncctl, {n} worker{'s' if run['workers'] > 1 else ' '}"
            "                                        "
            f"{run['commands_per_second'] or 0:>10,.0f}  {sc['ratio_to_bare_pipe'][n] or 0:>7.2f}  "
            f"{sc['speedup_vs_1_worker'][n] or 0:>10.2f}"
            + ("" if run["complete"] else "  INCOMPLETE")
        )
    lines += [
        (
            f"  worker/bare = {tp['ratio_worker_to_bare']} "
            f"(median runs of {len(tp['worker_runs'])} alternating "
            f"round(s); per round {', '.join(str(r) for r in tp['ratio_per_round'])}), "
            f"target >= {tp['target_ratio']:.2f}: {mark(tp['met'])}"
        ),
        f"  note: {sc['note']}",
        (
            f"  CPU per command (user + system, median of the rounds): worker "
            f"{tp['cpu_us_per_command']['worker']} us, bare pipe "
            f"{tp['cpu_us_per_command']['bare_pipe']} us"
            + (
                f", baseline {tp['baseline']['ref']} ({tp['baseline']['commit'][:9]}) "
                f"{tp['cpu_us_per_command']['baseline']} us: worker/baseline = "
                f"{tp['baseline']['cpu_ratio_worker_to_baseline']} "
                f"(commands/s {tp['baseline']['ratio_worker_to_baseline']})"
                if tp.get("baseline")
                else ""
            )
        ),
        *_breakdown_lines(tp["breakdown_us_per_command"]),
        "",
        (
            "Latency, open loop, one worker vs the bare pipe "
            "(ms from scheduled send to visible outcome)"
        ),
        "  offered        sent/s     p50     p95     p99     max  missing  p99 target",
    ]
    bare_runs = {run["rate"]: run for run in lat["bare_pipe_runs"]}  # none with --quick
    for run in lat["runs"]:
        target = lat["targets_p99_ms"].get(str(run["rate"]))
        verdict = f"<= {target}: {mark(lat['met'][str(run['rate'])])}" if target else "-"
        pair = (
            [("worker", run)]
            + [("before", b) for b in lat.get("baseline_runs", []) if b["rate"] == run["rate"]]
            + ([("bare  ", bare_runs[run["rate"]])] if run["rate"] in bare_runs else [])
            + [
                ("bare2 ", b)
                for b in lat.get("bare_pipe_two_outputs_runs", [])
                if b["rate"] == run["rate"]
            ]
        )
        for name, r in pair:
            lines.append(
                f"  {r['rate']:>5,}/s {name} {r['achieved_send_rate'] or 0:>6,.0f}  "
                f"{r['p50_ms']:>6,.0f}  {r['p95_ms']:>6,.0f}  {r['p99_ms']:>6,.0f}  "
                f"{r['max_ms'] or 0:>6,.0f}  {r['missing']:>7}  "
                + (
                    verdict
                    if name == "worker"
                    else "(baseline)"
                    if name == "before"
                    else "(bare pipe writing an event and a state record per input)"
                    if name == "bare2 "
                    else f"(worker p99 = {lat['ratio_worker_to_bare_p99'][str(r['rate'])]}x bare"
                    + (
                        f", target <= {lat['targets_p99_vs_bare'][str(r['rate'])]}x: "
                        f"{mark(lat['met_vs_bare'][str(r['rate'])])})"
                        if str(r["rate"]) in lat.get("targets_p99_vs_bare", {})
                        else ")"
                    )
                )
            )
    two, limit = lat.get("two_workers"), lat.get("one_worker_limit")
    if two:
        lines.append(
            f"  2 workers at {two['rate']:,}/s: p99 {two['p99_ms']:,.0f} ms, "
            f"last tenth p50 {two['p50_last_tenth_ms']:,.0f} ms vs first "
            f"{two['p50_first_tenth_ms']:,.0f} ms, keeps up: {two['keeps_up']}; "
            f"target keeps up and p99 <= {TARGETS_P99_MS[two['rate']]} ms: "
            f"{mark(lat['two_workers_met'])}"
        )
    if limit:
        tried = ", ".join(
            f"{r['rate']:,}/s {'ok' if r['sustained'] else 'no'} (p99 {r['p99_ms']:,.0f} ms"
            + ("" if r["keeps_up"] else ", falling behind")
            + ")"
            for r in limit["runs"]
        )
        lines.append(
            f"  one worker sustains {limit['sustained_rate'] or 0:,}/s "
            f"(keeps up, p99 <= {limit['p99_limit_ms']} ms); tried {tried}"
        )
    lines += [
        "",
        "Restore (seconds until all 12 partitions are ready)",
        "  records     from start  from assigned  peak RSS MiB",
    ]
    for run in rs["runs"]:
        lines.append(
            f"  {run['records']:>9,}  {run['seconds_from_process_start']:>10.2f}  "
            f"{run['seconds_from_assigned'] or 0:>13.2f}  "
            f"{run['peak_rss_mib']:>12,.0f}"
        )
    met = rs["met"]
    lines.append(
        f"  target at {rs['target_records']:,}: <= {rs['target_seconds']:g} s "
        f"and <= {rs['target_rss_mib']} MiB: "
        + (
            "n/a (not measured in --quick)"
            if met is None
            else f"time from start {mark(met['seconds_from_process_start'])}, from assigned "
            f"{mark(met['seconds_from_assigned'])}, memory {mark(met['peak_rss'])}"
        )
    )
    if results.get("fleet"):
        lines += ["", *fleet_summary(results["fleet"])]
    if "engine_stops" in results:
        lines += ["", *engine_summary(results["engine_stops"])]
    return "\n".join(lines)


def fleet_summary(runs: list[dict[str, Any]]) -> list[str]:
    """Console pages, RSS and live stream, and `syncctl jobs`, per fleet size."""
    lines = ["A fleet in the store (console and syncctl jobs, each its own process)"]
    for run in runs:
        console, cli = run["console"], run["cli"]
        first = console["pages"]["first page"]
        filtered = max(page["median_ms"] for name, page in console["pages"].items() if "=" in name)
        lines.append(
            f"  {run['jobs']:>9,} jobs: console ready in {console['seconds_to_ready']:.1f} s, "
            f"RSS {console['rss_mib_at_ready']:,.0f} MiB (peak {console['peak_rss_mib']:,.0f}); "
            f"first page {first['bytes'] / 1024:,.0f} KB in {first['median_ms']:.0f} ms, "
            f"slowest filter {filtered:.0f} ms; live stream "
            f"{console['live']['stream_bytes_per_second'] / 1024:,.1f} KB/s while "
            f"{console['live']['changes_per_second']:,} jobs/s change"
        )
        for name, figures in cli.items():
            lines.append(
                f"    {name:<44} {figures['wall_s']:>6.2f} s wall  {figures['cpu_s']:>5.2f} s CPU  "
                f"{figures['max_rss_mib']:>6,.0f} MiB"
            )
    return lines


def _breakdown_lines(breakdown: dict[str, dict[str, float]]) -> list[str]:
    stages = [
        k for k in breakdown["worker"] if k not in ("load_average_1m_at_start", "bench_seconds")
    ]
    lines = ["  in-process CPU per command by stage, us: " + ", ".join(stages)]
    for name, figures in breakdown.items():
        lines.append(f"    {name:<9}" + " ".join(f"{figures[s]:>6.2f}" for s in stages))
    return lines


def engine_summary(stops: dict[str, Any]) -> list[str]:
    def mark(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = [
        (
            f"Stops on the Kafka Connect engine, backlog {stops['backlog']:,} changes, "
            f"{stops['destination']}"
        ),
        "  stop          median s   max s  target s  runs (s)",
    ]
    for name, key in (("terminate", "terminate"), ("complete-cdc", "complete_cdc")):
        figures = stops[key]
        runs = ", ".join(f"{run['seconds']:.1f}" for run in figures["runs"])
        lines.append(
            f"  {name:<12}  {figures['median_seconds']:>8.1f}  {figures['max_seconds']:>6.1f}  "
            f"{figures['target_seconds']:>8.0f}  {runs}  {mark(figures['met'])}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results", help="where results go"
    )
    parser.add_argument(
        "--profile", type=Path, help="also sample the worker(s) with py-spy into this directory"
    )
    parser.add_argument(
        "--bootstrap-servers", help="use this broker instead of starting a local one"
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure the worker of this commit (e.g. main~3), side by side in the same run",
    )
    parser.add_argument(
        "--engine-stops-only", action="store_true", help="only the real engine's stop times"
    )
    parser.add_argument(
        "--fleet-only", action="store_true", help="only the fleet step (console, syncctl jobs)"
    )
    args = parser.parse_args()
    if args.engine_stops_only:
        _engine_stops_only(args.bootstrap_servers, args.out)
        return
    if args.fleet_only:
        _fleet_only(args.bootstrap_servers, args.out, QUICK if args.quick else FULL)
        return
    sizes = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    began, started_at = time.monotonic(), datetime.now(UTC)
    load_start = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        baseline = stack.enter_context(checked_out(args.baseline)) if args.baseline else None
        bootstrap, version = stack.enter_context(broker(args.bootstrap_servers))
        log(f"benchmarks ({mode}) on Kafka {version} at {bootstrap}")
        measured = run_all(bootstrap, sizes, args.profile, baseline)
    date = started_at.astimezone().date().isoformat()
    results = {
        "date": date,
        "mode": mode,
        "started_at": started_at.isoformat(),
        "duration_seconds": round(time.monotonic() - began, 1),
        "kafka_version": version,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "confluent_kafka": metadata.version("confluent-kafka"),
            "librdkafka": confluent_kafka.libversion()[0],
            "load_average_start": round(load_start, 2),
            "load_average_end": round(os.getloadavg()[0], 2),
        },
        "parameters": {
            **asdict(sizes),
            "commands": sizes.jobs * 3,
            "rates": list(RATES),
            "partitions": 12,
            "batch_max": 500,
            "commit_interval_ms": 100,
            "worker_log_level": "WARNING (INFO for restore)",
        },
        **measured,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = date if mode == "full" else f"{date}-quick"
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    chart.draw(results, args.out / f"{stem}.png")
    print(summary(results))
    print(f"\nwrote {args.out / f'{stem}.json'} and {args.out / f'{stem}.png'}")


def _engine_stops_only(bootstrap_servers: str | None, out: Path) -> None:
    started_at = datetime.now(UTC)
    with broker(bootstrap_servers) as (bootstrap, version):
        log(f"engine stops on Kafka {version} at {bootstrap}")
        stops = timed("engine stops", engine.measure, bootstrap)
    results = {
        "date": started_at.date().isoformat(),
        "started_at": started_at.isoformat(),
        "kafka_version": version,
        "machine": {"cores": os.cpu_count(), "load_average_end": round(os.getloadavg()[0], 2)},
        "engine_stops": stops,
    }
    _write_one_step(out, results, "engine-stops", engine_summary(stops))


def _fleet_only(bootstrap_servers: str | None, out: Path, sizes: Sizes) -> None:
    started_at = datetime.now(UTC)
    load = os.getloadavg()[0]
    with broker(bootstrap_servers) as (bootstrap, version):
        log(f"fleet on Kafka {version} at {bootstrap}")
        runs = [timed(f"{n:,} jobs", fleet.measure, bootstrap, n) for n in sizes.fleet_jobs]
    results = {
        "date": started_at.astimezone().date().isoformat(),
        "started_at": started_at.isoformat(),
        "kafka_version": version,
        "machine": {
            "cores": os.cpu_count(),
            "load_average_start": round(load, 2),
            "load_average_end": round(os.getloadavg()[0], 2),
        },
        "fleet": runs,
    }
    _write_one_step(out, results, "fleet", fleet_summary(runs))


def _write_one_step(out: Path, results: dict[str, Any], step: str, summary: list[str]) -> None:
    """A run of one step: `<date>-<step>.json` beside the full runs', and its summary."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{results['date']}-{step}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(summary))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
