# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Trust for plugin-supplied strings that cannot be templated.

ansible-core 2.19+ treats every string an inventory plugin sets as untrusted; ``ansible-inventory --list``
(what AWX's inventory sync stores) then prints each as ``{"__ansible_unsafe": ...}``. A string without ``{``
or ``}`` cannot hold a template, so tagging it trusted changes nothing but that output. Before 2.19 plugin
strings are trusted already and are returned as they are.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ansible_collections.telphin.pbx.plugins.module_utils._unsafe import can_template

try:
    from ansible.template import trust_as_template as _trust_as_template
except ImportError:  # ansible-core < 2.19
    _trust_as_template = None

_TRUST: Optional[Callable[[str], str]] = _trust_as_template


def trusted(value: Any) -> Any:
    """``value`` tagged as trusted on ansible-core 2.19+ if it is a string without ``{`` or ``}``, else as it is."""
    if _TRUST is not None and isinstance(value, str) and not can_template(value):
        return _TRUST(value)
    return value
