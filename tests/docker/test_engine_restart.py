"""The engine restarted (issue 30's drills): dockerd stopped with SIGTERM (it stops every
container, as a host's shutdown does; the tier's engine runs without live-restore, like a
Swarm node) and started again on the same data root. Every long-running container must come
back by its restart policy alone, healthy, with its volume's data; a one-shot job must not
run again; a files carrier must stay never started; the apps' secrets, on tmpfs volumes that
emptied with the stop, must be rendered again by their sidecars; and the next `up` must find
nothing to change.

Runs last on the tier's applied stack (conftest.py MODULE_ORDER), and only once no other tier
process uses the engine (engine_share.py: the host-layer modules may run beside it)."""

from __future__ import annotations

from tests.docker import engine as docker_engine
from tests.docker.engine_share import Shared
from tests.docker.probes import api_key, eventually, running
from tests.docker.recovery import (
    ENGINE_BACK_WITHIN_S,
    all_back,
    committed_row,
    edge_answers,
    row_kept,
)
from tests.docker.stack import PREFIX, Stack
from tools.offline.rendered import containers


def test_an_engine_restart_brings_every_service_back_without_an_up(
    stack: Stack, shared_engine: Shared
) -> None:
    marker = committed_row(stack, "engine")
    services = running(stack)
    jobs = [n for n, c in containers(stack.evaluation).items() if c.one_shot]
    with shared_engine.alone() as engine:
        carriers = [c.name for c in engine.client().containers.list(
            all=True, filters={"label": ["vos.stack=dev", "vos.role=files"]})]  # fmt: skip
        assert jobs and carriers
        started = {s: str(stack.inspect(f"{PREFIX}-{s}")["State"]["StartedAt"]) for s in services}
        ran = {j: stack.inspect(f"{PREFIX}-{j}")["State"] for j in jobs}

        docker_engine.restart(engine)

        all_back(stack, started, ENGINE_BACK_WITHIN_S)
    for job, before in ran.items():  # ran once, to completion, and not again
        after = stack.inspect(f"{PREFIX}-{job}")["State"]
        assert after["Status"] == "exited" and after["ExitCode"] == 0, (job, after)
        assert after["StartedAt"] == before["StartedAt"], job
    for carrier in carriers:
        assert stack.inspect(carrier)["State"]["Status"] == "created", carrier
    row_kept(stack, marker)
    key = api_key(stack)  # the gateway answers only with its secrets rendered again
    assert eventually(lambda: edge_answers(stack, key), seconds=90)


def test_after_the_restart_a_refresh_and_a_preview_show_no_change(stack: Stack) -> None:
    refreshed = stack.refresh()
    assert refreshed == {}, f"the providers read back other values: {refreshed}"
    assert stack.preview() == {}, stack.last_reasons
