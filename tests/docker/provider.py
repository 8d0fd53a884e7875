"""The pulumi-docker provider's create and delete, performed on a real Docker engine.

Numbers reach a provider as protobuf doubles; the bridge turns them into the schema's
integers, and so does this module.

pulumi-docker 5.x bridges kreuzwerker/terraform-provider-docker (v4.5.0, read at
5074970c; pulumi-docker's `upstream` submodule). Each step below names the function it
follows in that provider's internal/provider/ sources. Inputs arrive as the program
registers them (camelCase, secrets unwrapped, as the engine hands them to a provider);
an input this module does not map is an error, so nothing the program sets is ignored.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors

from tests.docker.engine import Engine

NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/remoteImage:RemoteImage"
BUILD = "docker:index/image:Image"
CONTAINER = "docker:index/container:Container"

MiB = 1024 * 1024


class ProviderError(RuntimeError):
    """What the provider would report as the resource's failure."""


def _duration_ns(text: str) -> int:
    """Go's time.ParseDuration for the units the program uses (h, m, s, ms)."""
    units = {"h": 3600e9, "m": 60e9, "s": 1e9, "ms": 1e6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ProviderError(f"cannot parse duration {text!r}")
    return int(sum(float(n) * units[u] for n, u in parts))


def _unknown(inputs: dict[str, Any], known: set[str], what: str) -> None:
    extra = {k for k, v in inputs.items() if v not in (None, [], {}, "")} - known
    if extra:
        raise ProviderError(f"{what}: inputs this emulation does not map: {sorted(extra)}")


class DockerProvider:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- resource_docker_network_funcs.go: resourceDockerNetworkCreate ------------------
    def create_network(self, inputs: dict[str, Any]) -> dict[str, Any]:
        _unknown(
            inputs, {"name", "internal", "driver", "options", "attachable", "labels"}, "network"
        )
        created = self.engine.api().create_network(
            inputs["name"],
            driver=inputs.get("driver") or None,
            options=inputs.get("options") or None,
            internal=bool(inputs.get("internal")),
            attachable=bool(inputs.get("attachable")),
            labels={x["label"]: x["value"] for x in inputs.get("labels") or []} or None,
        )
        return {**inputs, "id": created["Id"]}

    # -- resource_docker_volume.go: resourceDockerVolumeCreate --------------------------
    def create_volume(self, inputs: dict[str, Any]) -> dict[str, Any]:
        _unknown(inputs, {"name", "driver", "driverOpts", "labels"}, "volume")
        created = self.engine.api().create_volume(
            inputs["name"],
            driver=inputs.get("driver") or None,
            driver_opts=inputs.get("driverOpts"),
        )
        return {**inputs, "id": created["Name"], "mountpoint": created["Mountpoint"]}

    # -- resource_docker_image_funcs.go: resourceDockerImageCreate -> findImage ---------
    def create_image(self, inputs: dict[str, Any]) -> dict[str, Any]:
        _unknown(inputs, {"name", "keepLocally"}, "remote image")
        try:
            found = self.engine.api().inspect_image(inputs["name"])
        except docker.errors.ImageNotFound:
            # findImage would pull it now; no registry is reachable here.
            raise ProviderError(f"unable to pull image {inputs['name']}: no registry") from None
        return {**inputs, "id": found["Id"], "imageId": found["Id"]}

    # -- pulumi-docker provider/image.go: the native Image resource, skipPush -----------
    def create_build(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Build the context and tag it `imageName`, without pushing (skipPush). The dockerfile
        is a path of its own (marshalBuildAndApplyDefaults); here it lies in the context.
        The classic builder stands in for BuildKit."""
        _unknown(inputs, {"build", "imageName", "skipPush", "buildOnPreview"}, "image build")
        if inputs.get("skipPush") is not True:
            raise ProviderError("only skipPush builds are emulated: no registry here")
        build = inputs["build"]
        _unknown(build, {"context", "dockerfile"}, "image build args")
        context = Path(build["context"])
        dockerfile = Path(build.get("dockerfile") or context / "Dockerfile")
        image, _ = self.engine.client().images.build(
            path=str(context),
            dockerfile=str(dockerfile.relative_to(context)),
            tag=inputs["imageName"],
            rm=True,
            forcerm=True,
        )
        return {
            **inputs,
            "id": image.id,
            "repoDigest": image.id,
            "baseImageName": inputs["imageName"],
        }

    # -- resource_docker_container_funcs.go: resourceDockerContainerCreate ---------------
    CONTAINER_INPUTS = frozenset(
        {
            "name", "image", "hostname", "envs", "command", "entrypoints", "user", "ports",
            "volumes", "labels", "healthcheck", "tmpfs", "readOnly", "logDriver", "logOpts",
            "capabilities", "securityOpts", "memory", "memorySwap", "cpus", "restart",
            "mustRun", "attach", "logs", "wait", "waitTimeout", "start", "networkMode",
            "networksAdvanced", "destroyGraceSeconds", "uploads", "hosts",
        }
    )  # fmt: skip

    def create_container(self, inputs: dict[str, Any]) -> dict[str, Any]:
        _unknown(inputs, set(self.CONTAINER_INPUTS), "container")
        api = self.engine.api()
        # container.Config: image, hostname, env, cmd, entrypoint, user, exposed ports,
        # volumes, labels, healthcheck.
        ports = inputs.get("ports") or []
        binds = [
            f"{v['volumeName']}:{v['containerPath']}:{'ro' if v.get('readOnly') else 'rw'}"
            for v in inputs.get("volumes") or []
        ]
        healthcheck = None
        if inputs.get("healthcheck"):
            check = inputs["healthcheck"]
            healthcheck = {
                "test": check["tests"],
                "interval": _duration_ns(check.get("interval", "0s")),
                "timeout": _duration_ns(check.get("timeout", "0s")),
                "start_period": _duration_ns(check.get("startPeriod", "0s")),
                "retries": int(check.get("retries", 0)),
            }
        # container.HostConfig: restart, read-only rootfs, log config, tmpfs, port bindings,
        # binds, capabilities, security options, memory (MB -> bytes), memory swap,
        # NanoCPUs from `cpus`, network mode (schema default "bridge"), init=false.
        capabilities = inputs.get("capabilities") or {}
        swap = int(inputs.get("memorySwap") or 0)
        host_config = api.create_host_config(
            restart_policy={"Name": inputs.get("restart") or "no", "MaximumRetryCount": 0},
            read_only=bool(inputs.get("readOnly")),
            log_config={"Type": inputs.get("logDriver") or "", "Config": inputs.get("logOpts")},
            tmpfs=inputs.get("tmpfs") or None,
            port_bindings={
                f"{int(p['internal'])}/{p.get('protocol', 'tcp')}": [
                    (p.get("ip", ""), int(p["external"]))
                ]
                for p in ports
                if "external" in p or "ip" in p
            }
            or None,
            binds=binds or None,
            cap_add=capabilities.get("adds") or None,
            cap_drop=capabilities.get("drops") or None,
            security_opt=inputs.get("securityOpts") or None,
            mem_limit=int(inputs["memory"]) * MiB if inputs.get("memory") else None,
            memswap_limit=swap * MiB if swap > 0 else (swap or None),
            nano_cpus=int(float(inputs["cpus"]) * 1e9) if inputs.get("cpus") else None,
            network_mode=inputs.get("networkMode") or "bridge",
            init=False,
            # ExtraHosts "host:ip" per `hosts` block (resource_docker_container_structures.go,
            # extraHostsSetToContainerExtraHosts); the daemon resolves `host-gateway`.
            extra_hosts=[f"{h['host']}:{h['ip']}" for h in inputs.get("hosts") or []] or None,
        )
        created = api.create_container(
            image=inputs["image"],
            command=inputs.get("command") or None,
            hostname=inputs.get("hostname") or None,
            user=inputs.get("user") or "",
            environment=inputs.get("envs") or None,
            entrypoint=inputs.get("entrypoints") or None,
            labels={x["label"]: x["value"] for x in inputs.get("labels") or []} or None,
            healthcheck=healthcheck,
            volumes=[v["containerPath"] for v in inputs.get("volumes") or []] or None,
            ports=[(int(p["internal"]), p.get("protocol", "tcp")) for p in ports] or None,
            host_config=host_config,
            name=inputs.get("name"),
        )
        container_id = created["Id"]
        # networks_advanced: disconnect the default bridge, connect each network with its
        # aliases.
        if inputs.get("networksAdvanced"):
            try:
                api.disconnect_container_from_network(container_id, "bridge")
            except docker.errors.APIError as error:
                if "is not connected to the network bridge" not in str(error):
                    raise
            for network in inputs["networksAdvanced"]:
                api.connect_container_to_network(
                    container_id, network["name"], aliases=network.get("aliases") or None
                )
        # upload: one tar archive per upload, the file at its full path with the upload's
        # mode (permissions, else 0744 executable / 0644) and owner/group ids, copied with
        # CopyToContainer to "/". (Owner and group reached pulumi-docker 5.2 from upstream
        # kreuzwerker/terraform-provider-docker#996; numeric ids are used directly.)
        for upload in inputs.get("uploads") or []:
            api.put_archive(container_id, "/", _archive(upload))
        exit_code = None
        if inputs.get("start", True):
            api.start(container_id)
            if inputs.get("wait"):
                self._wait_healthy(container_id, int(inputs.get("waitTimeout") or 60))
        if inputs.get("attach"):
            exit_code = int(api.wait(container_id)["StatusCode"])
        # resourceDockerContainerRead: a container that is not running reports its code.
        state = api.inspect_container(container_id)["State"]
        if not state["Running"]:
            exit_code = int(state["ExitCode"])
        return {**inputs, "id": container_id, "exitCode": exit_code}

    def _wait_healthy(self, container_id: str, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.engine.api().inspect_container(container_id)["State"]
            health = state.get("Health")
            if health is None:
                raise ProviderError("'wait' without a healthcheck")
            if health["Status"] == "healthy":
                return
            time.sleep(1)
        log = (health or {}).get("Log") or [{}]
        raise ProviderError(
            f"container failed to be in healthy state (last probe: {log[-1].get('Output')!r})"
        )

    # -- resource_docker_container_funcs.go: resourceDockerContainerDelete ---------------
    def delete_container(self, container_id: str, inputs: dict[str, Any]) -> None:
        api = self.engine.api()
        try:
            if not inputs.get("attach"):
                api.stop(container_id, timeout=int(inputs.get("destroyGraceSeconds") or 0))
            api.remove_container(container_id, force=True, v=True)  # remove_volumes default
        except docker.errors.NotFound:
            pass  # "No such container" is ignored

    def create(self, type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        creators: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            NETWORK: self.create_network,
            VOLUME: self.create_volume,
            IMAGE: self.create_image,
            BUILD: self.create_build,
            CONTAINER: self.create_container,
        }
        if type_ not in creators:
            raise ProviderError(f"no emulation of {type_}")
        return creators[type_](inputs)


def _archive(upload: dict[str, Any]) -> bytes:
    content = str(upload.get("content") or "").encode()
    mode = 0o744 if upload.get("executable") else 0o644
    if upload.get("permissions"):
        mode = int(upload["permissions"], 8)
    header = tarfile.TarInfo(upload["file"])
    header.size, header.mode, header.mtime = len(content), mode, int(time.time())
    header.uid, header.gid = int(upload.get("owner") or 0), int(upload.get("group") or 0)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(header, io.BytesIO(content))
    return buffer.getvalue()
