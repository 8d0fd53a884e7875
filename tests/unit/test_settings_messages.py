"""What a user sees when the settings are wrong: one clear message per cause, a `Fix:`
that works when run as printed, nothing misread."""

from __future__ import annotations

import copy
import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.registry import REGISTRY
from stacks import SettingsError, load_settings, values
from stacks.loader import PROFILES_DIR
from stacks.values import YamlFileError, load_yaml
from tools.offline.runner import evaluate
from tools.offline.stack_files import StackConfig, read_stack_config

DEV: dict[str, Any] = {"environment": "dev"}


def problems(config: dict[str, Any], stack: str = "dev", **kwargs: Any) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load_settings(stack, config, REGISTRY, **kwargs)
    return caught.value


def test_a_yaml_error_in_a_profile_is_one_message_with_file_line_and_column(
    tmp_path: Path,
) -> None:
    (tmp_path / "dev.yaml").write_text("environment: dev\nservices:\n  postgres: {enabled: true\n")
    with pytest.raises(YamlFileError) as caught:
        load_settings("dev", DEV, REGISTRY, profiles_dir=tmp_path)
    message = str(caught.value)
    assert message.count("\n") == 0 and "dev.yaml is not valid YAML at line 4, column 1" in message


def test_a_yaml_error_in_a_stack_file_is_one_message(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  vos-infra:environment: dev\n bad\n")
    with pytest.raises(YamlFileError, match=r"Pulumi.broken.yaml is not valid YAML at line 3"):
        read_stack_config("broken", tmp_path)


def test_a_yaml_error_names_what_is_wrong(tmp_path: Path) -> None:
    # libyaml reads the file; its refusal is explained by PyYAML's own parser, which names
    # the character (libyaml says only "found character that cannot start any token").
    (tmp_path / "dev.yaml").write_text("environment: dev\nservices:\n\t- postgres\n")
    with pytest.raises(YamlFileError) as caught:
        load_settings("dev", DEV, REGISTRY, profiles_dir=tmp_path)
    assert "at line 3, column 1: found character '\\t' that cannot start any token" in str(
        caught.value
    )


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_profiles_read_by_libyaml_as_pyyaml_reads_them(name: str) -> None:
    path = PROFILES_DIR / f"{name}.yaml"
    assert yaml.__with_libyaml__ and values._FAST_LOADER is yaml.CSafeLoader
    assert load_yaml(path) == yaml.safe_load(path.read_text())


@pytest.mark.parametrize("value", ["yes", 1, "on", "1"])
def test_a_non_boolean_is_refused_everywhere_and_enables_nothing(value: Any) -> None:
    found = problems(DEV | {"services": {"grafana": {"enabled": value}}})
    assert found.keys == ["vos-infra:services.grafana.enabled"]  # no follow-on problem
    assert "is not a boolean: write true or false" in str(found)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False), (True, True)])
def test_true_and_false_as_strings_are_read_as_booleans(value: Any, expected: bool) -> None:
    # without localhost names the published services need a public one (rules/services.py)
    named = {"network": {"publicNames": ["vos.example.org"]}}
    settings = load_settings("dev", DEV | named | {"tls": {"localhostSans": value}}, REGISTRY)
    assert settings.tls.localhost_sans is expected


def test_a_bad_stack_name_gets_a_fix_that_can_work() -> None:
    found = problems(DEV, stack="Bad_Stack")
    assert found.keys == ["vos-infra:stack"]
    assert "Fix: pulumi stack rename <name>" in str(found)
    assert "config set" not in str(found)


def test_a_wrong_environment_is_reported_alone() -> None:
    found = problems({"environment": "staging", "tls": {"validityHours": 1}})
    assert found.keys == ["vos-infra:environment"]


def test_an_agent_with_only_a_name_explains_that_the_list_replaces_the_profiles() -> None:
    found = problems(DEV | {"agents": [{"name": "planner"}]})
    assert "vos-infra:agents[0].image" in found.keys
    text = str(found)
    assert "replaces the profile's" in text and "pulumi config get --path vos-infra:agents" in text
    assert "(value from stacks/dev.yaml)" not in text


def test_a_key_outside_the_namespace_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """A warning to the engine's log (the CLI shows it; the mock engine logs it)."""
    config = read_stack_config("dev")
    values = config.values | {"vosinfra:tls": "{}", "docker:host": "unix:///run/docker.sock"}
    evaluate("dev", StackConfig(values, []))
    err = caplog.text
    assert "config key 'vosinfra:tls' is not read by vos-infra" in err
    assert "docker:host" not in err  # a provider's key is the provider's


# --- each printed Fix works as printed --------------------------------------------------


def _set_path(config: dict[str, Any], key: str, value: Any, remove: bool = False) -> None:
    """What `pulumi config set --path` / `config rm --path` do to the stack's values:
    `vos-infra:a.b[2].c` addresses nested maps and list items."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key.split(":", 1)[1]):
        parts.append(int(index) if index else name)
    node: Any = config
    for part, following in itertools.pairwise(parts):
        if isinstance(part, int):
            while len(node) <= part:
                node.append({} if isinstance(following, str) else [])
            node = node[part]
        else:
            node = node.setdefault(part, [] if isinstance(following, int) else {})
    last = parts[-1]
    if remove:
        del node[last]
    elif isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        node[last] = value


def _run_fix(config: dict[str, Any], fix: str, value: Any) -> None:
    command = shlex.split(fix.split(" or ", 1)[0].split(" (", 1)[0].split(";", 1)[0])
    assert command[:2] == ["pulumi", "config"], fix
    if command[2] == "rm":
        assert command[3] == "--path", fix
        _set_path(config, command[4], None, remove=True)
        return
    assert command[2] == "set", fix
    key_index = 4 if command[3] == "--path" else 3
    assert command[key_index].startswith("vos-infra:"), fix
    _set_path(config, command[key_index], value)


# (bad config, the value a user puts where the fix has a placeholder)
FIXABLE: list[tuple[dict[str, Any], Any]] = [
    ({"tls": {"earlyRenewalHours": 5000}}, 100),
    ({"tls": {"keyAlgorithm": "RSA-1024"}}, "RSA-3072"),
    ({"services": {"grafana": {"enabled": "yes"}}}, True),
    ({"network": {"publishedPorts": {"grafana": 80}}}, 13000),
    ({"agents": [{"name": "a", "image": "x:1", "memoryMb": 256, "cpus": 0.5},
                 {"name": "a", "image": "x:1", "memoryMb": 256, "cpus": 0.5}]}, "b"),
    ({"network": {"publishedPorts": {"nosuch": 9999}}}, None),
    ({"tls": {"validityHour": 10}}, None),
    ({"limits": {"nofile": 100}}, 65536),
    ({"retention": {"loki": {"days": 0}}}, 3),
    ({"retention": {"prometheus": {"gib": 100000}}}, 64),
    # true is no number (pydantic alone would read it as 1: one day kept)
    ({"retention": {"loki": {"days": True}}}, 7),
    ({"limits": {"nofile": True}}, 65536),
]  # fmt: skip


@pytest.mark.parametrize(("bad", "value"), FIXABLE)
def test_each_printed_fix_fixes_its_problem_when_run(bad: dict[str, Any], value: Any) -> None:
    config = copy.deepcopy(DEV | bad)
    found = problems(config)
    assert len(found.problems) == 1, str(found)
    _run_fix(config, found.problems[0].fix, value)
    load_settings("dev", config, REGISTRY)  # no problem left


def test_profiles_exist_for_the_fixes_that_name_them() -> None:
    assert {p.stem for p in PROFILES_DIR.glob("*.yaml")} == {"dev", "prod"}
