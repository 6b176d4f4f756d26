# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How messages name the options of ``extension_phones``: the module's names, or the variables of the
``telphin.pbx.phone_bindings`` role that set them (the action plugin picks the role's words for its task)."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, Mapping, Optional


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
                 "number_check", "max_changes", "backup")
CONNECTION = ("api_url", "token_url", "app_id", "app_secret", "access_token", "validate_certs", "ca_path",
              "timeout", "quota_reserve")
ROLE_NAME = "telphin.pbx.phone_bindings"
ROLE = Words(dict({"bindings": "phone_bindings", "client_id": "telphin_client_id"},
                  **{o: "phone_bindings_" + o for o in _ROLE_OPTIONS}, **{o: "telphin_" + o for o in CONNECTION}),
             extra_vars=True)
