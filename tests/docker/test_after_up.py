"""What `up` leaves on the engine before anything changes it: a state that a refresh and a
preview leave alone, the one-shot jobs done, no files carrier ever started."""

from __future__ import annotations

from components.docker.container import FILES_ROLE
from tests.docker.probes import (
    running,
)
from tests.docker.stack import PREFIX, Stack
from tests.helpers import output
from tools.offline.rendered import containers


def test_right_after_up_a_refresh_and_a_preview_show_no_change(stack: Stack) -> None:
    """What every create stored (it ends with the provider's Read) is what a refresh reads
    and what the program sets again: a second `up` would do nothing
    (`pulumi preview --expect-no-changes` passes)."""
    assert stack.refresh() == {}
    assert stack.preview() == {}, stack.last_reasons


def test_the_role_job_exited_0_and_no_files_carrier_ever_ran(stack: Stack) -> None:
    job = stack.inspect(f"{PREFIX}-postgres-roles")
    assert job["State"]["Status"] == "exited" and job["State"]["ExitCode"] == 0
    assert output(stack.evaluation.named("postgres-roles"), "exitCode") == 0
    carriers = stack.engine.api().containers(all=True, filters={"label": f"vos.role={FILES_ROLE}"})
    jobs = [name for name, c in containers(stack.evaluation).items() if c.one_shot]
    assert sorted(jobs) == ["postgres-roles", "weaviate-roles"]
    assert len(carriers) == len(running(stack)) + len(jobs)  # and each job's
    for carrier in carriers:
        state = stack.inspect(carrier["Id"])["State"]
        assert state["Status"] == "created" and state["StartedAt"].startswith("0001"), carrier
