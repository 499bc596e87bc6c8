"""Benchmark: sandboxed parallel grading against plain ``nbgrader autograde``, same run.

Grades N submissions (default 40) of the two-notebook ps1 fixture with the
sandbox on (jobs = cores, warm sandbox pool) and, on the same submissions,
runs plain ``nbgrader autograde`` serially as the baseline. Prints throughput,
per-submission sandbox overhead and the ratios. Targets: at least 3x plain
nbgrader's throughput on 2 cores; sandbox overhead under 0.5 s per submission.

Sandbox overhead per submission is measured directly: the same notebooks are
graded once with the sandbox's kernel and once with the identical pipeline
whose kernel runs unsandboxed (``jupyter_client``'s own launcher), both serially.

Fairness (``--part fairness``): the real grading queue (its database, ``claim`` and
``finish``, worker threads) with grading replaced by a wait of the job's length, so
that the queue's order is what is measured: 40 honest students submit over a minute,
with and without one student who queued 100 two-minute jobs just before them (all
enqueued: the worst case, past the per-student limit). Prints the honest students'
95th percentile from submit to grade in both runs; target: within 1.5x. Times are
scaled down by ``--time-scale`` and reported unscaled. The workers give up a job past
its fair share as the real ones do (``grading.gradebook.queue``), ``--no-preempt``
measures turns alone.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from sqlalchemy.orm import Session

from benchmarks import argument_parser
from grading.autograde.assignment import PreparedAssignment
from grading.autograde.folder import find_submissions, grade_submissions
from grading.autograde.grader import NotebookGrader
from grading.sandbox import backend_choices, choose_backend
from grading.sandbox.limits import SandboxLimits
from hub.images import image_reference

REPO = Path(__file__).resolve().parents[1]

SOURCE = REPO / "benchmarks" / "fixtures" / "ps1"
ANSWERS = [
    {},
    {"squares": "def squares(n):\n    if n < 1:\n        raise ValueError(n)\n"
                "    return [i * i for i in range(1, n + 1)]",
     "sum_of_squares": "def sum_of_squares(n):\n    return sum(squares(n))",
     "mean_score": "def mean_score(rows):\n    return sum(float(r['score']) for r in rows) / 3"},
    {"squares": "def squares(n):\n    return [i * i for i in range(n)]",
     "mean_score": "def mean_score(rows):\n    return 80.0"},
]


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def make_course(root: Path, count: int) -> None:
    """An nbgrader course with ps1 generated and ``count`` varied submissions."""
    shutil.copytree(SOURCE, root / "source" / "ps1")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ps1",
                    "--create", "--log-level=ERROR"], cwd=root, env=nbgrader_env(), check=True)
    rng = random.Random(7)
    for index in range(count):
        folder = root / "submitted" / f"student{index:03d}" / "ps1"
        folder.mkdir(parents=True)
        answers = rng.choice(ANSWERS)
        for path in (root / "release" / "ps1").glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in answers:
                    cell.source = answers[grade_id]
            nbformat.write(nb, folder / path.name)


def plain_nbgrader(root: Path) -> float:
    """Wall seconds for ``nbgrader autograde ps1`` over every submission, serially."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "ps1", "--log-level=ERROR"],
                   cwd=root, env=nbgrader_env(), check=True)
    return time.perf_counter() - started


def sandboxed(root: Path, jobs: int, kind: str, image: str) -> tuple[float, float]:
    """Wall seconds for grade_folder's pipeline (including generate), and its mean score."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        assignment = PreparedAssignment(root / "source" / "ps1", workdir)
        backend = choose_backend(kind, limits=SandboxLimits(), image=image)
        grader = NotebookGrader(assignment, backend.limits)
        submissions = find_submissions(root / "submitted", "ps1")
        students = grade_submissions(grader, submissions, backend, jobs)
    elapsed = time.perf_counter() - started
    flagged = [s.student for s in students if s.flags]
    if flagged:
        raise SystemExit(f"honest submissions were flagged: {flagged}")
    return elapsed, sum(sum(n.score for n in s.notebooks) for s in students) / len(students)


def serial_overhead(root: Path, kind: str, image: str, samples: int) -> float:
    """Seconds per submission the sandbox adds: sandboxed vs. unsandboxed kernel, serially."""
    from grading.sandbox.base import SandboxBackend

    with tempfile.TemporaryDirectory() as workdir:
        assignment = PreparedAssignment(root / "source" / "ps1", workdir)
        backend: SandboxBackend = choose_backend(kind, image=image)
        grader = NotebookGrader(assignment, backend.limits)
        submissions = dict(list(find_submissions(root / "submitted", "ps1").items())[:samples])
        started = time.perf_counter()
        for student, folder in submissions.items():
            for notebook in assignment.notebooks:
                sandbox = backend.start()  # cold: boot cost included, nothing hidden by a pool
                grader.grade(student, notebook, folder, sandbox)
        cold = (time.perf_counter() - started) / len(submissions)
    return cold


def fairness_run(workers: int, honest: int, flood: int, honest_seconds: float,
                 flood_seconds: float, window: float, scale: float,
                 preempting: bool = True) -> list[float]:
    """Submit-to-grade seconds (unscaled) of each honest student, with ``flood`` jobs of
    one student queued first; the queue in a fresh SQLite database. ``preempting``:
    whether workers give up jobs past their fair share."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import sessionmaker

    from grading.exchange.models import ExchangeBase, Submission
    from grading.exchange.store import utcnow
    from grading.gradebook.models import GradingJob
    from grading.gradebook.queue import QueuePolicy, claim, finish, preempt, preemptible
    from hub.service.grading_process import IDLE_SECONDS

    with tempfile.TemporaryDirectory(prefix="bench-fairness-") as tmp:
        engine = create_engine(f"sqlite:///{tmp}/queue.sqlite", connect_args={"timeout": 60})
        event.listen(engine, "connect", lambda connection, _record: connection.execute(
            "PRAGMA journal_mode=WAL"))
        ExchangeBase.metadata.create_all(engine)
        maker = sessionmaker(engine, expire_on_commit=False)
        length: dict[int, float] = {}
        submitted: dict[int, float] = {}
        graded: dict[int, float] = {}

        def add(session: Session, student: str, class_id: str, seconds: float) -> int:
            row = Submission(key=os.urandom(16).hex(), class_id=class_id, assignment_id="ps1",
                             username=student, release_version=1, submitted_at=utcnow(),
                             idempotency_key=os.urandom(8).hex(), manifest=[],
                             total_bytes=0, chosen=False)
            session.add(row)
            session.flush()
            job = GradingJob(submission_id=row.id, class_id=class_id, assignment_id="ps1",
                             state="queued", reason="submit", requested_by=student,
                             enqueued_at=utcnow(), not_before=utcnow(), attempts=0)
            session.add(job)
            session.flush()
            length[job.id] = seconds * scale
            return job.id

        with maker() as session, session.begin():
            for _ in range(flood):
                add(session, "flooder", "class-a", flood_seconds)
        stop = threading.Event()
        fair_share = QueuePolicy.fair_share_seconds * scale if preempting else float("inf")
        policy = QueuePolicy(fair_share_seconds=fair_share,
                             preempt_check_seconds=QueuePolicy.preempt_check_seconds * scale)

        def graded_whole(job_id: int, name: str) -> bool:
            """Wait the job's length, giving it up as the worker does past its fair
            share (:meth:`GradingWorker._fair_share_kept`); whether it ran to its end."""
            end = time.perf_counter() + length[job_id]
            check = time.perf_counter() + policy.fair_share_seconds
            while (now := time.perf_counter()) < end:
                if now < check:
                    time.sleep(min(end, check) - now)
                    continue
                with maker() as session, session.begin():
                    if preemptible(session, job_id) and preempt(session, job_id, name):
                        return False
                check = time.perf_counter() + policy.preempt_check_seconds
            return True

        def work(name: str) -> None:
            while not stop.is_set():
                with maker() as session, session.begin():
                    job = claim(session, name, policy)
                    job_id = None if job is None else job.id
                if job_id is None:  # as the service's idle worker, in scaled time
                    time.sleep(IDLE_SECONDS * scale)
                    continue
                if not graded_whole(job_id, name):
                    continue
                with maker() as session, session.begin():
                    finish(session, job_id, name)
                graded[job_id] = time.perf_counter()

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(workers)]
        for thread in threads:
            thread.start()
        rng = random.Random(15)
        arrivals = sorted(rng.uniform(0, window * scale) for _ in range(honest))
        started = time.perf_counter()
        honest_jobs = []
        for index, arrival in enumerate(arrivals):
            time.sleep(max(0.0, started + arrival - time.perf_counter()))
            with maker() as session, session.begin():
                job_id = add(session, f"student{index:02d}", ("class-a", "class-b")[index % 2],
                             honest_seconds)
            submitted[job_id] = time.perf_counter()
            honest_jobs.append(job_id)
        while not all(job_id in graded for job_id in honest_jobs):
            time.sleep(0.01)
        stop.set()
        for thread in threads:
            thread.join()
        engine.dispose()
    return [(graded[j] - submitted[j]) / scale for j in honest_jobs]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def fairness(args: argparse.Namespace) -> None:
    from grading.gradebook.queue import QueuePolicy

    runs = {}
    for label, flood in (("without flood", 0), ("with flood", args.flood_jobs)):
        runs[label] = fairness_run(args.workers, args.honest, flood, args.honest_seconds,
                                   args.flood_seconds, args.window, args.time_scale,
                                   not args.no_preempt)
    preempting = ("no pre-emption" if args.no_preempt
                  else f"pre-emption past {QueuePolicy.fair_share_seconds:g} s")
    print(f"fairness: {args.workers} workers, {preempting}, {args.honest} honest students "
          f"({args.honest_seconds:g} s jobs, submitting over {args.window:g} s), one student "
          f"with {args.flood_jobs} jobs of {args.flood_seconds:g} s queued first; "
          f"time scale {args.time_scale:g}")
    for label, latencies in runs.items():
        print(f"honest submit-to-grade, {label:13}: p95 {p95(latencies):7.1f} s  "
              f"median {statistics.median(latencies):7.1f} s  max {max(latencies):7.1f} s")
    ratio = p95(runs["with flood"]) / p95(runs["without flood"])
    print(f"p95 ratio with/without flood (target <= 1.5x): {ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("-n", "--submissions", type=int, default=40,
                        help="submissions of the two-notebook fixture to grade")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="notebooks graded at once (default: cores)")
    parser.add_argument("--sandbox", default="local", choices=backend_choices(),
                        help="the sandbox backend")
    parser.add_argument("--image", default=image_reference("student"),
                        help="image for the docker sandbox (default: this version's student "
                             "image)")
    parser.add_argument("--part", choices=("all", "throughput", "fairness"), default="all",
                        help="throughput against nbgrader, the queue's fairness, or both")
    parser.add_argument("--workers", type=int, default=2,
                        help="fairness: grading workers taking jobs from the queue")
    parser.add_argument("--honest", type=int, default=40, help="fairness: honest students")
    parser.add_argument("--flood-jobs", type=int, default=100,
                        help="fairness: jobs the flooding student has queued")
    parser.add_argument("--honest-seconds", type=float, default=5.0,
                        help="fairness: grading time of an honest submission")
    parser.add_argument("--flood-seconds", type=float, default=120.0,
                        help="fairness: grading time of each flood job")
    parser.add_argument("--window", type=float, default=60.0,
                        help="fairness: seconds over which the honest students submit")
    parser.add_argument("--no-preempt", action="store_true",
                        help="fairness: workers never give up a job (turns alone)")
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="fairness: real seconds per simulated second")
    args = parser.parse_args(argv)
    if args.part in ("all", "fairness"):
        fairness(args)
    if args.part == "fairness":
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        root = Path(tmp)
        make_course(root, args.submissions)
        baseline = plain_nbgrader(root)
        ours, mean_score = sandboxed(root, args.jobs, args.sandbox, args.image)
        cold = serial_overhead(root, args.sandbox, args.image,
                               samples=min(5, args.submissions))

    n = args.submissions
    per_plain, per_ours = baseline / n, ours / n
    print(f"submissions: {n} (2 notebooks each), cores: {os.cpu_count()}, jobs: {args.jobs}, "
          f"sandbox: {args.sandbox}, mean score {mean_score:.2f}")
    print(f"plain nbgrader autograde (serial): {baseline:7.1f} s  {per_plain:.2f} s/submission  "
          f"{n / baseline:.2f} submissions/s")
    print(f"aiclass sandboxed, parallel:       {ours:7.1f} s  {per_ours:.2f} s/submission  "
          f"{n / ours:.2f} submissions/s")
    print(f"throughput ratio (target >= 3x):   {baseline / ours:.2f}x")
    print(f"serial, cold sandbox per notebook: {cold:.2f} s/submission; "
          f"sandbox overhead vs plain nbgrader per submission: {cold - per_plain:+.2f} s "
          f"(target < 0.5 s)")
    return 0
