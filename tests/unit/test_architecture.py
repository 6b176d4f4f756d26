"""docs/architecture.md draws the import layers that `make import-layers` checks (.importlinter)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layers_tool():
    spec = importlib.util.spec_from_file_location("layers", ROOT / "hacking" / "layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_layers_are_the_declared_ones():
    tool = layers_tool()
    doc = (ROOT / "docs" / "architecture.md").read_text()
    assert doc == tool.with_drawing(doc), "docs/architecture.md draws stale layers: run hacking/layers.py --write"


def test_every_room_of_plugins_is_on_a_declared_floor():
    """What lint-imports' `exhaustive` checks, in the unit tests too: a new file is placed when it is added."""
    config = layers_tool().contracts()
    declared = set()
    for section in config.sections():
        contract = config[section]
        if contract.get("type") == "layers":
            package = contract["containers"].strip().replace("ansible_collections.telphin.pbx.", "").replace(".", "/")
            declared.update("%s/%s" % (package, room.strip()) for line in contract["layers"].splitlines()
                            for room in line.replace("|", ":").split(":") if room.strip())
    rooms = {"plugins/%s" % p.parent.name for p in (ROOT / "plugins").glob("*/*.py")}
    rooms |= {"plugins/%s/%s" % (d, p.stem) for d in ("module_utils", "plugin_utils")
              for p in (ROOT / "plugins" / d).glob("*.py")}
    assert sorted(rooms - declared) == [], "place them on a floor of .importlinter, then run hacking/layers.py --write"


def test_a_stale_drawing_is_found(tmp_path):
    tool = layers_tool()
    config = tmp_path / "importlinter.ini"
    declared = (ROOT / ".importlinter").read_text()
    config.write_text(declared.replace("    _plan_apply | _reads\n", "    _plan_apply | _reads\n    _extra\n"))
    doc = (ROOT / "docs" / "architecture.md").read_text()
    assert tool.with_drawing(doc, config) != doc and "_extra" in tool.with_drawing(doc, config)


MAX_ROOM_LINES = 400    # issue 21: one concern per room


def test_no_file_of_plugins_is_over_the_room_size():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in (ROOT / "plugins").rglob("*.py")}
    assert len(sizes) > 40
    assert {name: n for name, n in sizes.items() if n > MAX_ROOM_LINES} == {}
