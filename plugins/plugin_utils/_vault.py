# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Values of the inventory file that may be Ansible Vault encrypted, and masking of known secrets.

Private to the collection's plugins: no stable API.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Set

from ansible_collections.telphin.pbx.plugins.module_utils._secrets import MASK, redact, spellings

try:  # ansible-core 2.19+
    from ansible.parsing.vault import EncryptedString as VaultedValue
except ImportError:  # ansible-core 2.16 to 2.18
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode as VaultedValue


def is_vaulted(value: Any) -> bool:
    return isinstance(value, VaultedValue)


def plain_text(value: Any) -> Optional[str]:
    """A string option value as plain text (decrypting a vaulted value); None stays None."""
    return None if value is None else str(value)


class Secrets:
    """Every secret the plugin knows of (credentials given, tokens issued), to strip from its messages."""

    def __init__(self) -> None:
        self._values: Set[str] = set()

    def add(self, values: Iterable[Any]) -> None:
        for value in values:
            try:
                text = plain_text(value)
            except Exception:  # pylint: disable=broad-exception-caught
                continue  # a vaulted value that cannot be decrypted was never sent anywhere either
            if text and text.strip():
                self._values.add(text)

    def mask(self, message: str) -> str:
        """``message`` with every known secret, whole or as an escaped quote of it (``repr``, JSON), replaced by
        ``********`` (longest first), and secret-looking members and bearer credentials too (``redact``)."""
        for value in sorted({form for v in self._values for form in spellings(v)}, key=len, reverse=True):
            message = message.replace(value, MASK)
        return redact(message)
