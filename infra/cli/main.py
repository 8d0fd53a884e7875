"""`vos-infra`: offline tooling for the Pulumi program (no CLI, Docker or network needed)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from infra.dev_vault import DevVaultError
from infra.offline.stack_files import available_stacks
from infra.settings import SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vos-infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan", help="print every resource a stack would register, secrets redacted"
    )
    plan.add_argument("--stack", required=True, help=f"one of: {', '.join(available_stacks())}")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.add_argument(
        "--preview", action="store_true", help="evaluate as `pulumi preview` (outputs unknown)"
    )
    render = commands.add_parser(
        "render", help="write every file each container would receive, and a manifest"
    )
    render.add_argument("--stack", required=True, help=f"one of: {', '.join(available_stacks())}")
    render.add_argument("--out", required=True, type=Path, help="output folder (created 0700)")
    vault = commands.add_parser("vault", help="the embedded development Vault (OpenBao)")
    vault.add_argument("action", choices=["start", "stop", "status", "env"])
    vault.add_argument("--home", type=Path, default=None, help="data folder (default .state/vault)")
    vault.add_argument("--port", type=int, default=None, help="listener port (default 8200)")
    return parser


def _vault(args: argparse.Namespace) -> str:
    from infra.dev_vault import DEFAULT_HOME, DEFAULT_PORT, DevVault

    home = args.home or Path(os.environ.get("VOS_DEV_VAULT_HOME") or DEFAULT_HOME)
    port = args.port or int(os.environ.get("VOS_DEV_VAULT_PORT") or DEFAULT_PORT)
    server = DevVault(home.resolve(), port)
    if args.action == "env":
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in server.env().items())
    result: str = getattr(server, args.action)()
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            from infra.cli.plan import run_plan

            print(run_plan(args.stack, as_json=args.json, preview=args.preview))
        elif args.command == "render":
            from infra.cli.render import run_render

            print(run_render(args.stack, args.out))
        elif args.command == "vault":
            print(_vault(args))
    except SettingsError as error:
        print(f"vos-infra: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, DevVaultError) as error:
        print(f"vos-infra: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
