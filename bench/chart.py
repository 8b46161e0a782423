"""One PNG with every figure of a run: throughput, latency percentiles, restore time and memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend must be chosen before pyplot is imported
from matplotlib.axes import Axes


def draw(results: dict[str, Any], path: Path) -> None:
    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    _throughput(axes[0][0], results)
    _latency(axes[0][1], results["latency"])
    _restore_time(axes[1][0], results["restore"])
    _restore_rss(axes[1][1], results["restore"])
    machine = results["machine"]
    figure.suptitle(
        f"syncctl benchmarks {results['date']} ({results['mode']}): "
        f"Kafka {results['kafka_version']}, "
        f"{machine['cores']} cores shared by broker, worker(s) and load generator, "
        f"1-min load average {machine['load_average_start']:.1f} at start",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _label_bars(ax: Axes, bars: Any, texts: list[str]) -> None:
    for bar, text in zip(bars, texts, strict=True):
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )


def _throughput(ax: Axes, results: dict[str, Any]) -> None:
    throughput, scaling = results["throughput"], results["scaling"]
    bare = throughput["bare_pipe"]["commands_per_second"] or 0
    names = ["bare pipe\n(1 consumer)"] + [
        f"syncctl\n{run['workers']} worker{'s' if run['workers'] > 1 else ''}"
        for run in scaling["runs"]
    ]
    values = [bare] + [run["commands_per_second"] or 0 for run in scaling["runs"]]
    colors = ["#999999"] + ["#1f77b4"] * len(scaling["runs"])
    bars = ax.bar(names, values, color=colors)
    _label_bars(
        ax,
        bars,
        [
            f"{v:,.0f}/s" + (f"\n{v / bare:.2f}× bare" if bare and i else "")
            for i, v in enumerate(values)
        ],
    )
    ax.axhline(
        bare * throughput["target_ratio"],
        color="red",
        linestyle="--",
        linewidth=1,
        label=f"target: worker ≥ {throughput['target_ratio']:.2f}× bare pipe",
    )
    ax.set_ylabel("commands/s (first to last output)")
    ax.set_title(
        f"Throughput, {throughput['worker']['commands']:,} preloaded commands, 12 partitions"
    )
    ax.set_ylim(0, max([*values, 1]) * 1.3)
    ax.legend(fontsize=8, loc="upper right")


def _latency(ax: Axes, latency: dict[str, Any]) -> None:
    runs = latency["runs"]
    width = 0.25
    for n, (key, color) in enumerate(
        (("p50_ms", "#2ca02c"), ("p95_ms", "#ff7f0e"), ("p99_ms", "#d62728"))
    ):
        xs = [i + (n - 1) * width for i in range(len(runs))]
        bars = ax.bar(
            xs,
            [max(run[key], 0.1) for run in runs],
            width,
            label=key.removesuffix("_ms"),
            color=color,
        )
        _label_bars(ax, bars, [f"{run[key]:,.0f}" for run in runs])
    bare = latency.get("bare_pipe_runs", [])
    if bare:
        xs = list(range(len(bare)))
        ax.plot(
            [x - width for x in xs],
            [max(r["p50_ms"], 0.1) for r in bare],
            "ko",
            markersize=5,
            label="bare pipe p50",
        )
        ax.plot(
            [x + width for x in xs],
            [max(r["p99_ms"], 0.1) for r in bare],
            "kx",
            markersize=7,
            label="bare pipe p99",
        )
    for i, run in enumerate(runs):
        target = latency["targets_p99_ms"].get(str(run["rate"]))
        if target is not None:
            ax.hlines(
                target,
                i - 1.6 * width,
                i + 1.6 * width,
                colors="black",
                linestyles="--",
                linewidth=1.2,
            )
            ax.annotate(
                f"p99 target {target} ms",
                (i, target),
                fontsize=7,
                ha="center",
                va="top",
                xytext=(0, -3),
                textcoords="offset points",
            )
    ax.set_xticks(range(len(runs)), [f"{run['rate']:,}/s offered" for run in runs])
    ax.set_yscale("log")
    ax.set_ylabel("command → visible outcome, ms (from scheduled send)")
    ax.set_title(
        f"Latency, open loop, {runs[0]['seconds']:g} s per rate: 1 worker (bars), bare pipe (black)"
    )
    highest = max([run["max_ms"] or 1 for run in runs] + [run["p99_ms"] for run in bare])
    ax.set_ylim(top=highest * 2.5)
    ax.legend(fontsize=8, loc="upper left")


def _restore_time(ax: Axes, restore: dict[str, Any]) -> None:
    runs = restore["runs"]
    xs = range(len(runs))
    width = 0.38
    start = ax.bar(
        [x - width / 2 for x in xs],
        [r["seconds_from_process_start"] for r in runs],
        width,
        label="from process start",
        color="#9467bd",
    )
    assigned = ax.bar(
        [x + width / 2 for x in xs],
        [r["seconds_from_assigned"] or 0 for r in runs],
        width,
        label='from "partitions assigned"',
        color="#c5b0d5",
    )
    _label_bars(ax, start, [f"{r['seconds_from_process_start']:.1f} s" for r in runs])
    _label_bars(ax, assigned, [f"{(r['seconds_from_assigned'] or 0):.1f} s" for r in runs])
    ax.axhline(
        restore["target_seconds"],
        color="red",
        linestyle="--",
        linewidth=1,
        label=f"target at {restore['target_records']:,} records: {restore['target_seconds']} s",
    )
    ax.set_xticks(list(xs), [f"{r['records']:,} records" for r in runs])
    ax.set_ylabel('seconds until "partitions ready" (all 12)')
    ax.set_title("Restore time of one worker")
    ax.legend(fontsize=8, loc="upper left")


def _restore_rss(ax: Axes, restore: dict[str, Any]) -> None:
    runs = restore["runs"]
    bars = ax.bar(
        [f"{r['records']:,} records" for r in runs],
        [r["peak_rss_mib"] for r in runs],
        color="#8c564b",
    )
    _label_bars(ax, bars, [f"{r['peak_rss_mib']:,.0f} MiB" for r in runs])
    ax.axhline(
        restore["target_rss_mib"],
        color="red",
        linestyle="--",
        linewidth=1,
        label=f"target at {restore['target_records']:,} records: "
        f"{restore['target_rss_mib'] / 1024:.1f} GiB",
    )
    ax.set_ylabel("peak RSS (VmHWM) of the worker, MiB")
    ax.set_title("Worker memory after restore")
    ax.legend(fontsize=8, loc="upper left")
