"""What a look at a running job calls for: progress at most every 2 s, figures that count rows in
the snapshot and only changes after it, and the snapshot's end once its last record is written."""

from __future__ import annotations

from syncctl.connect.jobs import PROGRESS_SECONDS, EngineJob, SnapshotScan, look_at
from syncctl.contract import JobSpec, Mode, Stats

SPEC = JobSpec(source="shop", tables=("public.a", "public.b"), destination="local", database="d")


def test_progress_is_reported_when_figures_change_and_at_most_every_two_seconds() -> None:
    job = EngineJob("j", Mode.CONTINUOUS, SPEC)
    assert look_at(job, 100, 50, now=10.0).progress == Stats(
        tables_total=2, tables_done=0, rows_migrated=100
    )
    assert look_at(job, 150, 0, now=10.5).progress is None  # too soon
    assert look_at(job, 150, 0, now=10.0 + PROGRESS_SECONDS).progress is not None
    assert look_at(job, 150, 0, now=20.0).progress is None  # nothing changed


def test_the_snapshot_ends_only_when_debezium_said_so_and_the_sink_wrote_every_record() -> None:
    job = EngineJob("j", Mode.CONTINUOUS, SPEC, scan=SnapshotScan(tables_scanned={"public.a"}))
    assert look_at(job, 400, 0, now=1.0).snapshot_done is None  # Debezium not done yet
    job.scan.completed = True
    assert look_at(job, 400, 20, now=2.0).snapshot_done is None  # 20 records still to write
    done = look_at(job, 420, 0, now=3.0).snapshot_done
    assert done == Stats(tables_total=2, tables_done=2, rows_migrated=420)
    # From now on the figures are CDC events: what the sink writes beyond the snapshot's rows.
    assert job.in_cdc and job.rows_at_cdc_start == 420
    assert look_at(job, 445, 0, now=10.0).progress == Stats(events_seen=25)
    assert look_at(job, 445, 0, now=20.0).snapshot_done is None  # it ends once


def test_a_table_counts_once_and_only_when_its_scan_succeeded() -> None:
    """make demo-connect's cancelled job of four tables once reported 'tables 6/4'."""
    scan = SnapshotScan()
    for _ in range(2):  # the same notification again, as after a task restart
        scan.table_scanned({"scanned_collection": "public.a", "status": "SUCCEEDED"})
    scan.table_scanned({"scanned_collection": "public.b", "status": "ABORTED"})
    scan.table_scanned({"scanned_collection": "public.b"})  # older Debezium: no status
    scan.table_scanned({"status": "SUCCEEDED"})  # no table named: nothing to count
    assert scan.tables_done == 2
    job = EngineJob("j", Mode.SNAPSHOT, SPEC, scan=scan)
    scan.table_scanned({"scanned_collection": "public.other", "status": "SUCCEEDED"})
    stats = look_at(job, 10, 5, now=10.0).progress
    assert stats is not None and (stats.tables_done, stats.tables_total) == (2, 2)
