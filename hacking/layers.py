#!/usr/bin/env python
"""Draw the import layers of .importlinter in docs/architecture.md, between its "layers" markers.

The drawing is made from the contracts import-linter checks (`make import-layers`), so the documented layers are
the checked ones; tests/unit/test_architecture.py fails when the drawing is stale.
Usage: hacking/layers.py [--write]   (prints the drawing; --write puts it into docs/architecture.md)
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
DOC = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- layers: drawn by hacking/layers.py from .importlinter; do not edit by hand -->"
END = "<!-- layers: end -->"
PREFIX = "ansible_collections.telphin.pbx."


def contracts(config: Path = CONFIG) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(config)
    return parser


def drawing(config: Path = CONFIG) -> str:
    """Each layers contract as a block: its container, then its floors from the top one down."""
    blocks = []
    parser = contracts(config)
    for section in parser.sections():
        contract = parser[section]
        if contract.get("type") != "layers":
            continue
        container = contract["containers"].strip()
        path = container[len(PREFIX):].replace(".", "/") if container.startswith(PREFIX) else container
        floors = [line.strip() for line in contract["layers"].strip().splitlines() if line.strip()]
        width = max(len(f) for f in floors)
        lines = ["%s/  (contract %s)" % (path, section.split(":")[-1]), ""]
        for index, floor in enumerate(floors):
            if index:
                lines.append("\u2193".center(width).rstrip())
            lines.append(floor.center(width).rstrip())
        blocks.append("```\n%s\n```" % "\n".join(lines))
    return "\n\n".join(blocks)


def with_drawing(text: str, config: Path = CONFIG) -> str:
    """``text`` (docs/architecture.md) with the block between the markers replaced by the drawing."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit("%s has no %s ... %s block" % (DOC, BEGIN, END))
    return pattern.sub(lambda m: "%s\n%s\n%s" % (BEGIN, drawing(config), END), text)


def main(argv: list) -> int:
    if "--write" in argv:
        DOC.write_text(with_drawing(DOC.read_text()))
    else:
        print(drawing())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
