"""The ansible-core under test, for the tests of behaviour that only some supported versions have."""

from __future__ import annotations

from ansible.module_utils.ansible_release import __version__

ANSIBLE_CORE = tuple(int(part) for part in __version__.split(".")[:2])
# Data tagging (trust_as_template, is_trusted_as_template): plugin strings are untrusted unless tagged.
DATA_TAGGING = ANSIBLE_CORE >= (2, 19)
# A module's result carries `invocation` only when the controller asks (INJECT_INVOCATION, off by default).
INVOCATION_ON_REQUEST = ANSIBLE_CORE >= (2, 21)
# The module argument that asks for it, where ansible-core has that setting.
ASK_FOR_INVOCATION = {"_ansible_inject_invocation": True} if INVOCATION_ON_REQUEST else {}
