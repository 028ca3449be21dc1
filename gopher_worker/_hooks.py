"""Job hooks: policies around each run (metrics, tracing, circuit breaking) plug in
here instead of branching in the runtime. A failing hook is logged, never fatal."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gopher_worker._job import Job

log = logging.getLogger(__name__)

# Outcomes a hook sees at the end of a run.
SUCCEEDED, FAILED, CANCELLED, HANDED_BACK = "succeeded", "failed", "cancelled", "handed_back"


class JobHook:
    """Override what you need; the defaults do nothing."""

    def on_start(self, job: Job) -> None:
        """Called in the job's task right before the handler runs."""

    def on_finish(
        self, job: Job, outcome: str, duration_s: float, error: BaseException | None
    ) -> None:
        """Called once the run ended with `outcome` after `duration_s` seconds."""


class Hooks:
    """Calls every hook in order, isolating their failures."""

    def __init__(self, hooks: Sequence[JobHook] = ()) -> None:
        self.hooks = list(hooks)

    def start(self, job: Job) -> None:
        """Run every hook's on_start."""
        for hook in self.hooks:
            try:
                hook.on_start(job)
            except Exception:
                log.exception("hook %s failed on start of job %s", type(hook).__name__, job.id)

    def finish(
        self, job: Job, outcome: str, duration_s: float, error: BaseException | None = None
    ) -> None:
        """Run every hook's on_finish."""
        for hook in self.hooks:
            try:
                hook.on_finish(job, outcome, duration_s, error)
            except Exception:
                log.exception("hook %s failed on finish of job %s", type(hook).__name__, job.id)
