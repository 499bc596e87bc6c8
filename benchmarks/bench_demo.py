"""What the living demo adds to ``aiclass up --demo``'s start: seeding its weeks of activity.

The baseline is seeding the demo region alone (schools, classes, people, initial
passwords), as ``aiclass up`` did before the demo had activity, in the same process on
a fresh data dir; then the same region with its activity (``[demo] activity``). Both
print their seconds and the activity's ratio to the baseline. The hub's own start
(JupyterHub, the proxy, the service) is the same either way and is left out: on a busy
shared machine it varies by more than the seeding costs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import argument_parser
from hub.commands.up import prepare_data_dir
from hub.db import ServiceDatabase
from hub.org.demo import seed_demo_region
from hub.org.demo_activity import seed_demo_activity
from hub.settings import load_settings
from hub.upgrade import upgrade_databases


def seed(data_dir: Path, students: int, activity: bool) -> tuple[float, str]:
    """Seconds to seed a fresh data dir's demo region (and its activity); what was seeded."""
    prepare_data_dir(data_dir)
    settings = load_settings(data_dir, {})
    upgrade_databases(settings)
    database = ServiceDatabase(settings.database_url)
    try:
        started = time.perf_counter()
        with database.session() as session:
            accounts = seed_demo_region(session, students)
        summary = f"{len(accounts)} accounts"
        if activity:
            seeded = seed_demo_activity(database, data_dir, accounts,
                                        datetime.now(UTC).replace(tzinfo=None))
            summary += (f" + {len(seeded.accounts)}, {seeded.releases} releases, "
                        f"{seeded.generated} graded submissions, {seeded.feedback} feedbacks, "
                        f"{seeded.queued_for_grading} queued for the grader")
        return time.perf_counter() - started, summary
    finally:
        database.engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--students", type=int, default=40,
                        help="demo students ([demo] students)")
    students = parser.parse_args(argv).students
    base = Path(tempfile.mkdtemp(prefix="aiclass-bench-demo-"))
    try:
        baseline, what = seed(base / "region", students, activity=False)
        print(f"baseline, the region alone: {baseline:.1f} s ({what})")
        living, what = seed(base / "living", students, activity=True)
        print(f"the living demo: {living:.1f} s ({what})")
        print(f"  ratio living / region alone: {living / baseline:.1f}x; "
              f"added to the start: {living - baseline:.1f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0
