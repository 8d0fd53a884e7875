"""`vos-infra`: offline tooling for the Pulumi program (no CLI, Docker or network needed)."""

from __future__ import annotations

import argparse
import sys

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "plan":
            from infra.cli.plan import run_plan

            print(run_plan(args.stack, as_json=args.json, preview=args.preview))
    except SettingsError as error:
        print(f"vos-infra: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"vos-infra: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
