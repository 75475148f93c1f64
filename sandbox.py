"""The workflow runner: Temporal's sandbox, without two costs it pays on every payload.

temporalio 1.35's sandboxed instance runs each call into the sandbox as ``exec`` of a
source string, so Python compiles that string again on every call. Besides each
activation, the worker calls in once for every payload it decodes or encodes, to ask
which serialization context the payload's command has. Each call also enters and leaves
the sandbox's import restrictions. A profile of the worker during ``bench/actions.py``
put 20 % of its CPU in those calls.

This runner changes two things:

* it compiles each distinct source string once, the same code either way;
* it asks for the serialization context (and the external store's) directly. That
  call only reads the instance's pending commands and builds temporalio's own frozen
  dataclasses; it runs no workflow code and imports nothing, so the restrictions have
  nothing to guard.

Workflow code runs under the restrictions of its mode (below), as before.

``tests/workflows/test_sandbox_runner.py`` checks both against the SDK's own answers.
This leans on the SDK's private ``_Instance`` (temporalio is pinned in pyproject.toml):
an upgrade that renames the sandbox's ``__temporal_in_sandbox`` fails that test; one
that drops ``_run_code`` fails nothing and only loses the saving, which
``bench/throughput.py``'s CPU a case shows.

Two modes (``APPEALS_WORKFLOW_SANDBOX``, settings.workflow_sandbox):

* ``strict``, the SDK's way: each workflow run imports the ``workflows`` package afresh
  into a sandbox of its own, where every non-deterministic call (the wall clock, random,
  I/O) is refused. The test suite runs in this mode (tests/conftest.py), so any such
  call on a path the tests take fails there.
* ``shared``, the default for running processes: the ``workflows`` package is passed
  through, imported once and shared by every run. Temporal's guide advises passing
  through deterministic modules for speed, but the SDK re-imports the workflow's own
  module on purpose, to isolate its state; this mode gives that isolation up, and the
  code keeps no state to isolate instead. The fresh import was the largest single cost
  of starting or replaying a workflow (a recorded case's replay: 61 ms of CPU strict,
  35 shared, on a busy machine), paid by every new case, task and notice and by every
  replay after the cache let one go; and each cached run kept its own copy of the
  modules, which every full collection walks. Restrictions still apply to code the
  sandbox imports itself, but not to ours, so the strict test suite is what keeps it
  deterministic, and tests/workflows/test_shared_code.py that it keeps no state one run
  could leak into another.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import CodeType
from typing import Any, cast

from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox import _runner as sdk
from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox

# The sandbox's source strings, compiled once: a few for each workflow type (its
# creation names the type's module and class), the same few for every call after.
_compiled: dict[str, CodeType] = {}


def compiled(source: str) -> CodeType:
    code = _compiled.get(source)
    if code is None:
        # "<string>", the name exec gives a string it compiles, so tracebacks read alike.
        code = _compiled[source] = compile(source, "<string>", "exec")
    return code


class _Instance(sdk._Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec takes a code object as it takes the string it would compile from.
        super()._run_code(cast(str, compiled(code)), **extra_globals)

    def _in_sandbox(self) -> InSandbox:
        return cast(InSandbox, self.globals_and_locals["__temporal_in_sandbox"])

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        return self._in_sandbox().get_serialization_context(command_info)

    def get_external_store_context(self, command_info: CommandInfo | None) -> Any:
        # Asked for every payload encoded, external storage or none; the same reads.
        return self._in_sandbox().get_external_store_context(command_info)


@dataclass(frozen=True)
class FastSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """SandboxedWorkflowRunner with the same restrictions and runner class; only the
    instances differ (above)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _Instance(det, self.runner_class, self.restrictions)


RUNNER = FastSandboxedWorkflowRunner()  # strict
SHARED = FastSandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
)


def runner(mode: str) -> FastSandboxedWorkflowRunner:
    """The runner of a sandbox mode (settings.workflow_sandbox)."""
    runners = {"shared": SHARED, "strict": RUNNER}
    if mode not in runners:
        raise ValueError(f"unknown workflow sandbox {mode!r}: shared or strict")
    return runners[mode]
