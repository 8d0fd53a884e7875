"""`vos-infra`: offline tooling for the Pulumi program (no CLI, Docker or network needed)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from stacks import SettingsError
from stacks.values import YamlFileError
from tools.backend.aws import BackendError
from tools.backup.restore import RestoreError
from tools.backup.target import TargetError
from tools.cli.errors import RenderTargetError
from tools.contract.errors import VerifyError
from tools.dev_vault import DevVaultError
from tools.offline.stack_files import available_stacks
from tools.policy.analyzer import AnalyzerFailed
from tools.policy.config import PolicyConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vos-infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan", help="print every resource a stack would register, secrets redacted"
    )
    plan.add_argument("--stack", required=True, help=f"one of: {', '.join(available_stacks())}")
    plan.add_argument(
        "--json", action="store_true", help="what `pulumi preview --json` prints for the stack"
    )
    plan.add_argument(
        "--show-secrets",
        action="store_true",
        help="with --json: secret values instead of [secret] (for `check --from-preview`)",
    )
    plan.add_argument("--full", action="store_true", help="every resource with its inputs")
    plan.add_argument(
        "--preview", action="store_true", help="evaluate as `pulumi preview` (outputs unknown)"
    )
    render = commands.add_parser(
        "render", help="write every file each container would receive, and a manifest"
    )
    render.add_argument("--stack", required=True, help=f"one of: {', '.join(available_stacks())}")
    render.add_argument("--out", required=True, type=Path, help="output folder (created 0700)")
    check = commands.add_parser(
        "check",
        help="run the policy pack over a stack (as `pulumi preview --policy-pack` would)",
    )
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help=f"one of: {', '.join(available_stacks())}")
    source.add_argument(
        "--from-preview",
        type=Path,
        metavar="FILE",
        help="the JSON `pulumi preview --json` printed (needs --environment)",
    )
    check.add_argument("--environment", choices=["dev", "prod"], help="policy config to apply")
    check.add_argument("--preview", action="store_true", help="evaluate as `pulumi preview`")
    check.add_argument(
        "--config", type=Path, help="policy config (default policies/per-environment/<env>.json)"
    )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    endpoints = commands.add_parser(
        "endpoints", help="what to open after `pulumi up`, the CA, the admin credentials"
    )
    endpoints.add_argument(
        "--stack", required=True, help=f"one of: {', '.join(available_stacks())}"
    )
    contract = commands.add_parser(
        "contract",
        help="the contract the VOS app images honour (docs/APP-CONTRACT.md); `verify` runs an "
        "image on the local Docker engine and checks it clause by clause",
    )
    contract.add_argument("action", nargs="?", choices=["verify"])
    contract.add_argument("--image", help="with verify: the image reference to run")
    contract.add_argument("--role", choices=["gateway", "agent"], help="with verify: its role")
    contract.add_argument(
        "--no-dependencies",
        action="store_true",
        help="with verify: without the dev stack's PostgreSQL, RabbitMQ and Weaviate (quicker; "
        "the clauses that need them are then printed as not checked)",
    )
    backend = commands.add_parser(
        "backend", help="the stack's state on S3 with KMS-encrypted secrets (AWS credential chain)"
    )
    backend.add_argument("action", choices=["bootstrap", "check", "env"])
    backend.add_argument("--stack", required=True, help=f"one of: {', '.join(available_stacks())}")
    backend.add_argument(
        "--adopt", action="store_true", help="take over a bucket or key vos-infra did not create"
    )
    backup = commands.add_parser(
        "backup",
        help="the stack's PostgreSQL and Weaviate backups on its Docker engine (DOCKER_HOST): "
        "list them, take a base backup and Weaviate's now, restore PostgreSQL to a moment into "
        "a new volume or a Weaviate backup into Weaviate (docs/backups.md)",
    )
    backup.add_argument("action", choices=["list", "restore", "now"])
    backup.add_argument("--stack", required=True, help=f"one of: {', '.join(available_stacks())}")
    backup.add_argument(
        "--to", help="with restore: `latest`, or a moment with its time zone (ISO 8601)"
    )
    backup.add_argument(
        "--weaviate", metavar="ID", help="with restore: Weaviate's backup ID, or `latest`"
    )
    backup.add_argument(
        "--from-copies",
        action="store_true",
        help="with restore --to: from the sealed copies alone (the service's own backups "
        "lost, or a drill of the copies)",
    )
    vault = commands.add_parser(
        "vault",
        help="the embedded development Vault (OpenBao); `audit --stack S`: whether the "
        "stack's Vault keeps an audit trail",
    )
    vault.add_argument("action", choices=["start", "stop", "status", "env", "audit"])
    vault.add_argument("--stack", help="with audit: the stack whose vault.address is checked")
    vault.add_argument("--home", type=Path, default=None, help="data folder (default .state/vault)")
    vault.add_argument("--port", type=int, default=None, help="listener port (default 8200)")
    return parser


def _vault(args: argparse.Namespace) -> int:
    if args.action == "audit":
        if not args.stack:
            print("vos-infra: vault audit needs --stack", file=sys.stderr)
            return 2
        from components.vault.connection import VaultError
        from tools.cli.vault_audit import run_audit

        try:
            text, passed = run_audit(args.stack)
        except VaultError as error:
            print(f"vos-infra: {error}", file=sys.stderr)
            return 2
        print(text)
        return 0 if passed else 1
    print(_dev_vault(args))
    return 0


def _dev_vault(args: argparse.Namespace) -> str:
    from tools.dev_vault import DEFAULT_HOME, DEFAULT_PORT, DevVault

    home = args.home or Path(os.environ.get("VOS_DEV_VAULT_HOME") or DEFAULT_HOME)
    port = args.port or int(os.environ.get("VOS_DEV_VAULT_PORT") or DEFAULT_PORT)
    server = DevVault(home.resolve(), port)
    if args.action == "env":
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in server.env().items())
    result: str = getattr(server, args.action)()
    return result


def _check(args: argparse.Namespace) -> int:
    """Exit 1 on a mandatory violation, 0 otherwise."""
    from tools.cli.check import run_check, run_check_preview

    if args.from_preview is not None:
        if args.environment is None:
            print("vos-infra: --from-preview needs --environment dev|prod", file=sys.stderr)
            return 2
        report = run_check_preview(args.from_preview, args.environment, args.config)
    else:
        report = run_check(args.stack, preview=args.preview, config=args.config)
    print(report.json() if args.json else report.text())
    return 1 if report.mandatory else 0


def _backend(args: argparse.Namespace) -> int:
    from tools.cli.backend import run_bootstrap, run_check, run_env

    if args.action == "bootstrap":
        print(run_bootstrap(args.stack, args.adopt))
    elif args.action == "env":
        print(run_env(args.stack))
    else:
        report, passed = run_check(args.stack)
        print(report)
        return 0 if passed else 1
    return 0


def _backup(args: argparse.Namespace) -> int:
    from tools.cli.backup import run_list, run_now, run_restore, run_weaviate_restore

    if args.action == "list":
        print(run_list(args.stack))
        return 0
    if args.action == "now":
        print(run_now(args.stack))
        return 0
    if bool(args.to) == bool(args.weaviate):
        print(
            "vos-infra: backup restore needs --to latest|<time with zone> (PostgreSQL) or "
            "--weaviate <id>|latest (Weaviate), one of them",
            file=sys.stderr,
        )
        return 2
    if args.from_copies and not args.to:
        print("vos-infra: --from-copies goes with restore --to (PostgreSQL)", file=sys.stderr)
        return 2
    if args.weaviate:
        print(run_weaviate_restore(args.stack, args.weaviate))
        return 0
    print(run_restore(args.stack, args.to, args.from_copies))
    return 0


def _contract(args: argparse.Namespace) -> int:
    """Print the contract; with `verify`, exit 1 when a clause fails."""
    if args.action is None:
        from components.app.document import contract_markdown

        print(contract_markdown(), end="")
        return 0
    if not args.image or not args.role:
        needs = "contract verify needs --image REF and --role gateway|agent"
        print(f"vos-infra: {needs}", file=sys.stderr)
        return 2
    from tools.contract.verify import verify

    results = verify(args.image, args.role, dependencies=not args.no_dependencies)
    for result in results:
        print(result.line())
    return 1 if any(r.outcome == "FAILED" for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            from tools.cli.plan import run_plan

            if args.show_secrets and not args.json:
                print("vos-infra: --show-secrets needs --json", file=sys.stderr)
                return 2
            print(
                run_plan(
                    args.stack,
                    as_json=args.json,
                    preview=args.preview,
                    full=args.full,
                    show_secrets=args.show_secrets,
                )
            )
        elif args.command == "render":
            from tools.cli.render import run_render

            print(run_render(args.stack, args.out))
        elif args.command == "check":
            return _check(args)
        elif args.command == "backend":
            return _backend(args)
        elif args.command == "endpoints":
            from tools.cli.endpoints import run_endpoints

            print(run_endpoints(args.stack))
        elif args.command == "contract":
            return _contract(args)
        elif args.command == "vault":
            return _vault(args)
        elif args.command == "backup":
            return _backup(args)
    except SettingsError as error:
        print(f"vos-infra: {error}", file=sys.stderr)
        return 2
    except (
        FileNotFoundError,
        DevVaultError,
        PolicyConfigError,
        AnalyzerFailed,
        YamlFileError,
        RenderTargetError,
        BackendError,
        VerifyError,
        RestoreError,
        TargetError,
    ) as error:
        print(f"vos-infra: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
