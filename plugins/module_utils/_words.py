# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How messages name the options of ``extension_phones``: the module's names, or the variables of the
``telphin.pbx.phone_bindings`` role that set them (the action plugin picks the role's words for its task); and
``shown``, the one way a string from a server, a plan or a file enters a message a person reads."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, Iterable, Mapping, Optional

# Unicode categories ``shown`` escapes: controls (C0, DEL, C1 with ESC and CSI), format characters (the bidi
# embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, zero-width characters, the BOM), lone
# surrogates (which no terminal or log file can encode), and the line and paragraph separators U+2028 and U+2029.
_ESCAPED_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code


def shown(value: Any) -> str:
    """``value`` (``str()`` of it) as a message shows it: every control, format, line or paragraph separator
    character and every backslash escaped (``\\n``, ``\\x1b``, ``\\u2028``, ``\\\\``), whatever the text holds.

    Call it on every string that came from a server (an extension's name or type, a phone's value), a plan or a
    file, each time one goes into a message, a warning or a diff header: a name then cannot start a line of its own
    (a forged ``PLAY RECAP``), move the cursor, recolour or rewrite the terminal, or reorder the text around it.
    The result is one line that a person reads as the original, and the escaping is unambiguous.
    """
    return "".join(map(_escape, str(value)))


class Words:
    """``words("max_changes")`` is the name a user sets; ``for_this_run`` is how to set it for one run."""

    def __init__(self, names: Optional[Mapping[str, str]] = None, extra_vars: bool = False) -> None:
        self.names: Dict[str, str] = dict(names or {})
        self.extra_vars = extra_vars        # the names are variables: one run sets them with -e

    def __call__(self, option: str) -> str:
        return self.names.get(option, option)

    def in_text(self, text: str, options: Iterable[str]) -> str:
        """``text`` (a message of the engine's own words, no server text) with ``options`` named as these words do."""
        names = sorted((o for o in options if o in self.names), key=len, reverse=True)
        if not names:
            return text
        return re.sub(r"\b(%s)\b" % "|".join(map(re.escape, names)), lambda m: self(m.group(1)), text)

    def for_this_run(self, option: str, value: Any) -> str:
        if self.extra_vars:
            return "-e %s=%s" % (self(option), value)
        return "%s: %s in the task" % (option, value)


MODULE = Words()

_ROLE_OPTIONS = ("unbind_unlisted", "parallel", "update_password", "report_unchanged", "default_region",
                 "number_check", "max_changes", "backup", "plan_max_age", "plan_allow_changed_bindings",
                 "restore_backup")
CONNECTION = ("api_url", "token_url", "app_id", "app_secret", "access_token", "validate_certs", "ca_path",
              "timeout", "quota_reserve")
ROLE_NAME = "telphin.pbx.phone_bindings"
ROLE = Words(dict({"bindings": "phone_bindings", "client_id": "telphin_client_id", "policy": "phone_policy",
                   "policy_exclude": "phone_policy_exclude"},
                  **{o: "phone_bindings_" + o for o in _ROLE_OPTIONS}, **{o: "telphin_" + o for o in CONNECTION}),
             extra_vars=True)
