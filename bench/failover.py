"""Commands sent while a worker dies: two workers at 1,000 commands/s with 100,000 jobs in the
store, one killed (SIGKILL) 5 s into the scored window; the commands scheduled in the 10 s
after the kill are scored from their scheduled send time (bench/latency.py `after_kill`), so the
takeover is in the figure: noticing the dead member, the rebalance, the restore of its
partitions by the survivor, and the transactions the dead worker left open.

    python -m bench.failover [--preload 100000] [--rate 1000] [--bootstrap-servers HOST:PORT]
                             [--session-timeout-ms N] [--transaction-timeout-ms N]

The two timeouts are the workers' (`worker.session_timeout_ms`, `worker.transaction_timeout_ms`;
syncctl's defaults unless given): they bound noticing the dead worker and the broker's abort of
the transaction it left open. The broker must allow the session timeout
(`group.min.session.timeout.ms`; `syncctl broker`'s allows 1 s).
"""

from __future__ import annotations

import argparse
import json

from bench import latency
from bench.fleet_cli import broker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preload", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kill-after", type=float, default=5.0)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--session-timeout-ms", type=int)
    parser.add_argument("--transaction-timeout-ms", type=int)
    options = parser.parse_args()
    timeouts = {
        "SYNCCTL_WORKER__SESSION_TIMEOUT_MS": options.session_timeout_ms,
        "SYNCCTL_WORKER__TRANSACTION_TIMEOUT_MS": options.transaction_timeout_ms,
    }
    with broker(options.bootstrap_servers) as bootstrap:
        result = latency.measure(
            bootstrap,
            options.rate,
            options.seconds,
            workers=2,
            preload=options.preload,
            kill_after=options.kill_after,
            drain_timeout=60.0,
            worker_settings={name: str(ms) for name, ms in timeouts.items() if ms is not None},
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
