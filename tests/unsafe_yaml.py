"""Reading the YAML the collection writes for Ansible (backups, the export) outside Ansible, in tests.

Every mapping and list of such a file is tagged ``!unsafe`` (plugins/module_utils/_unsafe.py), which PyYAML's
``safe_load`` refuses; ``load`` reads the tag as a plain container of the same data.
"""

from __future__ import annotations

from typing import Any

import yaml


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    def construct_unsafe(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node, deep=True)
        return self.construct_scalar(node)


_Loader.add_constructor("!unsafe", _Loader.construct_unsafe)


def load(text: str) -> Any:
    """``text`` as PyYAML's ``safe_load`` reads it, with ``!unsafe`` read as the data it tags."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506  (a SafeLoader with one more tag)


def strip_comments(text: str) -> str:
    """``text`` without its whole-line comments (a file may start with one before ``---``)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")) + "\n"


def untagged(text: str) -> list:
    """Where the document holds data Ansible could take for a template: every mapping and list not tagged
    ``!unsafe`` and every string scalar not double-quoted (keys included); empty when all is data."""
    found = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if node.tag != "!unsafe":
                found.append(path)
            children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
            for number, child in enumerate(children):
                walk(child, "%s/%d" % (path, number))
        elif node.tag in ("tag:yaml.org,2002:str", "!unsafe") and node.style != '"':
            found.append(path + ": " + node.value)
    walk(yaml.compose(text, Loader=yaml.SafeLoader), "")
    return found
