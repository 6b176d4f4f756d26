# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs telphin.pbx.api_info in the controller's worker on a local connection, as a module elsewhere."""

from __future__ import annotations

from ansible_collections.telphin.pbx.plugins.plugin_utils._action import TelphinAction


class ActionModule(TelphinAction):
    MODULE = "api_info"
