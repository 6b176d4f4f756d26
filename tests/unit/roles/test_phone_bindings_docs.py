"""The role's README documents every variable of its argument spec and defaults, with the defaults they have."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "phone_bindings"


def readme_table() -> Dict[str, str]:
    """Variable -> the Default cell of the README's variable table (rows naming several variables share it)."""
    rows: Dict[str, str] = {}
    for line in (ROLE / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for name in re.findall(r"`([a-z_]+)`", cells[0]):
                rows[name] = cells[1]
    return rows


def value_of(cell: str) -> object:
    """The value a Default cell shows first (``"20%"``, ``4``, ``@me``)."""
    text = re.match(r"`([^`]*)`", cell).group(1)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def test_every_variable_of_the_argument_spec_and_the_defaults_is_in_the_readme():
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    table = readme_table()
    assert sorted(set(spec) | set(defaults)) == sorted(table)
    for name, value in defaults.items():
        if isinstance(value, str) and "{{" in value:
            continue        # a computed default, described in words
        assert value_of(table[name]) == value, (name, table[name])
    for name, option in spec.items():
        if "default" in option and name not in defaults:
            assert value_of(table[name]) == option["default"], (name, table[name])


def test_the_role_declares_no_target_platform():
    meta = yaml.safe_load((ROLE / "meta" / "main.yml").read_text())["galaxy_info"]
    assert meta["standalone"] is False and "platforms" not in meta
