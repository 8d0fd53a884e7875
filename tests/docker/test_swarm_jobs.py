"""One-shot jobs on the host layer's real Swarm (components/swarm/job.py): the program's own
PostgreSQL roles job (role_job_spec, its SQL, TLS files and admin certificate as Swarm
configs and secrets) runs once as a `replicated-job` service after PostgreSQL is up, and a
login check job proves its effect: the role it made logs in over verified TLS with the
password whose verifier the job wrote. The job provider is called as the engine calls a
dynamic provider (apply.py), against the manager's Engine API over mutual TLS, reached
through the variables the Docker provider reads (DOCKER_HOST, DOCKER_TLS_VERIFY,
DOCKER_CERT_PATH)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.docker.spec import TLS_DIR, ContainerSpec, TlsFiles, Upload, tmpfs_options
from components.postgres import files as pg_files
from components.postgres.containers import role_job_spec, server_spec
from components.postgres.roles import ADMIN_ROLE, DATABASE, Role
from components.postgres.scram import verifier
from components.swarm.job import swarm_job
from components.swarm.networks import SwarmNetworks
from components.swarm.placement import swarm_placement
from components.swarm.service import hardened_service
from tests.docker.engine import Engine
from tests.docker.host_pki import ca, issue
from tests.docker.swarm_apply import SwarmMocks, remove_stack
from tests.docker.swarm_hosts import Swarm
from tests.docker.swarm_stack import docker_host
from tests.helpers import profile
from tools.offline.mocks import MockState
from tools.offline.runner import evaluate

pytestmark = pytest.mark.hosts  # run beside the stack's modules (conftest.py)

PREFIX = "vos-jobs"
JOB = "pulumi-python:dynamic/swarm:Job"
ROLE = Role("agent_jobs", "jobs-agent")
PGPASS = "/etc/vos/secrets/pgpass"


def _program(image: str, material: dict[str, str], login_password: str) -> Any:
    def program() -> None:
        networks = SwarmNetworks("jobs-networks", PREFIX, encrypted=False, egress=False)
        backend = [networks.backend.id]
        tls = TlsFiles(material["cert"], material["key"], material["ca"])
        server = server_spec(image, pg_files.pg_hba_conf([ROLE]), tls, material["password"])

        def placed(spec: ContainerSpec) -> Any:
            return swarm_placement(spec, name_prefix=PREFIX, stack="jobs", networks=backend,
                                   memory_mb=256, cpus=0.5, endpoint_mode="dnsrr")  # fmt: skip

        postgres = hardened_service("postgres", server, placed(server), networks)
        sql = pg_files.roles_sql(
            verifier(material["password"], ADMIN_ROLE),
            [(ROLE, verifier(material["role_password"], ROLE.name))],
        )
        roles = role_job_spec(image, sql, material["ca"], material["admin_cert"],
                              material["admin_key"], f"{PREFIX}-postgres-data")  # fmt: skip
        made = swarm_job("postgres-roles", roles, placed(roles), networks, [postgres])
        uid = server.user.split(":")[0]
        login = ContainerSpec(
            service="login-check", image=image, user=server.user,
            command=["psql", f"host=postgres port={pg_files.PORT} dbname={DATABASE} "
                     f"user={ROLE.name} sslmode=verify-full sslrootcert={TLS_DIR}/ca.crt",
                     "--no-psqlrc", "-tAc", "select current_user"],
            env={"PGPASSFILE": PGPASS},
            uploads=[
                Upload(f"{TLS_DIR}/ca.crt", material["ca"], int(uid)),
                Upload(PGPASS, f"postgres:{pg_files.PORT}:{DATABASE}:{ROLE.name}:"
                       f"{login_password}\n", int(uid), "0600", secret=True),
            ],
            tmpfs={"/tmp": tmpfs_options(int(uid))},
            one_shot=True,
        )  # fmt: skip
        swarm_job("login-check", login, placed(login), networks, [made])

    return program


@dataclass
class Jobs:
    swarm: Swarm
    state: MockState
    image: str
    material: dict[str, str]

    def up(self, engine: Engine, preview: bool = False, **changes: str) -> SwarmMocks:
        material = {**self.material, **changes}
        program = _program(self.image, material, changes.get("login", material["role_password"]))
        mocks = SwarmMocks(engine, self.swarm, self.state, preview=preview)
        evaluate("dev", program=program, mocks=mocks, preview=preview)
        mocks.finish()
        return mocks

    def job_services(self) -> dict[str, dict[str, Any]]:
        """The job services on the Swarm: name -> their spec and their tasks' states."""
        api = self.swarm.api()
        found = {}
        for service in api.services(filters={"label": "vos.role=job"}):
            if service["Spec"]["Labels"].get("vos.stack") != "jobs":
                continue
            tasks = api.tasks(filters={"service": service["ID"]})
            found[service["Spec"]["Name"]] = {
                "states": sorted(t["Status"]["State"] for t in tasks),
                "created": service["CreatedAt"],
            }
        return found


@pytest.fixture(scope="module")
def jobs(engine: Engine, swarm: Swarm) -> Iterator[Jobs]:
    image = swarm.push(profile("dev")["services"]["postgres"]["image"], "vos/postgres")
    authority = ca("swarm jobs CA")
    server = issue(authority, "postgres", "server_auth", names=("postgres",))
    admin = issue(authority, ADMIN_ROLE, "client_auth")
    material = {"ca": authority.cert, "cert": server.cert, "key": server.key,
                "password": secrets.token_urlsafe(24), "admin_cert": admin.cert,
                "admin_key": admin.key, "role_password": secrets.token_urlsafe(24)}  # fmt: skip
    made = Jobs(swarm, MockState(), image, material)
    # As a user's shell would hold them for the Docker provider, and so for the job's.
    with docker_host(swarm):
        try:
            made.up(engine)
            yield made
        finally:
            remove_stack(swarm.api(), "jobs", PREFIX)


def test_the_roles_job_ran_once_and_its_role_logs_in(jobs: Jobs) -> None:
    # The login check ran after the roles job (its dependency) and succeeded: the role
    # exists with the password whose verifier the job wrote, over verified TLS.
    seen = jobs.job_services()
    assert sorted(name.rsplit("-", 1)[0] for name in seen) == [
        f"{PREFIX}-login-check",
        f"{PREFIX}-postgres-roles",
    ]
    assert {name: s["states"] for name, s in seen.items()} == {n: ["complete"] for n in seen}


def test_a_second_up_runs_no_job_again(engine: Engine, jobs: Jobs) -> None:
    before = jobs.job_services()
    mocks = jobs.up(engine)
    assert {name: step for (type_, name), step in mocks.steps.items() if type_ == JOB} == {
        "postgres-roles": "same",
        "login-check": "same",
    }
    assert jobs.job_services() == before  # the same services, each with its one task


def test_a_failing_job_fails_the_up_with_its_output_and_leaves_no_service(
    engine: Engine, jobs: Jobs
) -> None:
    before = jobs.job_services()
    with pytest.raises(Exception, match="password authentication failed") as failed:
        jobs.up(engine, login=secrets.token_urlsafe(24))
    assert f"the job {PREFIX}-login-check-" in str(failed.value)
    assert jobs.job_services() == before  # the failed job's service was removed


def test_a_changed_password_runs_the_roles_job_again(engine: Engine, jobs: Jobs) -> None:
    rotated = secrets.token_urlsafe(24)
    before = jobs.job_services()
    mocks = jobs.up(engine, role_password=rotated)
    assert mocks.steps[(JOB, "postgres-roles")] == "replace"
    assert mocks.steps[(JOB, "login-check")] == "replace"  # its password file changed
    after = jobs.job_services()
    # New jobs ran and completed; the old ones went at the end of the `up`.
    assert not set(after) & set(before)
    assert {name: s["states"] for name, s in after.items()} == {n: ["complete"] for n in after}
    jobs.material["role_password"] = rotated
