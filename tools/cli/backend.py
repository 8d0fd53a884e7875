"""`vos-infra backend bootstrap|check|env --stack <stack>`: the stack's S3 + KMS state, and
the backups' bucket when its copies go to S3 (backup.postgres.offsite), under the same rules."""

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


def backups_bucket_of(stack: str) -> Backend | None:
    """The backups' bucket (backup.postgres.offsite s3), under the state bucket's rules."""
    settings = stack_settings(stack)
    bucket = settings.backup_bucket
    if settings.backend is None or bucket is None:
        return None
    return Backend.for_backups(stack, settings.backend, bucket)


def run_bootstrap(stack: str, adopt: bool) -> str:
    from tools.backend.bootstrap import bootstrap

    backend = backend_of(stack)
    actions = bootstrap(backend, adopt=adopt)
    done = "\n".join(f"  {a}" for a in actions) if actions else "  nothing to change"
    lines = [
        f"state backend of stack {stack}: s3://{backend.bucket} ({backend.region}), secrets "
        f"with {backend.alias}\n{done}"
    ]
    backups = backups_bucket_of(stack)
    if backups is not None:
        made = bootstrap(backups, adopt=adopt)
        done = "\n".join(f"  {a}" for a in made) if made else "  nothing to change"
        lines.append(f"backups' bucket of stack {stack}: s3://{backups.bucket}\n{done}")
    lines.append(f"then (scripts/up.sh {stack} does this for you):\n{backend.commands()}")
    return "\n".join(lines)


def run_check(stack: str) -> tuple[str, bool]:
    from tools.backend.check import check

    lines: list[str] = []
    passed = True
    for backend in [backend_of(stack), *filter(None, [backups_bucket_of(stack)])]:
        deviations = check(backend)
        passed = passed and not deviations
        lines += [f"  [{d.setting}] {d.message}" for d in deviations]
        verdict = "FAILED" if deviations else "passed"
        lines.append(
            f"backend check {verdict} ({stack}, {backend.setting}): s3://{backend.bucket}, "
            f"{backend.alias}"
            + (f"; fix: vos-infra backend bootstrap --stack {stack}" if deviations else "")
        )
    return "\n".join(lines), passed


def run_env(stack: str) -> str:
    """Exports for scripts/env.sh and up.sh: where the CLI keeps this stack's state."""
    backend = backend_of(stack)
    return "\n".join(
        [
            f"export PULUMI_BACKEND_URL='{backend.login_url()}'",
            f"export VOS_SECRETS_PROVIDER='{backend.secrets_provider()}'",
        ]
    )
