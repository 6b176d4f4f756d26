# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only connection: the local connection under another name, so a task counts as "another target".

The collection's action plugins run the engine in the controller's worker only on a ``local`` connection;
through this one they send the module as to any remote host (AnsiballZ payload, a new interpreter), which
lets the integration tests run the module path on one machine.
"""

from __future__ import annotations

DOCUMENTATION = """
    name: remote_stand_in
    short_description: the local connection, presented as a remote one (tests only)
    description:
        - Runs commands on this machine like C(ansible.builtin.local), with another transport name.
    author: telphin.pbx contributors
    extends_documentation_fragment:
        - connection_pipelining
"""

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    transport = "remote_stand_in"
