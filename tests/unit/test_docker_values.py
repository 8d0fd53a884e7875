"""Values in the form the Docker provider reads them back (stacks/docker_values.py),
against the provider's own algorithm traced by hand from internal/provider/helpers.go
nanoInt64ToDecimalString (terraform-provider-docker v4.5.0)."""

from __future__ import annotations

import pytest

from stacks.docker_values import (
    cpus_input,
    cpus_nanos,
    cpus_problem,
    go_duration,
    go_short_duration,
    provider_cpus,
)


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (500_000_000, "0.5"),  # "0.500000000" holds nine zeros: one place
        (250_000_000, "0.25"),  # eight zeros: trailing zeros stripped
        (1_000_000_000, "1.0"),
        (10_000_000_000, "10."),  # ten zeros: stripped down to the point
        (50_000_000, "0.1"),  # nine zeros: rounded to one place
        (1_500_000_000, "1.5"),
        (125_000_000, "0.125"),
        (0, "0"),
    ],
)
def test_the_provider_formats_nano_cpus_as_it_does(nanos: int, text: str) -> None:
    assert provider_cpus(nanos) == text


@pytest.mark.parametrize("cores", [0.5, 0.25, 1, 2, 10, 0.1, 1.5, 0.125, 64])
def test_a_limit_that_survives_the_round_trip_is_set_as_it_comes_back(cores: float) -> None:
    text = cpus_input(cores)
    assert cpus_nanos(text) == round(cores * 10**9)
    assert provider_cpus(cpus_nanos(text)) == text  # what Read stores is what was set


@pytest.mark.parametrize(("cores", "back"), [(0.05, "0.1"), (0.001, "0.0"), (0.03, "0.0")])
def test_a_limit_the_provider_rounds_is_refused_with_what_it_would_become(
    cores: float, back: str
) -> None:
    problem = cpus_problem(cores)
    assert problem is not None and f"read back by the Docker provider as {back}" in problem
    with pytest.raises(ValueError, match="every `up` would replace"):
        cpus_input(cores)


def test_too_precise_a_limit_is_refused() -> None:
    assert "too precise" in str(cpus_problem(0.1234567891))


@pytest.mark.parametrize(
    ("given", "go"),
    [
        ("60s", "1m0s"),
        ("10s", "10s"),
        ("90s", "1m30s"),
        ("3600s", "1h0m0s"),
        ("1m30s", "1m30s"),
        ("0s", "0s"),
        ("500ms", "500ms"),
        ("1.5s", "1.5s"),
        ("120s", "2m0s"),
    ],
)
def test_durations_are_written_as_go_prints_them(given: str, go: str) -> None:
    assert go_duration(given) == go


@pytest.mark.parametrize(
    ("given", "short"),
    [("60s", "1m"), ("90s", "1m30s"), ("3600s", "1h"), ("3660s", "1h1m"), ("5s", "5s"),
     ("0s", "0s"), ("500ms", "500ms"), ("7200s", "2h")],
)  # fmt: skip
def test_swarm_durations_are_written_as_the_provider_reads_them_back(
    given: str, short: str
) -> None:
    assert go_short_duration(given) == short


def test_a_duration_go_cannot_read_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        go_duration("1 minute")


def test_the_settings_refuse_such_a_limit_naming_the_key_before_anything_is_created() -> None:
    from components.registry import REGISTRY
    from stacks import load_settings
    from stacks.problems import SettingsError
    from tests.helpers import stack_overrides

    overrides = stack_overrides("dev")
    overrides["services"] = {**overrides.get("services", {}), "jaeger": {"cpus": 0.05}}
    with pytest.raises(SettingsError, match=r"services\.jaeger\.cpus.*read back .* as 0\.1"):
        load_settings("dev", overrides, REGISTRY)
