"""While a fault is in force, what people keep doing, one after another: a clerk opens
a case in the API and with `appeals open`, a handler notes a task, an administrator
runs `appeals health --json`. Each must be accepted or refused cleanly (an answer in
time, one line); an intake refused is kept to be submitted again once the fault is
over, as the clerk would."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.chaos.load import CLERK, HANG, Call, Front, Intake, lead_task
from bench.chaos.stack import Stack
from routing_rules import RuleSet

PAUSE = 2.0  # seconds between two rounds of probes


async def cli(stack: Stack, front: Front, what: str, args: list[str]) -> tuple[Call, str]:
    """An `appeals …` command as the clerk (APPEALS_TOKEN); its call and its stdout."""
    token = await front.token(CLERK) or ""
    faults, t0 = front.faults.now(), time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "appeals"),
        *args,
        env=stack.env | {"APPEALS_TOKEN": token},
        cwd=stack.data,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), HANG + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        out, err = b"", b"(killed: no exit)"
    call = Call(
        what,
        faults | front.faults.now(),
        proc.returncode if proc.returncode is not None else -9,
        time.monotonic() - t0,
        err.decode("utf-8", "replace").strip(),
        cli=True,
        started=t0,
    )
    front.calls.append(call)
    return call, out.decode("utf-8", "replace")


@dataclass
class Prober:
    stack: Stack
    front: Front
    rules: RuleSet
    pool: list[Intake]  # intakes not used yet
    used: list[Intake] = field(default_factory=list)  # every one submitted
    refused: list[Intake] = field(default_factory=list)  # to submit again later
    noted: list[str] = field(default_factory=list)  # case ids whose lead a probe notes

    def _next(self) -> Intake:
        intake = self.pool.pop()
        self.used.append(intake)
        return intake

    async def open_api(self) -> None:
        intake = self._next()
        body = intake.body | {"not_repeat": True}
        call, _ = await self.front.call("probe open", "POST", "/cases", CLERK, json=body)
        if not call.accepted:
            self.refused.append(intake)

    async def open_cli(self) -> None:
        intake = self._next()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(intake.body, f, ensure_ascii=False)
        try:
            call, _ = await cli(
                self.stack, self.front, "cli open", ["open", "--file", f.name, "--not-repeat"]
            )
        finally:
            Path(f.name).unlink()
        if not call.accepted:
            self.refused.append(intake)

    async def note(self, case_id: str) -> None:
        lead = await lead_task(self.front, case_id, give_up=time.monotonic() + 5)
        if lead is None:
            return
        handlers = self.rules.handlers_of(str(lead["office"]))
        if handlers:
            await self.front.call(
                "probe note",
                "POST",
                f"/tasks/{lead['id']}/note",
                handlers[0],
                json={"text": "故障期间记录：已电话联系劳动者"},
            )

    async def health(self) -> None:
        """`appeals health --json`: exit 1 is its answer when something is down, so an
        answer is JSON on stdout, whatever the exit status."""
        call, out = await cli(self.stack, self.front, "cli health", ["health", "--json"])
        self.front.calls.remove(call)
        try:
            json.loads(out)
            status = 0
        except ValueError:
            status = call.status or 1
        self.front.calls.append(dataclasses.replace(call, status=status))

    async def during(self, over: asyncio.Event) -> None:
        """Rounds of probes until ``over`` is set (one round at least)."""
        while True:
            await self.open_api()
            await self.open_cli()
            if self.noted:
                await self.note(self.noted[len(self.used) % len(self.noted)])
            await self.health()
            if over.is_set():
                return
            try:
                await asyncio.wait_for(over.wait(), PAUSE)
            except TimeoutError:
                pass
