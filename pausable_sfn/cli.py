"""The command line: `python -m pausable_sfn demo | local serve`."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pausable_sfn", description="pausable-sfn tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="run every flow of the app on the embedded local AWS")
    local = commands.add_parser("local", help="the embedded local AWS").add_subparsers(
        dest="local_command", required=True, metavar="COMMAND"
    )
    serve = local.add_parser("serve", help="deploy the app into a local moto server and keep it running")
    serve.add_argument("--port", type=_port, default=5000, help="port on 127.0.0.1 (default 5000; 0 picks a free one)")
    serve.add_argument(
        "--assembly",
        type=_assembly,
        metavar="DIR",
        help="deploy this synthesized cloud assembly (e.g. cdk.out after `make synth`) instead of synthesizing",
    )
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 0 to 65535, not {port}")
    return port


def _assembly(text: str) -> Path:
    folder = Path(text)
    if not (folder / "manifest.json").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a synthesized cloud assembly (no manifest.json there)")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Wide enough for the timelines when the output is a file or a CI log rather than a terminal.
    console = Console(width=None if sys.stdout.isatty() else 110)
    if args.command == "demo":
        from .demo import run

        return 0 if run(console) else 1
    from .local.server import serve

    return serve(port=args.port, console=console, assembly_dir=args.assembly)


if __name__ == "__main__":
    sys.exit(main())
