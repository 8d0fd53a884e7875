"""The stack's own data services for the app under test: its PostgreSQL, RabbitMQ and
Weaviate and their one-shot jobs (roles, users, RBAC), run from what the dev stack renders
for them (image, user, command, environment, files with their owners and modes, tmpfs, a
read-only root, no capability) on the app's internal network under their service names, so
the app meets the servers, certificates, roles and permissions it meets in a stack.

Files reach a volume as the stack's files carrier puts them there: a container of the same
image, created and never started, with the volume mounted writable, given a tar archive
whose entries carry the owner and mode (the Engine API's archive upload, as the Docker
provider's `uploads` use it). A job whose stack image is the app's own (Weaviate's RBAC job
runs in a VOS app image, whose contract guarantees python3) runs in the image under test."""

from __future__ import annotations

import contextlib
import io
import secrets
import tarfile
import time
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import docker
import docker.errors

from tools.contract.errors import VerifyError
from tools.offline.rendered import File, RenderedContainer

HEALTHY_WITHIN_S = 180
"""RabbitMQ's first boot (its definitions, its plugins) is the slowest."""
JOB_WITHIN_S = 120


def _archive(files: list[File], under: str) -> bytes:
    """The files below `under` as a tar archive relative to it, parents first (root-owned,
    0755, as the engine would make them)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        made: set[PurePosixPath] = set()
        for file in sorted(files, key=lambda f: f.path):
            relative = PurePosixPath(file.path).relative_to(under)
            for parent in reversed(relative.parents[:-1]):
                if parent not in made:
                    made.add(parent)
                    folder = tarfile.TarInfo(str(parent))
                    folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(folder)
            content = file.content.encode()
            entry = tarfile.TarInfo(str(relative))
            entry.size, entry.mode = len(content), int(file.mode, 8)
            entry.uid, entry.gid = int(file.owner), int(file.group)
            archive.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()


class Dependencies:
    """Started with `start()`, removed (containers, volumes) with `remove()`, whatever
    happened between."""

    def __init__(
        self,
        client: docker.DockerClient,
        network: str,
        services: list[RenderedContainer],
        jobs: list[RenderedContainer],
        app_image: tuple[str, str],
    ) -> None:
        """`app_image`: the app's image in the stack and the image under test. Refuses (a
        VerifyError) before anything is made when the engine lacks an image."""
        self.client, self.network = client, network
        self.services, self.jobs = services, jobs
        self.images = {c.service: self._image(c, app_image) for c in [*services, *jobs]}
        self.token = secrets.token_hex(4)
        self.containers: dict[str, Any] = {}
        self.volumes: list[Any] = []
        self._ready: VerifyError | bool = False

    def start(self) -> None:
        for service in self.services:
            self._launch(service)

    def ready(self) -> None:
        """Every service healthy by its own healthcheck, then every job run to success; done
        once (a second call says what the first found)."""
        if isinstance(self._ready, VerifyError):
            raise self._ready
        if self._ready:
            return
        try:
            for service in self.services:
                self._healthy(service)
            for job in self.jobs:
                self._job(job)
        except VerifyError as error:
            self._ready = error
            raise
        self._ready = True

    def container(self, service: str) -> Any:
        return self.containers[service]

    def address(self, service: str) -> str:
        container = self.containers[service]
        container.reload()
        return str(container.attrs["NetworkSettings"]["Networks"][self.network]["IPAddress"])

    def _image(self, rendered: RenderedContainer, app_image: tuple[str, str]) -> str:
        stack_image, under_test = app_image
        image = under_test if rendered.image == stack_image else rendered.image
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            raise VerifyError(
                f"no image {image!r} (the dev stack's {rendered.service}) on the engine: "
                "pull it first, or run with --no-dependencies"
            ) from None
        return image

    def _fill(self, image: str, volume: str, path: str, files: list[File]) -> None:
        carrier = self.client.api.create_container(
            image,
            command=["true"],
            entrypoint=[],
            host_config=self.client.api.create_host_config(
                binds={volume: {"bind": path, "mode": "rw"}}, network_mode="none"
            ),
        )
        try:
            if not self.client.api.put_archive(carrier["Id"], path, _archive(files, path)):
                raise VerifyError(f"the engine refused the files for {volume}")
        finally:
            self.client.api.remove_container(carrier["Id"], force=True)

    def _launch(self, rendered: RenderedContainer) -> Any:
        image = self.images[rendered.service]
        binds: dict[str, Mapping[str, str]] = {}
        for path, read_only in rendered.volumes.items():
            volume = self.client.volumes.create(f"vos-contract-{self.token}-{len(self.volumes)}")
            self.volumes.append(volume)
            inside = [f for p, f in rendered.files.items() if p.startswith(path.rstrip("/") + "/")]
            if inside:
                self._fill(image, volume.name, path, inside)
            binds[volume.name] = {"bind": path, "mode": "ro" if read_only else "rw"}
        api = self.client.api
        created = api.create_container(
            image,
            name=f"vos-contract-{rendered.service}-{self.token}",
            command=rendered.command or None,
            entrypoint=rendered.entrypoint or None,
            user=rendered.user or None,
            environment=rendered.env,
            hostname=rendered.service,
            host_config=api.create_host_config(
                binds=binds,
                read_only=rendered.read_only,
                cap_drop=["ALL"],
                cap_add=rendered.cap_add or None,
                security_opt=["no-new-privileges"],
                tmpfs=rendered.tmpfs,
                network_mode=self.network,
            ),
            # types-docker types the argument as one EndpointConfig; docker-py takes the
            # network -> EndpointConfig map the Engine API's EndpointsConfig is.
            networking_config=api.create_networking_config(
                {self.network: api.create_endpoint_config(aliases=[rendered.service])}  # type: ignore[arg-type]
            ),
        )
        container = self.client.containers.get(created["Id"])
        self.containers[rendered.service] = container
        container.start()
        return container

    def _healthy(self, service: RenderedContainer) -> None:
        container = self.containers[service.service]
        deadline = time.monotonic() + HEALTHY_WITHIN_S
        while time.monotonic() < deadline:
            container.reload()
            if container.status != "running":
                break
            if not service.healthcheck or container.exec_run(service.healthcheck).exit_code == 0:
                return
            time.sleep(2)
        tail = container.logs(tail=5).decode(errors="replace")
        raise VerifyError(
            f"the dev stack's {service.service} did not become healthy within "
            f"{HEALTHY_WITHIN_S} s (status {container.status}); its last output:\n{tail}"
        )

    def _job(self, job: RenderedContainer) -> None:
        container = self._launch(job)
        try:
            status = container.wait(timeout=JOB_WITHIN_S)["StatusCode"]
            why = f"failed (exit status {status})"
        except Exception:  # the client's read timeout: the job still runs
            status, why = None, f"did not finish within {JOB_WITHIN_S} s"
        if status != 0:
            tail = container.logs(tail=5).decode(errors="replace")
            raise VerifyError(f"the dev stack's job {job.service} {why}; its last output:\n{tail}")

    def remove(self) -> None:
        """Every container, then every volume, each whatever the others did."""
        for container in self.containers.values():
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                container.remove(force=True)
        for volume in self.volumes:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                volume.remove(force=True)
