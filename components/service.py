"""What every service component is built from."""

from __future__ import annotations

from dataclasses import dataclass

from components.credentials import Credentials
from components.docker.networks import Networks
from components.pki import Pki
from infra.settings import Settings


@dataclass(frozen=True)
class ServiceArgs:
    settings: Settings
    pki: Pki
    credentials: Credentials
    networks: Networks
