"""The server objects of the ``tenants`` inventory plugin's host variables, read back for a test's comparison."""

from __future__ import annotations

from typing import Any


def restored(value: Any) -> Any:
    """A server object from the plugin's form of it: its documented fields by name, every other field an item
    ``{key, value}`` of ``other_fields`` (what ``items2dict`` gives back; docs/api.md, "Objects in the inventory")."""
    if isinstance(value, dict):
        fields = {key: restored(item) for key, item in value.items() if key != "other_fields"}
        fields.update((item["key"], restored(item["value"])) for item in value.get("other_fields", []))
        return fields
    if isinstance(value, list):
        return [restored(item) for item in value]
    return value
