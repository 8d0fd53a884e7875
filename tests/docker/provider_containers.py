"""The pulumi-docker container's create, read, update and delete on a real Docker engine,
each following the function of terraform-provider-docker v4.5.0 (5074970c,
internal/provider/resource_docker_container_funcs.go) named above it. tests/docker/provider.py
says how inputs arrive and what the rest of the provider does."""

from __future__ import annotations

import io
import re
import tarfile
import time
from typing import Any

import docker.errors
import docker.types

from stacks.docker_values import cpus_nanos, provider_cpus
from tests.docker.engine import Engine
from tests.docker.provider_errors import PartialCreate, ProviderError, unknown_inputs
from tests.docker.provider_labels import label_map

MiB = 1024 * 1024


def _duration_ns(text: str) -> int:
    """Go's time.ParseDuration for the units the program uses (h, m, s, ms)."""
    units = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6}
    parts = re.findall(r"(\d+)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ProviderError(f"cannot parse duration {text!r}")
    return sum(int(n) * units[u] for n, u in parts)


def _go_duration(nanos: int) -> str:
    """time.Duration.String() for whole milliseconds and up (what Read stores)."""
    if nanos == 0:
        return "0s"
    if nanos < 10**9:
        return f"{nanos // 10**6}ms"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = f"{rest / 10**9:g}" if rest % 10**9 else str(rest // 10**9)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


class ContainerProvider:
    engine: Engine

    def create_container(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, set(self.CONTAINER_INPUTS), "container")
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
        # NanoCPUs from `cpus`, network mode (schema default "bridge"), Init from `init`
        # (`d.Get("init")`: false unless set).
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
            # opts.ParseCPUs: exact decimal arithmetic, not a float.
            nano_cpus=cpus_nanos(str(inputs["cpus"])) if inputs.get("cpus") else None,
            network_mode=inputs.get("networkMode") or "bridge",
            init=bool(inputs.get("init")),
            # ExtraHosts "host:ip" per `hosts` block (resource_docker_container_structures.go,
            # extraHostsSetToContainerExtraHosts); the daemon resolves `host-gateway`.
            extra_hosts=[f"{h['host']}:{h['ip']}" for h in inputs.get("hosts") or []] or None,
            # `ulimit` blocks (ulimitsToDockerUlimits)
            ulimits=[
                docker.types.Ulimit(name=u["name"], soft=int(u["soft"]), hard=int(u["hard"]))
                for u in inputs.get("ulimits") or []
            ]
            or None,
        )
        created = api.create_container(
            image=inputs["image"],
            command=inputs.get("command") or None,
            hostname=inputs.get("hostname") or None,
            user=inputs.get("user") or "",
            environment=inputs.get("envs") or None,
            entrypoint=inputs.get("entrypoints") or None,
            labels=label_map(inputs.get("labels")) or None,
            healthcheck=healthcheck,
            volumes=[v["containerPath"] for v in inputs.get("volumes") or []] or None,
            ports=[(int(p["internal"]), p.get("protocol", "tcp")) for p in ports] or None,
            host_config=host_config,
            name=inputs.get("name"),
        )
        container_id = created["Id"]
        # d.SetId(retContainer.ID): from here on a failure leaves this state behind.
        state = {**inputs, "id": container_id}
        try:
            self._connect_upload_start(container_id, inputs)
        except (ProviderError, docker.errors.APIError) as error:
            raise PartialCreate(str(error), state) from error
        # The create ends with resourceDockerContainerRead.
        read = self.read_container(container_id, state)
        if read is None:
            raise ProviderError(f"container {container_id} vanished during its create")
        return read

    def _connect_upload_start(self, container_id: str, inputs: dict[str, Any]) -> None:
        api = self.engine.api()
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
        # CopyToContainer to "/" with CopyToContainerOptions{} (docker's client then sends
        # noOverwriteDirNonDir=true: client/container_copy.go).
        for upload in inputs.get("uploads") or []:
            _copy_to_container(api, container_id, _archive(upload))
        if inputs.get("start", True):
            api.start(container_id)
            if inputs.get("wait"):
                self._wait_healthy(container_id, int(inputs.get("waitTimeout") or 60))
        if inputs.get("attach"):
            api.wait(container_id)

    # -- resource_docker_container_funcs.go: resourceDockerContainerRead ----------------
    def read_container(self, container_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        """What Read stores, for the inputs the program sets: None when the container is
        gone (removed from the state). Environment and labels are not read (the source says
        why); `networksAdvanced` only when the state has none (import)."""
        try:
            found = self.engine.api().inspect_container(container_id)
        except docker.errors.NotFound:
            return None
        config, host = found["Config"], found["HostConfig"]
        read = dict(state)
        running = bool(found["State"]["Running"])
        if (running or state.get("mustRun", True)) and state.get("ports"):
            read["ports"] = _flatten_ports(found["NetworkSettings"]["Ports"] or {})
        if not running:
            read["exitCode"] = int(found["State"]["ExitCode"])
            if state.get("mustRun", True):
                read["mustRun"] = False  # drift: the next update starts it
        image = str(state.get("image") or "")
        read.update(
            id=found["Id"],
            name=found["Name"].lstrip("/"),
            readOnly=bool(host["ReadonlyRootfs"]),
            init=bool(host.get("Init")),  # a nil Init reads as false
            image=found["Image"] if image.startswith("sha256:") else config["Image"],
            hostname=config["Hostname"],
            command=config["Cmd"] or [],
            entrypoints=config["Entrypoint"] or [],
            user=config["User"],
            securityOpts=host.get("SecurityOpt") or [],
            restart=host["RestartPolicy"]["Name"],
            maxRetryCount=host["RestartPolicy"]["MaximumRetryCount"],
            mounts=[m for m in (state.get("mounts") or [])],
            tmpfs=host.get("Tmpfs") or {},
            hosts=_flatten_hosts(host.get("ExtraHosts") or []),
            memory=host["Memory"] // MiB,
            memorySwap=host["MemorySwap"] // MiB if host["MemorySwap"] > 0 else host["MemorySwap"],
            cpuShares=host.get("CpuShares") or 0,
            logDriver=host["LogConfig"]["Type"],
            # containerLogOptsForState: the daemon's map when the config sets log_opts.
            logOpts=host["LogConfig"]["Config"] if state.get("logOpts") else None,
            networkMode=host["NetworkMode"],
            # flattenUlimits(HostConfig.Ulimits): the daemon's default-ulimits merged in.
            ulimits=[
                {"name": u["Name"], "soft": u["Soft"], "hard": u["Hard"]}
                for u in host.get("Ulimits") or []
            ],
        )
        if host.get("CapAdd") or host.get("CapDrop"):
            adds, drops = host.get("CapAdd") or [], host.get("CapDrop") or []
            read["capabilities"] = {"adds": adds, "drops": drops}
        if host.get("NanoCpus"):
            read["cpus"] = provider_cpus(int(host.get("NanoCpus")))
        check = config.get("Healthcheck")
        if check is not None:
            read["healthcheck"] = {
                "tests": check.get("Test") or [],
                "interval": _go_duration(int(check.get("Interval") or 0)),
                "timeout": _go_duration(int(check.get("Timeout") or 0)),
                "startPeriod": _go_duration(int(check.get("StartPeriod") or 0)),
                "startInterval": _go_duration(int(check.get("StartInterval") or 0)),
                "retries": int(check.get("Retries") or 0),
            }
        return read

    # -- resource_docker_container_funcs.go: resourceDockerContainerUpdate --------------
    UPDATED = (
        "restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet",
        "memorySwap",
    )  # fmt: skip

    def update_container(
        self, container_id: str, old: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        """Starts a container whose mustRun went from false to true, and applies the
        resources and restart policy when one of them changed. Nothing else reaches the
        engine. It ends without a Read: the state is the planned one."""
        api = self.engine.api()
        if not old.get("mustRun", True) and new.get("mustRun", True) and new.get("start", True):
            api.start(container_id)
        if any(old.get(k) != new.get(k) for k in self.UPDATED):
            swap = int(new.get("memorySwap") or 0)
            api.update_container(
                container_id,
                cpu_shares=int(new.get("cpuShares") or 0) or None,
                mem_limit=int(new.get("memory") or 0) * MiB or None,
                memswap_limit=swap * MiB if swap > 0 else (swap or None),
                restart_policy={
                    "Name": new.get("restart") or "no",
                    "MaximumRetryCount": int(new.get("maxRetryCount") or 0),
                },
            )
        return {**old, **new, "id": container_id}

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


def _copy_to_container(api: Any, container_id: str, archive: bytes) -> None:
    """PUT /containers/{id}/archive?path=/&noOverwriteDirNonDir=true, as docker's Go client
    sends it for CopyToContainerOptions{} (docker-py's put_archive leaves it out)."""
    url = api._url("/containers/{0}/archive", container_id)
    response = api._put(url, params={"path": "/", "noOverwriteDirNonDir": "true"}, data=archive)
    api._raise_for_status(response)


def _flatten_ports(ports: dict[str, Any]) -> list[dict[str, Any]]:
    """flattenContainerPorts: one entry per binding, in port/protocol order."""
    flat = []
    for key in sorted(ports, key=lambda k: (int(k.split("/")[0]), k.split("/")[1])):
        internal, protocol = key.split("/")
        for binding in ports[key] or []:
            flat.append(
                {
                    "internal": int(internal),
                    "external": int(binding["HostPort"]),
                    "ip": binding["HostIp"],
                    "protocol": protocol,
                }
            )
    return flat


def _flatten_hosts(extra: list[str]) -> list[dict[str, str]]:
    """flattenExtraHosts: "host:ip" entries back into host blocks."""
    return [dict(zip(("host", "ip"), entry.split(":", 1), strict=True)) for entry in extra]


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
