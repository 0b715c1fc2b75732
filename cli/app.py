"""Placeholder entry point until the CLI lands; replaced by the Typer app."""

import sys


def main() -> None:
    print("marlin-quant: the command line is not built yet", file=sys.stderr)
    sys.exit(2)
