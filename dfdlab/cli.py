"""The ``dfdlab`` command. Each subcommand is a thin layer over the package's functions.

Subcommands register themselves in ``build_parser``; a user error prints one line and
exits 2 (1 for ``predict`` when an image failed), never a traceback.
"""

from __future__ import annotations

import argparse
import sys


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


def _cmd_doctor(args) -> int:
    import dfdlab

    report = dfdlab.doctor(print_report=not args.json)
    if args.json:
        import json

        print(json.dumps(report, indent=2, default=str))
    return 0


def _cmd_assets(args) -> int:
    from . import hub

    if args.fetch:
        for name in args.fetch:
            print(hub.fetch(name))
        return 0
    print(hub.table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dfdlab", description="AI-generated-image detection lab")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("doctor", help="check the environment (works offline)")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.set_defaults(func=_cmd_doctor)

    a = sub.add_parser("assets", help="list named weights/datasets, or fetch some")
    a.add_argument("--fetch", nargs="+", metavar="NAME", help="download and verify these assets")
    a.set_defaults(func=_cmd_assets)

    from . import commands

    commands.add_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"dfdlab {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
