"""How the program and the CLI find the stack's Docker engine and its TLS, as the Docker
provider does (infra/docker_engine.py): the stack's settings before the variables, three
materials or a folder, never both. Reaching a real TLS engine so: tests/docker/
test_host_layer.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.docker_engine import FILES, SETTINGS, EngineSettings, EngineSettingsError

PEM = {key: f"-----BEGIN {key}-----\n" for key in FILES}


@pytest.fixture(autouse=True)
def _no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)


def test_the_stack_s_settings_come_before_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://from-the-variable:2376")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/from/the/variable")
    engine = EngineSettings.of({"host": "tcp://from-the-stack:2376"}.get)
    assert engine.values == {"host": "tcp://from-the-stack:2376", "certPath": "/from/the/variable"}
    assert engine.address == "tcp://from-the-stack:2376"
    assert EngineSettings.of(lambda key: None).address == "tcp://from-the-variable:2376"


def test_the_materials_are_written_private_and_the_engine_always_verified(tmp_path: Path) -> None:
    tls = EngineSettings.of(PEM.get).tls(tmp_path)
    assert tls is not None and tls.verify is True
    assert tls.ca_cert == str(tmp_path / "ca.pem")
    for name in FILES.values():
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    client = tmp_path / "client"  # a folder as the host layer writes it (DOCKER_CERT_PATH's)
    client.mkdir()
    for name in FILES.values():
        (client / name).write_text("-----BEGIN-----\n")
    folder = EngineSettings.of({"certPath": str(client)}.get).tls(tmp_path / "unused")
    assert folder is not None and folder.verify is True
    assert folder.cert == (str(client / "cert.pem"), str(client / "key.pem"))
    assert not (tmp_path / "unused").exists()
    assert EngineSettings.of({"host": "unix:///run/docker.sock"}.get).tls(tmp_path) is None


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"caMaterial": PEM["caMaterial"]}, "docker:certMaterial, docker:keyMaterial missing"),
        ({**PEM, "certPath": "/etc/vos-client"}, "exclude each other"),
    ],
)
def test_what_the_provider_refuses_is_refused(
    given: dict[str, str], said: str, tmp_path: Path
) -> None:
    with pytest.raises(EngineSettingsError, match=said):
        EngineSettings.of(given.get).tls(tmp_path)
