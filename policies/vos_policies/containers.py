"""Container runtime rules: the CIS Docker Benchmark section 5 and KICS docker-compose
checks that a docker.Container's inputs can express, plus the files-carrier rule of this
stack. Each check yields one message per violation."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pulumi_policy import Severity

from vos_policies.docker_props import long_running, never_started, number, service
from vos_policies.rule import (
    CONTAINER,
    SERVICE,
    SWARM_JOB,
    UNKNOWN,
    Rule,
    Subject,
    elements,
    get,
    list_setting,
)
from vos_policies.service_view import container_view, job_view

HIGH, MEDIUM, LOW, CRITICAL = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL


def _host_namespace(prop: str) -> Any:
    def check(c: Subject) -> Iterator[str]:
        value = c.get(prop)
        if value is UNKNOWN or (isinstance(value, str) and value.lower() == "host"):
            yield f"{prop} is {value!r}: the container shares the host's namespace"

    return check


def _privileged(c: Subject) -> Iterator[str]:
    if c.get("privileged", False) is not False:
        yield "privileged is set: the container is root on the host"


def _host_paths(c: Subject) -> list[tuple[str, Any]]:
    """(where, host path) of every bind mount, from `volumes` and `mounts`."""
    found = []
    for volume in elements(c.get("volumes")):
        host = get(volume, "hostPath")
        if host is not None:
            found.append(("volumes", host))
    for mount in elements(c.get("mounts")):
        if get(mount, "type") in ("bind", UNKNOWN):
            found.append(("mounts", get(mount, "source")))
    return found


SOCKETS = ("docker.sock", "containerd.sock", "podman.sock")
RUN_DIRS = ("/var/run", "/run")


def _socket_mount(c: Subject) -> Iterator[str]:
    for where, path in _host_paths(c):
        if path is UNKNOWN:
            yield f"{where}: a bind mount whose host path is not known"
        elif str(path).rstrip("/").endswith(SOCKETS) or str(path).rstrip("/") in (
            "/var/run",
            "/run",
        ):
            yield f"{where}: {path} gives the container control of the container engine"


SENSITIVE = ("/", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr",
             "/root", "/var/lib/docker", "/var/run", "/run", "/home")  # fmt: skip


def _allowed_path(clean: str, allowed: list[str]) -> bool:
    """An exact path, or a pattern with `*` (fnmatch: `*` also crosses `/`), so a folder of
    the project may be allowed wherever the project is checked out (the dev Vault's audit
    log: `*/.state/vault/audit`)."""
    return any(clean == a or ("*" in a and fnmatch.fnmatchcase(clean, a)) for a in allowed)


def _sensitive_paths(c: Subject) -> Iterator[str]:
    allowed = list(c.config["allowedHostPaths"])
    for where, path in _host_paths(c):
        if path is UNKNOWN:
            yield f"{where}: a bind mount whose host path is not known"
            continue
        clean = "/" + str(path).strip("/")
        if _allowed_path(clean, allowed):
            continue
        if any(clean == s or (s != "/" and clean.startswith(s + "/")) for s in SENSITIVE):
            yield f"{where}: host path {path} is a sensitive host directory"


def _propagation(c: Subject) -> Iterator[str]:
    for mount in elements(c.get("mounts")):
        propagation = get(get(mount, "bindOptions", {}), "propagation")
        if propagation is UNKNOWN or propagation in ("shared", "rshared", "slave", "rslave"):
            yield f"mount {get(mount, 'target')}: propagation {propagation!r} leaks mounts"


def _capabilities(c: Subject) -> tuple[list[Any], list[Any]]:
    caps = c.get("capabilities", {})
    return elements(get(caps, "drops", [])), elements(get(caps, "adds", []))


def _drop_all(c: Subject) -> Iterator[str]:
    drops, _ = _capabilities(c)
    if "ALL" not in drops:
        yield f"capabilities.drops is {drops}; it must contain ALL"


NEVER_ADD = {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH",
             "SYS_RAWIO", "SYS_BOOT", "BPF", "PERFMON", "MAC_ADMIN", "SYS_TIME"}  # fmt: skip


def _added(c: Subject) -> Iterator[str]:
    _, adds = _capabilities(c)
    allowed = set(c.config["allowedCapabilities"]) - NEVER_ADD
    for cap in adds:
        if cap is UNKNOWN or str(cap).upper().removeprefix("CAP_") not in allowed:
            yield f"capability {cap} is added; allowed: {sorted(allowed) or 'none'}"


def _security_opts(c: Subject) -> list[str]:
    return [str(o).replace("=", ":") for o in elements(c.get("securityOpts"))]


def _no_new_privileges(c: Subject) -> Iterator[str]:
    if c.type in (SERVICE, SWARM_JOB):
        if c.config["enginesSetNoNewPrivileges"] is not True:
            yield ("a Swarm service cannot set no-new-privileges: its engines' daemon.json must "
                   "(`no-new-privileges: true`), and the pack's config must say so")  # fmt: skip
        return
    options = _security_opts(c)
    if not ({"no-new-privileges", "no-new-privileges:true"} & set(options)):
        yield "securityOpts lacks no-new-privileges:true (setuid binaries could escalate)"


def _unconfined(c: Subject) -> Iterator[str]:
    for option in _security_opts(c):
        if option in ("seccomp:unconfined", "apparmor:unconfined", "label:disable", "UNKNOWN"):
            yield f"securityOpts {option} turns a kernel confinement off"


def _read_only(c: Subject) -> Iterator[str]:
    if never_started(c):
        return  # a files carrier: see files-carrier-never-runs
    if c.get("readOnly", False) is not True:
        yield "readOnly is not true: the root filesystem is writable"


def _carrier(c: Subject) -> Iterator[str]:
    """A container with a writable root filesystem must never run (a files carrier)."""
    if c.get("readOnly", False) is True:
        return
    if not never_started(c) or c.get("mustRun", True) is not False:
        return  # read-only-root-filesystem reports it
    if c.get("networkMode") != "none" or elements(c.get("networksAdvanced")):
        yield "a never-started container with a writable root must have no network"
    drops, adds = _capabilities(c)
    if "ALL" not in drops or adds:
        yield "a never-started container with a writable root must drop every capability"
    if elements(c.get("ports")):
        yield "a never-started container must publish nothing"


def _non_root(c: Subject) -> Iterator[str]:
    if never_started(c) or service(c) in set(c.config["allowedRootServices"]):
        return
    user = c.get("user", "")
    uid = str(user).split(":")[0] if user is not UNKNOWN else "?"
    if uid in ("", "0", "root", "?"):
        yield f"user is {user!r}: the process runs as root"


def _memory(c: Subject) -> Iterator[str]:
    if never_started(c):
        return
    memory, swap = number(c.get("memory")), number(c.get("memorySwap"))
    if not memory or memory <= 0:
        yield "memory is not limited"
    elif swap is not None and swap != memory:
        yield f"memorySwap {swap} lets the container swap beyond its memory limit {memory}"


def _cpu(c: Subject) -> Iterator[str]:
    if never_started(c):
        return
    cpus = c.get("cpus")
    try:
        limited = cpus not in (None, UNKNOWN) and float(cpus) > 0
    except ValueError:
        limited = False
    if not limited and not number(c.get("cpuShares")):
        yield "cpus is not limited"


def _healthcheck(c: Subject) -> Iterator[str]:
    if not long_running(c):
        return
    tests = elements(get(c.get("healthcheck", {}), "tests", []))
    if not tests or tests[0] == "NONE":
        yield "no healthcheck: the engine cannot tell a hung service from a healthy one"


def _restart(c: Subject) -> Iterator[str]:
    restart = c.get("restart", "no")
    if long_running(c) and restart not in ("unless-stopped", "always", "on-failure"):
        yield f"restart is {restart!r}: a long-running service must come back after a failure"
    if not long_running(c) and not never_started(c) and restart != "no":
        yield f"restart is {restart!r}: a one-shot job must run once"


def _logs(c: Subject) -> Iterator[str]:
    if never_started(c):
        return
    driver = c.get("logDriver", "json-file")
    options = c.get("logOpts", {})
    if driver in ("json-file", "local"):
        if not get(options, "max-size") or not get(options, "max-file"):
            yield f"logDriver {driver} without max-size and max-file fills the disk"
    elif driver not in set(c.config["allowedLogDrivers"]):
        yield f"logDriver {driver!r} is not an allowed log driver"


def _networks(c: Subject) -> Iterator[str]:
    mode = c.get("networkMode", "bridge")
    if mode == "none" and not elements(c.get("networksAdvanced")):
        return
    if not elements(c.get("networksAdvanced")):
        yield f"no user-defined network: networkMode {mode!r} shares Docker's default bridge"


def _devices(c: Subject) -> Iterator[str]:
    allowed = set(c.config["allowedDevices"])
    for device in elements(c.get("devices")):
        path = get(device, "hostPath")
        if path not in allowed:
            yield f"host device {path} is passed to the container"
    if c.get("gpus") not in (None, ""):
        yield "gpus are passed to the container"


def _publish_all(c: Subject) -> Iterator[str]:
    if c.get("publishAllPorts", False) is not False:
        yield "publishAllPorts publishes every exposed port on every interface"


def _as_container(check: Any) -> Any:
    """A Swarm service is held to a container rule as the container its tasks run."""

    def checked(c: Subject) -> Iterator[str]:
        if c.type == SERVICE:
            c = replace(c, props=container_view(c.props))
        elif c.type == SWARM_JOB:
            c = replace(c, props=job_view(c.props))
        return check(c)  # type: ignore[no-any-return]

    return checked


def _rule(name: str, description: str, remediation: str, severity: Severity, check: Any,
          **config: Any) -> Rule:  # fmt: skip
    return Rule(name, "containers", description, remediation, severity, _as_container(check),
                (CONTAINER, SERVICE, SWARM_JOB), config)  # fmt: skip


RULES = [
    _rule("no-privileged-containers", "Containers must not run privileged.",
          "Remove `privileged`; add only the capability the service needs.", CRITICAL,
          _privileged),
    _rule("no-host-network", "Containers must not share the host's network namespace.",
          "Remove `network_mode=host`; attach the container to a user-defined network.",
          CRITICAL, _host_namespace("networkMode")),
    _rule("no-host-pid", "Containers must not share the host's process namespace.",
          "Remove `pid_mode=host`.", CRITICAL, _host_namespace("pidMode")),
    _rule("no-host-ipc", "Containers must not share the host's IPC namespace.",
          "Remove `ipc_mode=host`.", HIGH, _host_namespace("ipcMode")),
    _rule("no-host-user-namespace", "Containers must not use the host's user namespace.",
          "Remove `userns_mode=host`.", HIGH, _host_namespace("usernsMode")),
    _rule("no-host-cgroup-namespace", "Containers must not use the host's cgroup namespace.",
          "Remove `cgroupns_mode=host`.", MEDIUM, _host_namespace("cgroupnsMode")),
    _rule("no-container-engine-socket", "No container may mount the container engine's socket.",
          "Remove the docker.sock (or /var/run) mount; a socket mount is root on the host. "
          "Ship logs without it (see docs/ARCHITECTURE.md).", CRITICAL, _socket_mount),
    _rule("no-sensitive-host-paths", "Containers must not bind-mount sensitive host folders.",
          "Use a named volume, or allow-list the path (or a `*` pattern) in allowedHostPaths.",
          HIGH,
          _sensitive_paths,
          allowedHostPaths=list_setting("host paths that may be bind-mounted", [])),
    _rule("no-shared-mount-propagation", "Bind mounts must not propagate mounts to or from "
          "the host.", "Drop `bind_options.propagation` (the default is private).", HIGH,
          _propagation),
    _rule("drop-all-capabilities", "Containers must drop every Linux capability.",
          "Set `capabilities.drops=['ALL']` and add back only what is needed.", HIGH,
          _drop_all),
    _rule("no-dangerous-capabilities", "Containers may add back only allow-listed, "
          "non-administrative capabilities.", "Remove the added capability or allow-list "
          "it in allowedCapabilities (SYS_ADMIN, NET_ADMIN and the like never are).", HIGH,
          _added,
          allowedCapabilities=list_setting("capabilities a container may add back", [])),
    _rule("no-new-privileges", "Containers must run with no-new-privileges.",
          "Add `no-new-privileges:true` to `security_opts`; for Swarm services, run the "
          "engines with the host layer's daemon.json (ansible/roles/docker_engine) and set "
          "enginesSetNoNewPrivileges.", HIGH, _no_new_privileges,
          enginesSetNoNewPrivileges={
              "type": "boolean", "default": False,
              "description": "the Swarm's engines run with no-new-privileges in daemon.json"}),
    _rule("keep-kernel-confinement", "Seccomp, AppArmor and SELinux confinement must stay on.",
          "Remove the `unconfined`/`label:disable` security option.", HIGH, _unconfined),
    _rule("read-only-root-filesystem", "Every container that runs has a read-only root "
          "filesystem.", "Set `read_only=True`; give it tmpfs for scratch space and a volume "
          "for data; deliver files through its files carrier.", HIGH, _read_only),
    _rule("files-carrier-never-runs", "A container with a writable root filesystem is a files "
          "carrier: never started, no network, no capability, nothing published.",
          "Create it with start=False, network_mode='none', capabilities drops ['ALL'] and "
          "no ports, or make it read-only.", HIGH, _carrier),
    _rule("non-root-user", "Containers run as a non-root user unless allow-listed.",
          "Set `user` to the image's unprivileged uid:gid, or allow-list the service in "
          "allowedRootServices with the reason beside the policy config.", MEDIUM, _non_root,
          allowedRootServices=list_setting("services whose image must run as root", [])),
    _rule("memory-limit", "Every running container has a memory limit and no extra swap.",
          "Set `memory` (MB) and `memory_swap` equal to it.", MEDIUM, _memory),
    _rule("cpu-limit", "Every running container has a CPU limit.",
          "Set `cpus` (services.<service>.cpus in the settings).", MEDIUM, _cpu),
    _rule("healthcheck-defined", "Every long-running container has a healthcheck.",
          "Add a `healthcheck` that probes the service itself.", MEDIUM, _healthcheck),
    _rule("restart-policy", "Long-running containers restart after a failure; jobs run once.",
          "Use restart='unless-stopped' for services and restart='no' for one-shot jobs.", LOW,
          _restart),
    _rule("log-rotation", "Container logs are rotated (or shipped by an allowed driver).",
          "Set log_opts max-size and max-file for json-file/local.", LOW, _logs,
          allowedLogDrivers=list_setting("other log drivers allowed", [])),
    _rule("user-defined-network", "Containers join user-defined networks, never Docker's "
          "default bridge.", "Attach it with `networks_advanced`.", MEDIUM, _networks),
    _rule("no-host-devices", "No host device or GPU reaches a container unless allow-listed.",
          "Remove `devices`/`gpus`, or allow-list the device path.", HIGH, _devices,
          allowedDevices=list_setting("host device paths allowed", [])),
    _rule("no-publish-all-ports", "Containers never publish all their ports.",
          "Remove `publish_all_ports`; publish the TLS port through network.publishedPorts.",
          HIGH, _publish_all),
]  # fmt: skip
