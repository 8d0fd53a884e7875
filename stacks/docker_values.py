"""Values in the exact form the Docker provider reads them back, so that what the program
sets is what the state holds after every create and refresh (no diff at the next preview).

pulumi-docker 5.x bridges kreuzwerker/terraform-provider-docker v4.5.0 (pulumi-docker's
`upstream` submodule, 5074970c). Its resourceDockerContainerRead
(internal/provider/resource_docker_container_funcs.go) stores
- `cpus` as nanoInt64ToDecimalString(HostConfig.NanoCPUs) (internal/provider/helpers.go),
  parsed on create by docker's opts.ParseCPUs (an exact decimal, at most 9 places);
- healthcheck durations as Go's time.Duration.String() ("60s" comes back as "1m0s").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

NANO = 10**9

HOST_GATEWAY = "host.docker.internal"
"""How a container names the Docker host (`--add-host host.docker.internal:host-gateway`):
the dev Vault's address for the apps' sidecars (tools/dev_vault.py listens there)."""


def cpus_nanos(text: str) -> int:
    """docker/opts.ParseCPUs: the decimal times 1e9, which must be a whole number."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"cpus {text!r} is not a decimal number") from None
    nanos = value * NANO
    if nanos != nanos.to_integral_value():
        raise ValueError(f"cpus {text!r} is too precise (at most 9 decimal places)")
    return int(nanos)


def provider_cpus(nanos: int) -> str:
    """nanoInt64ToDecimalString, step by step: nine decimal places; when the text holds
    exactly nine zeros, one decimal place (rounded half away from zero, as big.Rat's
    FloatString rounds); otherwise trailing zeros stripped (10 cores give "10.")."""
    if nanos == 0:
        return "0"
    nine = _float_string(nanos, 9)
    if nine.count("0") == 9:
        return _float_string(nanos, 1)
    return nine.rstrip("0")


def _float_string(nanos: int, places: int) -> str:
    scaled = Decimal(nanos) / NANO
    quantum = Decimal(1).scaleb(-places)
    return str(scaled.quantize(quantum, rounding="ROUND_HALF_UP"))


def cpus_input(cores: float) -> str:
    """The `cpus` input for a limit in cores: the text the provider reads back for it.
    Raises ValueError when no text survives the round trip (see cpus_problem)."""
    problem = cpus_problem(cores)
    if problem:
        raise ValueError(problem)
    return provider_cpus(cpus_nanos(_decimal_text(cores)))


def cpus_problem(cores: float) -> str | None:
    """Why a CPU limit cannot be kept by the provider, or None. 0.05 is read back as "0.1"
    (a different limit: the container would be replaced at every `up`)."""
    text = _decimal_text(cores)
    try:
        nanos = cpus_nanos(text)
    except ValueError as error:
        return str(error)
    back = provider_cpus(nanos)
    if cpus_nanos(back) != nanos:
        return (
            f"cpus {text} is read back by the Docker provider as {back} (its decimal "
            f"formatting rounds it), so every `up` would replace the container"
        )
    return None


def _decimal_text(cores: float) -> str:
    # repr gives the shortest text that reads back as the same float: 0.1 stays "0.1".
    return repr(float(cores))


def go_duration(text: str) -> str:
    """A duration ("60s", "1m30s", "500ms", "2h") in Go's time.Duration.String() form,
    which is how the provider reads a healthcheck's durations back."""
    nanos = _duration_nanos(text)
    if nanos == 0:
        return "0s"
    if nanos < NANO:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if nanos >= size:
                return f"{_plain(Decimal(nanos) / size)}{unit}"
    hours, rest = divmod(nanos, 3600 * NANO)
    minutes, rest = divmod(rest, 60 * NANO)
    seconds = _plain(Decimal(rest) / NANO)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def go_short_duration(text: str) -> str:
    """A duration as the provider reads a Swarm service's durations back: Go's form with a
    trailing "0s" and then "0m" cut (terraform-provider-docker internal/provider/
    resource_docker_service_funcs.go shortDur): "60s" is "1m", "90s" is "1m30s"."""
    short = go_duration(text)
    for zero in ("m0s", "h0m"):
        if short.endswith(zero):
            short = short[:-2]
    return short


_UNITS = {"h": 3600 * NANO, "m": 60 * NANO, "s": NANO, "ms": 10**6, "us": 10**3, "µs": 10**3}


def _duration_nanos(text: str) -> int:
    """Go's time.ParseDuration for the units a healthcheck uses (non-negative only)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|h|m|s)", text)
    if text == "0":
        return 0
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"cannot read duration {text!r} (Go form, e.g. 30s, 1m30s)")
    return int(sum(Decimal(n) * _UNITS[u] for n, u in parts))


def _plain(value: Decimal) -> str:
    """Shortest positional text: 1.500 -> "1.5", 30 -> "30"."""
    return format(value.normalize(), "f")
