"""faultlib — what every scenario of the fault suite (tests/faults/run.py)
shares: its context and the figures it reports.

A scenario is a module tests/faults/scn_<name>.py with

    NAME = "crash loop"                 # as printed
    BACKENDS = ("sqlite", "postgres")   # the backends it runs on
    def run(ctx: Ctx) -> Result: ...

It drives the real binary (ctx.hookd_bin) over loopback, counts what it
sees, and fills a Result.  The suite fails when any scenario reports a
loss, a stuck delivery, or a failed check of its own.

Scenarios start hookd with the end-to-end suite's `Hookd` (tests/e2e/
conftest.py) and receive with its `Receiver` (tests/e2e/receiver.py):
run.py puts tests/e2e on sys.path and sets HOOKD_BIN and
HOOKD_TEST_BACKEND before any scenario is imported.
"""

import dataclasses
from pathlib import Path
from typing import Optional


@dataclasses.dataclass
class Ctx:
    hookd_bin: str
    workdir: Path            # a fresh, empty directory of this scenario's own
    bounded: bool            # the short form (CI): fewer cycles, less data
    backend: str             # "sqlite" or "postgres"
    admin_url: Optional[str] = None  # PostgreSQL admin URL, with backend postgres

    def log(self, msg):
        print(f"    {msg}", flush=True)


@dataclasses.dataclass
class Result:
    name: str
    did: str = ""                 # one line: what the scenario did
    accepted: int = 0             # activities/sends hookd answered 2xx
    expected: int = 0             # deliveries that must arrive
    delivered: int = 0            # distinct deliveries the receivers got
    lost: int = 0                 # expected, never delivered: must be 0
    duplicated: int = 0           # deliveries received more than once
    stuck: int = 0                # not delivered by their due time plus grace: must be 0
    recovery_s: Optional[float] = None  # fault over → everything delivered
    figures: dict = dataclasses.field(default_factory=dict)  # more, scenario-specific
    failures: list = dataclasses.field(default_factory=list)  # checks that failed

    def check(self, cond, what):
        """Records what as a failure unless cond holds; returns cond."""
        if not cond:
            self.failures.append(what)
        return cond

    @property
    def ok(self):
        return self.lost == 0 and self.stuck == 0 and not self.failures
