"""The state backend: prod keeps its state in S3 with KMS-encrypted secrets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from stacks.problems import Problem
from stacks.rules.raw import Raw
from stacks.services import Catalogue


def required_in_prod(raw: Raw, _: Catalogue) -> Iterator[Problem]:
    if raw.get("environment") == "prod" and not isinstance(raw.get("backend"), Mapping):
        yield Problem(
            ("backend",),
            "is required in prod: the team's state lives in S3 with KMS-encrypted secrets",
            "pulumi config set --path 'vos-infra:backend.bucket' <bucket>; likewise "
            "backend.region and backend.kmsAlias (then: vos-infra backend bootstrap)",
        )
