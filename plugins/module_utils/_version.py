# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's version, for the default User-Agent. hacking/release.sh sets it with galaxy.yml's."""

from __future__ import annotations

COLLECTION_VERSION = "1.2.0"
