"""Where the Swarm target places each kind of service, and how Swarm objects are named."""

from __future__ import annotations

import pytest

from components.docker.spec import BuildSource, ContainerSpec, HostFolder, SharedMount
from components.swarm.files import NAME_MAX, content_name
from components.swarm.job import swarm_job
from components.swarm.placement import SwarmPlacement, spread, swarm_placement
from components.swarm.service import hardened_service


def _placed(spec: ContainerSpec, **given: object) -> SwarmPlacement:
    arguments: dict[str, object] = {"name_prefix": "vos-prod", "stack": "prod",
                                    "networks": ["n"], "memory_mb": 256, "cpus": 0.5,
                                    "endpoint_mode": "vip", **given}  # fmt: skip
    return swarm_placement(spec, **arguments)  # type: ignore[arg-type]


def _spec(**given: object) -> ContainerSpec:
    return ContainerSpec(service="svc", image="i", command=[], user="1:1", **given)  # type: ignore[arg-type]


def test_a_stateful_service_is_one_task_on_a_data_node_replaced_stop_first() -> None:
    placed = _placed(_spec(data_volume="/data"), replicas=3)
    assert (placed.replicas, placed.constraints, placed.order) == (
        1, ("node.labels.data==true",), "stop-first")  # fmt: skip


def test_the_edge_runs_on_every_edge_node_publishing_in_host_mode() -> None:
    placed = _placed(_spec(), published=(443, 8443))
    assert placed.replicas is None and placed.constraints == ("node.labels.edge==true",)
    assert placed.published == (443, 8443) and placed.order == "stop-first"


def test_a_host_folder_reader_runs_once_per_node() -> None:
    placed = _placed(_spec(host_folders=[HostFolder("/var/lib/docker/containers", "/logs")]))
    assert placed.replicas is None and placed.constraints == ()


def test_apps_are_replicated_on_app_nodes_start_first() -> None:
    placed = _placed(_spec(), replicas=3, app=True)
    assert (placed.replicas, placed.constraints, placed.order) == (
        3, ("node.labels.apps==true",), "start-first")  # fmt: skip
    assert _placed(_spec(), replicas=2).constraints == ()


def test_an_app_s_replicas_are_kept_apart_over_the_app_nodes() -> None:
    placed = _placed(_spec(), replicas=2, app=True, app_nodes=3)
    assert (placed.order, placed.max_per_node) == ("start-first", 1)
    # two tasks on two nodes: a start-first update would wait forever for room
    placed = _placed(_spec(), replicas=2, app=True, app_nodes=2)
    assert (placed.order, placed.max_per_node) == ("stop-first", 1)
    assert _placed(_spec(), replicas=1, app=True, app_nodes=3).max_per_node == 0
    assert _placed(_spec(), replicas=2, app=True).max_per_node == 0  # one node: nowhere
    assert _placed(_spec(), replicas=2, app_nodes=3).max_per_node == 0  # not an app


@pytest.mark.parametrize("nodes", range(2, 9))
@pytest.mark.parametrize("replicas", range(2, 25))
def test_a_lost_node_never_takes_every_task_and_an_update_always_finds_room(
    replicas: int, nodes: int
) -> None:
    order, most = spread(replicas, nodes)
    assert 1 <= most < replicas  # one node never runs them all
    assert most * nodes >= replicas  # with every node up, every task runs
    if order == "start-first":  # room for the new task beside the old ones
        assert most * nodes >= replicas + 1
    else:  # stop-first only where no limit below `replicas` leaves start-first that room
        assert (replicas - 1) * nodes < replicas + 1


def test_impossible_placements_are_refused() -> None:
    with pytest.raises(ValueError, match="stateful service is not published"):
        _placed(_spec(data_volume="/data"), published=(443, 443))
    with pytest.raises(ValueError, match="replicas must be 1 or more"):
        _placed(_spec(), replicas=0)


def test_object_names_change_with_content_and_fit_swarm_s_limit() -> None:
    first = content_name("vos-prod", "postgres", "/etc/vos/tls/server.key", "a")
    assert first != content_name("vos-prod", "postgres", "/etc/vos/tls/server.key", "b")
    assert first == content_name("vos-prod", "postgres", "/etc/vos/tls/server.key", "a")
    long = content_name("vos-" + "x" * 20, "a-very-long-service", "/etc/" + "y" * 80, "c")
    assert len(long) <= NAME_MAX and long.startswith("vos-")


@pytest.mark.parametrize(
    ("given", "why"),
    [({"one_shot": True}, "runs as a Swarm job"),
     ({"shared_mounts": [SharedMount("/run/secrets", "v", read_only=True)]}, "sidecar"),
     ({"build": BuildSource("/src", "/src/Dockerfile")}, "registry"),
     ({"extra_hosts": {"vault": "host-gateway"}}, "host-gateway")],
)  # fmt: skip
def test_what_a_swarm_service_cannot_be_is_refused_before_anything_is_made(
    given: dict[str, object], why: str
) -> None:
    spec = _spec(**given)
    with pytest.raises(ValueError, match=why):
        hardened_service("svc", spec, _placed(_spec()), parent=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "why"),
    [({}, "not a one-shot job"),
     ({"one_shot": True, "data_volume": "/data"}, "image, files and tmpfs only"),
     ({"one_shot": True, "build": BuildSource("/src", "/src/Dockerfile")}, "tmpfs only")],
)  # fmt: skip
def test_what_a_swarm_job_cannot_be_is_refused_before_anything_is_made(
    given: dict[str, object], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        swarm_job("job", _spec(**given), _placed(_spec()), parent=None)  # type: ignore[arg-type]
