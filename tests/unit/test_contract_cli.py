"""`vos-infra contract`: the document, and `verify`'s refusals before anything runs."""

from __future__ import annotations

import pytest

from tools.cli.main import main


def test_contract_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract"]) == 0
    assert capsys.readouterr().out.startswith("# The VOS application contract")


@pytest.mark.parametrize(
    "arguments",
    [["--image", "vos/x:1"], ["--role", "agent"], []],
    ids=["no role", "no image", "neither"],
)
def test_verify_names_what_it_needs(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contract", "verify", *arguments]) == 2
    assert "needs --image REF and --role gateway|agent" in capsys.readouterr().err


def test_verify_without_an_engine_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["contract", "verify", "--image", "vos/x:1", "--role", "agent"]) == 2
    assert "no Docker engine reachable (DOCKER_HOST)" in capsys.readouterr().err
