"""`vos-infra backend bootstrap|check|env --stack <stack>`: the stack's S3 + KMS state."""

from __future__ import annotations

from tools.backend.aws import BackendError
from tools.backend.desired import Backend
from tools.cli.stack_settings import stack_settings


def backend_of(stack: str) -> Backend:
    settings = stack_settings(stack)
    if settings.backend is None:
        raise BackendError(
            f"stack {stack} has no vos-infra:backend settings (its state is the local file "
            "backend in .state/); set backend.bucket, backend.region and backend.kmsAlias"
        )
    return Backend.of(stack, settings.backend)


def run_bootstrap(stack: str, adopt: bool) -> str:
    from tools.backend.bootstrap import bootstrap

    backend = backend_of(stack)
    actions = bootstrap(backend, adopt=adopt)
    done = "\n".join(f"  {a}" for a in actions) if actions else "  nothing to change"
    return (
        f"state backend of stack {stack}: s3://{backend.bucket} ({backend.region}), secrets "
        f"with {backend.alias}\n{done}\nthen (scripts/up.sh {stack} does this for you):\n"
        f"{backend.commands()}"
    )


def run_check(stack: str) -> tuple[str, bool]:
    from tools.backend.check import check

    backend = backend_of(stack)
    deviations = check(backend)
    lines = [f"  [{d.setting}] {d.message}" for d in deviations]
    verdict = "FAILED" if deviations else "passed"
    lines.append(
        f"backend check {verdict} ({stack}): s3://{backend.bucket}, {backend.alias}"
        + (f"; fix: vos-infra backend bootstrap --stack {stack}" if deviations else "")
    )
    return "\n".join(lines), not deviations


def run_env(stack: str) -> str:
    """Exports for scripts/env.sh and up.sh: where the CLI keeps this stack's state."""
    backend = backend_of(stack)
    return "\n".join(
        [
            f"export PULUMI_BACKEND_URL='{backend.login_url()}'",
            f"export VOS_SECRETS_PROVIDER='{backend.secrets_provider()}'",
        ]
    )
