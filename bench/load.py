"""Report submission under load with client retries, beside a live Celery worker.

    python bench/load.py [--seconds 60] [--clients 16] [--replay-share 0.2] [--workers 4]
                         [--concurrency 2] [--debounce 5] [--detection-timeout 300]
                         [--database URL] [--redis URL] [--fresh]

Starts gunicorn on PostgreSQL (database pvtracker_load, created and migrated if missing;
--fresh drops it first) and a Celery worker with beat on Redis (database 10, emptied
first: the broker, the cache and the detection locks), with a detection debounce of 5 s
instead of 60, so that the runs that new reports queue happen during the load.
Then 16 clients (threads with keep-alive connections) submit reports for 60 s, each for
a new patient, each with its own Idempotency-Key. A share (20%) of the submissions are
sent again with the same key and body, as by a client that lost the answer: a third
while the first is still in flight (on a second connection; its answer is read after the
first's, so its latency is at least the first's), a third right after the answer, a third
1-5 s later by whichever client is free.

Then it checks, and exits non-zero unless all of these hold:
  - every 201 answer's report is in the database exactly once, under the case number
    answered, and its key's idempotency record names it;
  - all the answers for one key name the same report, one of them made it (the others
    say Idempotent-Replayed), and no key made two reports;
  - the run's reports are exactly the keys answered 201 (none saved without an answer);
  - no error answers: no 5xx, no 4xx, none missing;
  - the detection runs that the new reports queued all succeeded, and a run over every
    drug requested afterwards (POST /api/v1/signal-runs/) succeeds within the timeout;
  - gunicorn and the worker were still running at the end, and logged no error.
Prints requests per second, p50 and p99 (all answers, first submissions, each kind of
replay) and the error count. The logs of gunicorn and the worker, and every answer (status,
latency, report id and case number) go to var/bench-load/.

One script kept whole, past the 400 lines product modules keep to: it is one experiment,
read from top to bottom, and nothing imports it.
"""

import argparse
import csv
import random
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
import redis

from bench.harness import (
    PYTHON,
    ROOT,
    Answer,
    Client,
    Load,
    account_token,
    child,
    database_name,
    ensure_database,
    exit_on_sigterm,
    gunicorn,
    percentiles,
    prepare,
    report_body,
    server_env,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/pvtracker_load"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
LOGS = ROOT / "var" / "bench-load"
REPORTS = "/api/v1/reports/"
RUNS = "/api/v1/signal-runs/"
FIRST = "first"
# Replays: while the first is in flight, right after its answer, a few seconds later.
REPLAY_KINDS = ("concurrent", "after answer", "later")
ACTIVE = ("queued", "running")
SHOWN = 10
WARM_UP = "/api/v1/terms/?q=nausea"
WARM_UP_SECONDS = 3
LOG_FILES = ("gunicorn.log", "worker.log")
LOGGED_ERRORS = ("ERROR", "CRITICAL", "Traceback")
RUN_COUNTS = ("exposed", "terms_with_cases", "findings", "signals_new", "signals_updated")


@dataclass(frozen=True)
class Submission:
    """One report to file; its key is also its patient's reference."""

    key: str
    body: bytes


@dataclass
class Outcome:
    """What one request was answered."""

    key: str
    kind: str
    status: int
    ms: float
    at: float
    replayed: bool
    report_id: int | None = None
    reference: str = ""
    detail: str = ""

    @classmethod
    def of(cls, submission: Submission, kind: str, answer: Answer, at: float) -> "Outcome":
        outcome = cls(submission.key, kind, answer.status, answer.ms, at, answer.replayed)
        try:
            data = answer.json() if answer.status == 201 else {}
            outcome.report_id, outcome.reference = int(data["id"]), str(data["reference"])
        except (ValueError, KeyError, TypeError):
            outcome.detail = answer.body[:300].decode(errors="replace")
        return outcome

    def describe(self) -> str:
        what = f"status {self.status}" if self.status else "no answer"
        detail = f": {' '.join(self.detail.split())[:160]}" if self.detail else ""
        return f"{what} at {self.at:.1f} s, {self.kind}, key {self.key}{detail}"


class Submitters:
    """Clients submitting reports, some of them again, until the time is up."""

    def __init__(self, port: int, token: str, tag: str, args: argparse.Namespace) -> None:
        self.port, self.token, self.tag = port, token, tag
        self.clients, self.seconds, self.share = args.clients, args.seconds, args.replay_share
        self.lock = threading.Lock()
        self.counter = 0
        self.later: deque[tuple[float, Submission]] = deque()
        self.outcomes: list[Outcome] = []
        self.stop = threading.Event()
        self.started = self.stop_at = 0.0

    def submission(self) -> Submission:
        with self.lock:
            self.counter += 1
            n = self.counter
        key = f"LOAD-{self.tag}-{n:06d}"
        return Submission(key, report_body(n, key))

    def replay_due(self, *, any_time: bool = False) -> Submission | None:
        with self.lock:
            if self.later and (any_time or self.later[0][0] <= time.perf_counter()):
                return self.later.popleft()[1]
        return None

    def send(self, client: Client, submission: Submission) -> None:
        client.send("POST", REPORTS, submission.body, {"Idempotency-Key": submission.key})

    def outcome(self, submission: Submission, kind: str, answer: Answer) -> Outcome:
        return Outcome.of(submission, kind, answer, time.perf_counter() - self.started)

    def post(self, client: Client, submission: Submission, kind: str) -> Outcome:
        self.send(client, submission)
        return self.outcome(submission, kind, client.receive())

    def client(self, index: int) -> None:
        rng = random.Random(index)
        main, second = Client(self.port, self.token), Client(self.port, self.token)
        done: list[Outcome] = []
        try:
            while not self.stop.is_set() and time.perf_counter() < self.stop_at:
                waiting = self.replay_due()
                if waiting is not None:
                    done.append(self.post(main, waiting, "later"))
                    continue
                submission = self.submission()
                replay = rng.choice(REPLAY_KINDS) if rng.random() < self.share else ""
                if replay == "concurrent":
                    # Both requests in flight at once, on two connections.
                    self.send(main, submission)
                    self.send(second, submission)
                    done.append(self.outcome(submission, FIRST, main.receive()))
                    done.append(self.outcome(submission, replay, second.receive()))
                    continue
                done.append(self.post(main, submission, FIRST))
                if replay == "after answer":
                    done.append(self.post(main, submission, replay))
                elif replay == "later":
                    with self.lock:
                        self.later.append((time.perf_counter() + rng.uniform(1, 5), submission))
            # The retries still waiting when the time is up are sent now.
            while not self.stop.is_set() and (waiting := self.replay_due(any_time=True)):
                done.append(self.post(main, waiting, "later"))
        finally:
            main.close()
            second.close()
            with self.lock:
                self.outcomes.extend(done)

    def run(self) -> float:
        """Returns the seconds it took, the last retries included."""
        threads = [
            threading.Thread(target=self.client, args=(i,), daemon=True)
            for i in range(self.clients)
        ]
        self.started = time.perf_counter()
        self.stop_at = self.started + self.seconds
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            self.stop.set()
        return time.perf_counter() - self.started


@dataclass
class Check:
    name: str
    ok: bool
    details: list[str]


def check(name: str, problems: Iterable[str]) -> Check:
    found = list(problems)
    return Check(name, not found, found)


def figures(outcomes: list[Outcome], seconds: float) -> None:
    print(f"{'':<22}{'answers':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    groups = [("all", outcomes), ("first submissions", [o for o in outcomes if o.kind == FIRST])]
    replays = [o for o in outcomes if o.kind != FIRST]
    groups.append(("replays", replays))
    groups += [(f"  {k}", [o for o in replays if o.kind == k]) for k in REPLAY_KINDS]
    for name, group in groups:
        p50, p99 = percentiles([o.ms for o in group])
        errors = sum(o.status != 201 for o in group)
        print(
            f"{name:<22}{len(group):>8,}{len(group) / seconds:>9.1f}{p50:>9.1f}{p99:>9.1f}"
            f"{errors:>8}"
        )


def verify_reports(outcomes: list[Outcome], database: str, tag: str) -> list[Check]:
    created = [o for o in outcomes if o.status == 201]
    answered: dict[str, set[int]] = defaultdict(set)
    made: Counter[str] = Counter()
    for o in created:
        answered[o.key].add(o.report_id or 0)
        made[o.key] += not o.replayed
    with psycopg.connect(database) as db:
        rows = db.execute(
            "SELECT r.id, r.reference, p.reference FROM reports_report r "
            "JOIN reports_patient p ON p.id = r.patient_id WHERE p.reference LIKE %s",
            [f"LOAD-{tag}-%"],
        ).fetchall()
        # A case number anywhere in the database, not only among this run's reports.
        numbers: dict[str, int] = {
            number: count
            for number, count in db.execute(
                "SELECT reference, count(*) FROM reports_report WHERE reference = ANY(%s) "
                "GROUP BY reference",
                [sorted({o.reference for o in created})],
            )
        }
        records: dict[str, int] = {
            key: report_id
            for key, report_id in db.execute(
                "SELECT key, report_id FROM reports_idempotencyrecord WHERE key LIKE %s",
                [f"LOAD-{tag}-%"],
            )
        }
    stored = {report_id: (number, key) for report_id, number, key in rows}
    per_key = Counter(key for _, _, key in rows)
    # Report ids come from a sequence that a rollback does not give back: in a database that
    # only this run writes to, the ids skipped are the submissions rolled back after writing
    # their report, which is how the loser of a race on one key ends.
    skipped = max(stored) - min(stored) + 1 - len(stored) if stored else 0
    print(
        f"database: {len(rows):,} reports of this run, {len(records):,} idempotency keys; "
        f"{len(answered):,} keys answered 201 ({len(created):,} answers 201); "
        f"{skipped} report inserts rolled back (retries that lost a race on their key)"
    )

    def missing() -> Iterator[str]:
        for o in created:
            report = stored.get(o.report_id or 0)
            if report is None or report != (o.reference, o.key):
                yield f"report {o.report_id} ({o.reference}, key {o.key}): stored as {report}"
            elif numbers.get(o.reference) != 1:
                yield f"case number {o.reference} is on {numbers.get(o.reference)} reports"
            elif records.get(o.key) != o.report_id:
                yield f"key {o.key}: its idempotency record names {records.get(o.key)}"

    def split_keys() -> Iterator[str]:
        for key, ids in answered.items():
            if len(ids) > 1:
                yield f"key {key} was answered with reports {sorted(ids)}"
            elif made[key] != 1:
                yield f"key {key}: {made[key]} answers made its report (not marked replayed)"
        for key, count in per_key.items():
            if count > 1:
                yield f"key {key} made {count} reports"

    def unanswered() -> Iterator[str]:
        for report_id, (number, key) in stored.items():
            if key not in answered:
                yield f"report {report_id} ({number}, key {key}) saved, never answered 201"
        if len(rows) != len(answered):
            yield f"{len(rows)} reports in the database for {len(answered)} keys answered 201"

    return [
        check("every 201's report is in the database exactly once", missing()),
        check("every key answered with one report, made once", split_keys()),
        check("reports in the database = keys answered 201", unanswered()),
    ]


def answers_save(outcomes: list[Outcome], path: Path) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["at_s", "key", "kind", "status", "ms", "replayed", "id", "case", "detail"])
        for o in sorted(outcomes, key=lambda o: o.at):
            timing = [f"{o.at:.3f}", o.key, o.kind, o.status, f"{o.ms:.1f}", int(o.replayed)]
            out.writerow([*timing, o.report_id or "", o.reference, o.detail])


def verify_answers(outcomes: list[Outcome]) -> list[Check]:
    server_errors = [o for o in outcomes if o.status >= 500]
    errors = [o for o in outcomes if o.status != 201]
    counts = Counter(o.status for o in errors)
    breakdown = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(counts.items()))
    print(f"errors: {len(errors)}" + (f" ({breakdown})" if errors else ""))
    return [
        check(f"no 5xx ({len(server_errors)})", (o.describe() for o in server_errors)),
        check(f"no error answers ({len(errors)})", (o.describe() for o in errors)),
    ]


def db_now(database: str) -> datetime:
    with psycopg.connect(database) as db:
        row = db.execute("SELECT now()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def runs_abandon(database: str) -> int:
    """Fail the runs an interrupted benchmark left queued or running: their tasks went
    with the emptied broker, and a queued run would stop new reports from queueing one."""
    with psycopg.connect(database) as db:
        cursor = db.execute(
            "UPDATE surveillance_detectionrun SET status = 'failed', finished_at = now(), "
            "error = 'abandoned by an earlier load benchmark' WHERE status = ANY(%s)",
            [list(ACTIVE)],
        )
        return cursor.rowcount


def runs_since(database: str, since: datetime) -> list[tuple[Any, ...]]:
    with psycopg.connect(database) as db:
        return db.execute(
            "SELECT id, trigger, status, error, started_at, finished_at "
            "FROM surveillance_detectionrun WHERE created_at >= %s AND trigger = 'new_reports' "
            "ORDER BY id",
            [since],
        ).fetchall()


def verify_new_report_runs(database: str, since: datetime, timeout: float) -> Check:
    """The runs that the load's reports queued, once none is queued or running."""
    deadline = time.monotonic() + timeout
    runs = runs_since(database, since)
    while any(r[2] in ACTIVE for r in runs) and time.monotonic() < deadline:
        time.sleep(1)
        runs = runs_since(database, since)
    by_status = Counter(r[2] for r in runs)
    ran = [(r[5] - r[4]).total_seconds() for r in runs if r[4] and r[5]]
    print(
        f"detection runs queued by new reports: {len(runs)} "
        f"({', '.join(f'{s} {n}' for s, n in sorted(by_status.items()))})"
        + (f"; each {min(ran):.1f}-{max(ran):.1f} s" if ran else "")
    )
    return check(
        "the runs queued by new reports succeeded",
        (f"run {r[0]} ({r[1]}) {r[2]}: {r[3]}" for r in runs if r[2] != "succeeded"),
    )


def verify_requested_run(port: int, token: str, timeout: float) -> Check:
    """A run over every drug, requested through the API, followed until it ends."""
    officer = Client(port, token)
    name = f"a run over every drug succeeds within {timeout:.0f} s"
    try:
        answer = officer.call("POST", RUNS, b"{}")
        # A run over every drug that was on already (the nightly one) is answered and followed.
        if answer.status != 202:
            return check(name, [f"POST {RUNS}: {answer.status} {answer.body[:200]!r}"])
        run_id, requested = answer.json()["id"], time.monotonic()
        run: dict[str, Any] = {}
        while time.monotonic() - requested < timeout:
            answer = officer.call("GET", f"{RUNS}{run_id}/")
            run = answer.json() if answer.status == 200 else {"status": str(answer.status)}
            if run["status"] not in ACTIVE:
                break
            time.sleep(0.5)
    finally:
        officer.close()
    waited = time.monotonic() - requested
    if run.get("started_at") and run.get("finished_at"):
        ran = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
        counts = run.get("counts", {})
        shown = ", ".join(f"{k} {counts[k]}" for k in RUN_COUNTS if k in counts)
        print(
            f"detection run {run_id} over every drug: {run['status']} in "
            f"{ran.total_seconds():.1f} s ({waited:.1f} s from the request); {shown}"
        )
    if run.get("status") == "succeeded":
        return check(name, [])
    return check(name, [f"run {run_id}: {run.get('status')} {run.get('error', '')}".strip()])


def wait_for_line(path: Path, text: str, process: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with status {process.returncode}; see {path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker was not ready after {timeout:.0f} s; see {path}")
        time.sleep(0.2)


@contextmanager
def worker(env: dict[str, str], tag: str, concurrency: int) -> Iterator[Any]:
    path = LOGS / "worker.log"
    args = [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel", "info"]
    args += ["--concurrency", str(concurrency), "--hostname", f"load-{tag}@%h"]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    # With beat inside: it hands out the runs that reports queued once they are due.
    args += ["--beat", "--schedule", str(LOGS / "beat-schedule")]
    with path.open("wb") as log, child(args, env, log) as process:
        wait_for_line(path, " ready.", process)
        yield process


def log_errors(path: Path) -> Iterator[str]:
    """Errors the processes logged, though none reached a client (a swallowed exception)."""
    for line in path.read_text(errors="replace").splitlines():
        if any(mark in line for mark in LOGGED_ERRORS):
            yield f"{path.name}: {line.strip()[:200]}"


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(
        "    " + line for line in path.read_text(errors="replace").splitlines()[-lines:]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replay-share", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--debounce", type=int, default=5, help="DETECTION_DEBOUNCE_SECONDS")
    parser.add_argument("--detection-timeout", type=float, default=300)
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="broker, cache and locks")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    exit_on_sigterm()

    tag = time.strftime("%Y%m%d%H%M%S")
    env = server_env(
        args.database,
        CELERY_BROKER_URL=args.redis,
        REDIS_URL=args.redis,
        DETECTION_ON_NEW_REPORTS="1",
        DETECTION_DEBOUNCE_SECONDS=str(args.debounce),
        DETECTION_DISPATCH_SECONDS="1",
    )
    ensure_database(args.database, fresh=args.fresh)
    prepare(env)
    nurse = account_token(env, "load-nurse", "nurse", "Load Hospital")
    officer = account_token(env, "load-officer", "safety_officer")
    broker = redis.Redis.from_url(args.redis)
    broker.flushdb()
    broker.close()
    abandoned = runs_abandon(args.database)
    LOGS.mkdir(parents=True, exist_ok=True)

    checks: list[Check] = []
    with ExitStack() as stack:
        celery = stack.enter_context(worker(env, tag, args.concurrency))
        server_log = stack.enter_context((LOGS / "gunicorn.log").open("wb"))
        server = stack.enter_context(gunicorn(env, args.workers, server_log))
        share = f"{args.replay_share:.0%}"
        print(
            f"gunicorn {args.workers} workers, Celery worker ({args.concurrency} processes) on "
            f"PostgreSQL {database_name(args.database)} and Redis {args.redis}; detection on "
            f"new reports (debounce {args.debounce} s)"
            + (f"; failed {abandoned} runs an earlier run left active" if abandoned else "")
        )
        print(
            f"{args.clients} clients for {args.seconds:.0f} s, {share} of submissions sent "
            f"again with the same key ({', '.join(REPLAY_KINDS)}); run {tag}"
        )
        since = db_now(args.database)
        # Every gunicorn worker answers a few requests first (loading the terminology).
        Load(server.port, nurse, WARM_UP_SECONDS, args.clients).run("GET", WARM_UP, None)
        submitters = Submitters(server.port, nurse, tag, args)
        seconds = submitters.run()
        outcomes = submitters.outcomes
        print(f"{len(outcomes):,} answers in {seconds:.1f} s: {len(outcomes) / seconds:.1f} req/s")
        figures(outcomes, seconds)
        answers_save(outcomes, LOGS / "answers.csv")
        checks += verify_answers(outcomes)
        checks += verify_reports(outcomes, args.database, tag)
        checks.append(
            verify_new_report_runs(args.database, since, args.debounce + args.detection_timeout)
        )
        checks.append(verify_requested_run(server.port, officer, args.detection_timeout))
        gone = [
            f"{name} exited with status {process.returncode}"
            for name, process in [("gunicorn", server.process), ("the worker", celery)]
            if process.poll() is not None
        ]
        checks.append(check("gunicorn and the worker ran to the end", gone))
        # Read before they stop: what a process logs while stopping is not the load's doing.
        logged = [line for name in LOG_FILES for line in log_errors(LOGS / name)]
        checks.append(check("no error in the logs of gunicorn and the worker", logged))
        retries = (LOGS / "worker.log").read_text(errors="replace").count(" retry: ")
        print(f"task retries (another run holding the drug, or the database): {retries}")

    print("checks:")
    for c in checks:
        print(f"  [{'ok' if c.ok else 'FAILED'}] {c.name}")
        for line in c.details[:SHOWN]:
            print(f"      {line}")
        if len(c.details) > SHOWN:
            print(f"      ... and {len(c.details) - SHOWN} more")
    if not all(c.ok for c in checks):
        for name in LOG_FILES:
            print(f"  last lines of {LOGS / name}:\n{tail(LOGS / name)}")
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the processes it started were stopped")
