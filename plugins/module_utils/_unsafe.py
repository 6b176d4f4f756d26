# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Values read from the API never reach Ansible as templates: the one rule, and YAML that keeps it.

A tenant's staff can put ``{{ lookup('pipe', ...) }}`` in a phone's label. Whatever the collection hands back
to Ansible (the inventory plugin's host variables) or writes for Ansible to read (the backup restored with
``-e @file``, the export adopted as ``host_vars``) marks every string that ``can_template`` as unsafe: in YAML
with the ``!unsafe`` tag, which ansible-core 2.16 to 2.21 all load as a string that is never templated.

``yaml_scalar`` and ``yaml_block`` write YAML without PyYAML (module_utils may run where it is missing); every
string is double-quoted with the characters YAML would change or refuse escaped, so that a file read back gives
the exact strings written (a lone surrogate, which no YAML or UTF-8 file can hold, becomes U+FFFD).
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping

TEMPLATE_CHARS = re.compile(r"[{}]")
UNSAFE_TAG = "!unsafe"
# Characters that a YAML reader refuses or takes for a line break (YAML 1.1 printable set, NEL, LS, PS, BOM)
_ESCAPED = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML11_WORDS = ("y", "n", "yes", "no", "true", "false", "on", "off", "null")
_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def can_template(value: str) -> bool:
    """Whether ``value`` holds a character that starts or ends a Jinja expression, statement or comment."""
    return bool(TEMPLATE_CHARS.search(value))


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xd800 <= code < 0xe000:
        return "\\ufffd"      # a lone surrogate (JSON allows one) has no YAML form: the replacement character
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code


def yaml_string(value: str) -> str:
    """``value`` as a double-quoted YAML scalar, tagged ``!unsafe`` when it ``can_template``."""
    quoted = '"%s"' % re.sub(r'[\\"]', lambda m: _NAMED[m.group(0)], value)
    quoted = _ESCAPED.sub(lambda m: _escape(m.group(0)), quoted)
    return "%s %s" % (UNSAFE_TAG, quoted) if can_template(value) else quoted


def yaml_scalar(value: Any) -> str:
    """One value read from the API as YAML on one line (flow style for lists and mappings)."""
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
        return "{%s}" % ", ".join("%s: %s" % (_key(k), yaml_scalar(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(yaml_scalar(v) for v in value)
    raise TypeError("cannot write a %s as YAML" % type(value).__name__)


def _key(key: Any) -> str:
    """A mapping key: plain when it is a name YAML reads as that string, else as ``yaml_scalar``."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML11_WORDS:
        return str(key)
    return yaml_scalar(key)


def yaml_block(value: Any, indent: int = 0) -> List[str]:
    """``value`` as block-style YAML lines: mappings and lists of mappings in blocks, everything else by
    ``yaml_scalar``."""
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        lines = []
        for key, item in value.items():
            if (isinstance(item, Mapping) or isinstance(item, (list, tuple))) and item:
                lines.append("%s%s:" % (pad, _key(key)))
                lines.extend(yaml_block(item, indent + 2))
            else:
                lines.append("%s%s: %s" % (pad, _key(key), yaml_scalar(item)))
        return lines
    if isinstance(value, (list, tuple)) and value:
        lines = []
        for item in value:
            inner = yaml_block(item, indent + 2)
            lines.append("%s- %s" % (pad, inner[0][indent + 2:]))
            lines.extend(inner[1:])
        return lines
    return [pad + yaml_scalar(value)]
