# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Values read from the API never reach Ansible as templates: YAML in which every string is data, on every core.

A tenant's staff can put ``{{ lookup('pipe', ...) }}`` in a phone's label, or a ``#jinja2:`` header that changes
the delimiters to ``[[ ]]``. Whatever the collection writes for Ansible to read back (the backup restored with
``-e @file``, the export adopted as ``host_vars``) puts **every** string, keys included, inside a mapping or list
tagged ``!unsafe``, whatever it holds; no code here looks at a string's content to decide whether it is safe
(docs/docsite/rst/security_model.rst).

Why the containers carry the tag, and every one of them: ansible-core 2.19 and later construct a ``!unsafe``
*scalar* by its plain-style type, quotes ignored (``!unsafe "100"`` is the integer 100, ``!unsafe ""`` null),
while an ``!unsafe`` mapping or list keeps its quoted strings as strings, all untrusted. Before 2.19 an
``!unsafe`` container wraps every string in it as unsafe, but builds a nested container only when that one is
tagged too (an untagged one comes back empty). So every mapping and list is tagged, every string double-quoted.

``yaml_scalar``, ``yaml_entry`` and ``yaml_document`` write YAML without PyYAML (module_utils may run where it is
missing); every string is double-quoted with the characters YAML would change or refuse escaped, so that a file
read back gives the exact strings written (a lone surrogate, which no YAML or UTF-8 file can hold, becomes
U+FFFD). A key too long for YAML's implicit form is written as an explicit ``? key`` entry.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping

UNSAFE_TAG = "!unsafe"
# YAML limits an implicit (``key: value``) key to 1024 characters; longer keys need the explicit ``? key`` form.
# Counted in UTF-8 bytes, never fewer than characters, with room for the ``: `` after it.
IMPLICIT_KEY_MAX = 1000
# Characters that a YAML reader refuses or takes for a line break (YAML 1.1 printable set, NEL, LS, PS, BOM)
_ESCAPED = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xd800 <= code < 0xe000:
        return "\\ufffd"      # a lone surrogate (JSON allows one) has no YAML form: the replacement character
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code


def escaped(text: str) -> str:
    """``text`` with every character YAML would refuse or take for a line break escaped (for a comment line)."""
    return _ESCAPED.sub(lambda m: _escape(m.group(0)), text)


def yaml_string(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (data only inside an ``!unsafe`` container)."""
    return escaped('"%s"' % re.sub(r'[\\"]', lambda m: _NAMED[m.group(0)], value))


def yaml_scalar(value: Any) -> str:
    """One value as YAML on one line: lists and mappings in flow style, each tagged ``!unsafe``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, str):
        return yaml_string(str(value))
    if isinstance(value, Mapping):
        return "%s {%s}" % (UNSAFE_TAG, ", ".join(_flow_entry(k, v) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return "%s [%s]" % (UNSAFE_TAG, ", ".join(yaml_scalar(v) for v in value))
    raise TypeError("cannot write a %s as YAML" % type(value).__name__)


def yaml_key(key: Any) -> str:
    """A mapping key, written as any other value; see ``explicit``."""
    if isinstance(key, (Mapping, list, tuple)):
        raise TypeError("cannot write a %s as a YAML key" % type(key).__name__)
    return yaml_scalar(key)


def explicit(key: str) -> bool:
    """Whether a written key is too long for YAML's implicit form (then ``? key`` and ``: value``)."""
    return len(key.encode("utf-8")) > IMPLICIT_KEY_MAX


def _flow_entry(key: Any, value: Any) -> str:
    written = yaml_key(key)
    return "%s%s: %s" % ("? " if explicit(written) else "", written, yaml_scalar(value))


def yaml_node(value: Any, indent: int) -> List[str]:
    """``value`` in block style: what follows ``key:``, ``-`` or ``---`` on its line (`` !unsafe`` for a
    mapping or list that has items, else the value in flow style), then the block's lines at ``indent``."""
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        return [" " + UNSAFE_TAG] + [line for key, item in value.items() for line in yaml_entry(key, item, indent)]
    if isinstance(value, (list, tuple)) and value:
        lines = [" " + UNSAFE_TAG]
        for item in value:
            node = yaml_node(item, indent + 2)
            lines.append(pad + "-" + node[0])
            lines.extend(node[1:])
        return lines
    return [" " + yaml_scalar(value)]


def yaml_entry(key: Any, value: Any, indent: int) -> List[str]:
    """One entry of a block mapping (to be inside an ``!unsafe`` one): ``key: value``, or ``? key`` / ``: value``
    when the key is too long for YAML's implicit form; a mapping or list value in a block below."""
    pad = " " * indent
    written = yaml_key(key)
    node = yaml_node(value, indent + 2)
    if explicit(written):
        return [pad + "? " + written, pad + ":" + node[0]] + node[1:]
    return [pad + written + ":" + node[0]] + node[1:]


def yaml_document(value: Any) -> str:
    """``value`` as a YAML document (``---`` first, a line break last); a mapping or list tagged ``!unsafe``."""
    node = yaml_node(value, 0)
    if isinstance(value, str):
        node = [" %s %s" % (UNSAFE_TAG, yaml_string(value))]    # a string alone (variables files are mappings)
    return "\n".join(["---" + node[0]] + node[1:]) + "\n"
