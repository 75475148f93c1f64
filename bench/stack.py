"""Shared by the benchmarks that need Temporal: one embedded stack on a free port with
the engine's real worker in-process, both stopped on the way out."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from client import connect
from devstack import StackError, embedded_stack, port_open, temporal_binary
from models.case import CaseInput, case_id_for
from models.intake import IntakeForm
from settings import Settings
from worker import run_worker
from workflows.grievance import GrievanceWorkflow

ROOT = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """The benchmark could not finish; the message says why in one line."""


def temporal_version() -> str:
    try:
        out = subprocess.run(
            [str(temporal_binary()), "--version"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError, StackError):
        return "unknown"
    return out.stdout.strip().removeprefix("temporal version ") or "unknown"


def worker_line(s: Settings) -> str:
    """The worker's capacity settings, for a benchmark's parameters."""
    return (
        f"worker: {s.worker_workflow_slots} workflow task slots, {s.worker_activity_threads} "
        f"activity threads, sticky cache {s.worker_cached_workflows} workflows, "
        f"{s.workflow_sandbox} sandbox "
        "(APPEALS_WORKER_WORKFLOW_SLOTS, _ACTIVITY_THREADS, _CACHED_WORKFLOWS, "
        "APPEALS_WORKFLOW_SANDBOX)"
    )


def free_base_port(rng: random.Random) -> int:
    """A base port P (not 7233) with P, P+1000, P+2 and P+3 (the API) free on 127.0.0.1."""

    def free(port: int) -> bool:
        if port_open("127.0.0.1", port):
            return False
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    for _ in range(200):
        base = rng.randrange(20000, 31000)
        if base != 7233 and all(free(p) for p in (base, base + 1000, base + 2, base + 3)):
            return base
    raise BenchError("no free base port P with P, P+1000, P+2 and P+3 free in 20000-32000")


WORKER_PIDS = "worker processes "


def add_worker_processes(p: argparse.ArgumentParser) -> None:
    """The benchmarks' ``--worker-processes K`` (for ``stack_and_worker``)."""

    def count(text: str) -> int:
        k = int(text)
        if k < 0:
            raise argparse.ArgumentTypeError("must be ≥ 0")
        return k

    p.add_argument(
        "--worker-processes",
        type=count,
        default=0,
        metavar="K",
        help="run the engine's worker as K processes of their own (as deployed); "
        "0 (default): one worker in this process",
    )


def worker_pids(task: asyncio.Task[None]) -> list[int]:
    """The pids of the worker processes a ``stack_and_worker(..., worker_processes=N)``
    task watches; none for a worker in this process."""
    name = task.get_name()
    found = name.removeprefix(WORKER_PIDS).split(",") if name.startswith(WORKER_PIDS) else []
    return [int(p) for p in found]


async def watch_all(procs: list[WorkerProcess]) -> None:
    """Return only when one of ``procs`` has exited, raising what it said last."""
    watches = [asyncio.create_task(p.watch()) for p in procs]
    try:
        await asyncio.wait(watches, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in watches:
            w.cancel()  # the others', and all of them when this watch is cancelled
    for p in procs:
        p.check()


class WorkerProcess:
    """One `worker.py` process on the embedded stack's data directory (its stack file
    gives the address, its key file the codec key), logging to a file."""

    @staticmethod
    def environment(live: Settings) -> dict[str, str]:
        """The environment of a process of this stack's (a worker, `appeals serve`)."""
        env = dict(os.environ)
        env.update(
            APPEALS_DATA_DIR=str(live.data_dir),
            APPEALS_EMBEDDED_PORT=str(live.embedded_port),
            APPEALS_SMTP_PORT=str(live.sink_port),
            APPEALS_RULES_DIR=str(live.rules_dir),
        )
        for var in ("APPEALS_TEMPORAL_ADDRESS", "APPEALS_DATABASE_URL", "APPEALS_CODEC_KEYS"):
            env.pop(var, None)  # this stack's, not the caller's
        return env

    def __init__(self, name: str, live: Settings) -> None:
        self.name = name
        env = self.environment(live)
        self.log = live.data_dir / f"worker-{name}.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def watch(self) -> None:
        """Return when the process has exited."""
        while self.proc.poll() is None:
            await asyncio.sleep(0.5)

    def check(self) -> None:
        """Raise, with what the process said last, if it has exited."""
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:]
            raise BenchError(f"worker {self.name} exited with {self.proc.returncode}: {tail}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        stop_process(self.proc, timeout=60)  # asyncio.run cancels; the worker drains


async def api_answers(base: str, exited: Callable[[], bool], timeout: float) -> bool:
    """Whether the API at ``base`` answers (any HTTP answer to ``/api/v1/me``) within
    ``timeout`` seconds; False at once if its process has ``exited``."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        while time.monotonic() < deadline and not exited():
            try:
                await http.get(f"{base}/api/v1/me")
                return True
            except httpx.HTTPError:
                await asyncio.sleep(0.3)
    return False


def stop_process(
    proc: subprocess.Popen[bytes], timeout: float, sig: signal.Signals = signal.SIGINT
) -> int:
    """``sig`` (by default SIGINT, a Python entry point's clean stop), then SIGKILL if it
    has not exited within ``timeout`` seconds; its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@contextlib.asynccontextmanager
async def stack_and_worker(
    port: int | None,
    data_dir: Path,
    *,
    rules_dir: Path | None = None,
    worker_processes: int = 0,
) -> AsyncIterator[tuple[Settings, asyncio.Task[None]]]:
    """The embedded stack (on ``port``, or a free one: up to three tries) and the
    engine's worker; both stopped on the way out. ``rules_dir``: another deployment
    (a benchmark's copy of the sample with plans of its own). ``worker_processes``: that
    many workers, each a process of its own (`worker.py`, as deployed), instead of one
    in this process; the task then ends (with an error) only if one of them exits."""
    rng = random.Random()
    live: Settings | None = None
    async with contextlib.AsyncExitStack() as exits:
        for attempt in range(3):
            base = Settings(
                data_dir=data_dir / f"stack{attempt}",
                embedded_port=port if port is not None else free_base_port(rng),
                temporal_address=None,
                database_url=None,
                smtp_port=None,
            )
            if rules_dir is not None:
                base = base.model_copy(update={"rules_dir": rules_dir})
            try:
                live = await exits.enter_async_context(embedded_stack(base))
                break
            except StackError as e:
                if port is not None or attempt == 2:
                    raise BenchError(f"the embedded stack did not start: {e}") from e
        assert live is not None
        if worker_processes > 0:
            procs = [WorkerProcess(f"bench{i}", live) for i in range(worker_processes)]
            for proc in procs:
                exits.callback(proc.stop)
            pids = ",".join(str(p.pid) for p in procs)
            watch = asyncio.create_task(watch_all(procs), name=f"{WORKER_PIDS}{pids}")
            exits.callback(watch.cancel)  # first: the stop is no failure
            yield live, watch
            return
        stop = asyncio.Event()
        worker_task = asyncio.create_task(run_worker(live, stop))

        async def stop_worker() -> None:
            stop.set()
            try:
                await asyncio.wait_for(worker_task, 60)  # cancels it after 60 s
            except TimeoutError:
                print("warning: the worker did not stop within 60 s; cancelled it")
            except Exception as e:
                print(f"warning: the worker had failed: {e!r}")

        exits.push_async_callback(stop_worker)
        yield live, worker_task


async def start_case_direct(s: Settings, form: IntakeForm, opened_by: str | None = None) -> str:
    """Start a case's workflow straight on Temporal (the benchmarks' load, without the
    API's wait for the first projection); the same request id gives the same case."""
    case_id = case_id_for(form.request_id)
    client = await connect(s)
    try:
        await client.start_workflow(
            GrievanceWorkflow.run,
            CaseInput(case_id=case_id, intake=form, opened_by=opened_by),
            id=case_id,
            task_queue=s.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # a closed case with this request id: the same case
    return case_id


def run_bench(
    run: Callable[[], Awaitable[int]], *, stopped: str = "the stack and the worker"
) -> int:
    """Run a benchmark's ``run`` to its exit status: cancelled (so that everything it
    started is stopped) on SIGTERM or SIGHUP, and a BenchError as one line."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, task.cancel)
        return await run()

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line as it comes, even to a file
    try:
        return asyncio.run(guarded())
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"bench: interrupted; {stopped} were stopped", file=sys.stderr)
        return 130
