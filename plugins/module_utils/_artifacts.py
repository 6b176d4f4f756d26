# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plans and backups as job artifacts: how they travel in AWX, where a job's files vanish with the job.

A run that writes a plan or a backup also returns it in ``artifacts``, one key per tenant and kind,
``telphin_plan_<client id>`` and ``telphin_backup_<client id>`` (a tenant is its client id, never a name it can
edit; ``@me`` is keyed ``me``): the role publishes them with ``set_stats``. One key per tenant survives AWX's
merge of the artifacts of a sliced job (key by key, the last slice winning) and of a workflow's nodes.

Each value is a JSON text in which no template markup occurs (``_safety.plan_text``): a mapping in an extra variable
would have the tenant's strings templated, and ansible-core 2.19 and later read the controller's ``!unsafe`` scalars
with implicit typing. A backup document is signed like a plan (``_safety.plan_signature``, the run's app secret, else
its access token): restoring one (``restore_backup``, an AWX Undo job) writes exactly what the run that made it read,
for the tenant it read it from, never a list a launcher typed. It holds no secret (no SIP password, no PIN).
"""

from __future__ import annotations

import datetime
import hmac
import json
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS
from ansible_collections.telphin.pbx.plugins.module_utils._safety import (
    SafetyError, backup_entries, now, plan_signature, plan_text, write_backup)

BACKUP_FORMAT = "telphin.pbx.backup/1"
MAX_ARTIFACT_CHARS = 1 << 20     # one artifact's text; AWX keeps artifacts in its database and extra variables
_TEXT_KINDS = ("number", "str", "countries")


def artifact_key(kind: str, client_id: str) -> str:
    """``telphin_<kind>_<client id>``: the artifact of a tenant's ``plan`` or ``backup``."""
    return "telphin_%s_%s" % (kind, client_id.lstrip("@"))


def artifact(kind: str, client_id: str, doc: Mapping[str, Any], path: str,
             warn: Callable[[str], None]) -> Dict[str, str]:
    """{key: text} of one plan or backup, or {} with a warning when its text is over ``MAX_ARTIFACT_CHARS``."""
    text = plan_text(doc)
    if len(text) > MAX_ARTIFACT_CHARS:
        warn("the %s of client %s is %d characters of JSON, over the %d MiB of a job artifact: not published as %s; "
             "its file %s is the only copy (in AWX, keep it on persistent storage, or change fewer phones per job)"
             % (kind, client_id, len(text), MAX_ARTIFACT_CHARS >> 20, artifact_key(kind, client_id), path))
        return {}
    return {artifact_key(kind, client_id): text}


def backup_document(client_id: str, when: datetime.datetime, entries: Iterable[Tuple[str, Mapping[str, Any]]],
                    key: bytes) -> Dict[str, Any]:
    """The backup as data, signed: the ``phone_bindings`` items of the backup file (secrets never; an unset text
    or number key as ``""``; an unset key of another kind, which bindings cannot set back, left out)."""
    items: List[Dict[str, Any]] = []
    for name, values in entries:
        item: Dict[str, Any] = {"extension": name}
        for name_, value in sorted(values.items()):
            field = FIELDS[name_]
            if field.write_only or field.secret or (value is None and field.kind not in _TEXT_KINDS):
                continue
            item[name_] = "" if value is None else value
        items.append(item)
    doc: Dict[str, Any] = {"format": BACKUP_FORMAT, "client_id": client_id,
                           "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "phone_bindings": items}
    doc["signature"] = plan_signature(doc, key)
    return doc


def save_backup(options: Optional[Mapping[str, Any]], client_id: str,
                phones: List[Tuple[str, Mapping[str, Any], Iterable[str]]], key: bytes,
                warn: Callable[[str], None]) -> Dict[str, Any]:
    """Write the backup file (``_safety.write_backup``, on the disk when this returns), and return ``backup_path``
    and the backup as ``artifacts``."""
    when = now()
    path = write_backup(options, client_id, phones, when)
    doc = backup_document(client_id, when, backup_entries(phones), key)
    return {"backup_path": path, "artifacts": artifact("backup", client_id, doc, path, warn)}


def restore_bindings(value: Any, client_id: str, key: bytes) -> Optional[List[Dict[str, Any]]]:
    """The ``phone_bindings`` of the tenant's backup in ``restore_backup``: one backup (its artifact's text or
    mapping), or the artifacts of a job (a mapping, or its JSON text, as AWX shows them), of which the tenant's
    ``telphin_backup_<client id>`` is taken; None when they hold no backup of this tenant (the job did not change
    it). ``SafetyError`` for anything but a backup of this tenant signed with ``key``."""
    doc = _json(value, "restore_backup")
    if isinstance(doc, Mapping) and "format" not in doc:         # a job's artifacts
        if artifact_key("backup", client_id) not in doc:
            return None
        doc = _json(doc[artifact_key("backup", client_id)], artifact_key("backup", client_id))
    if not isinstance(doc, Mapping) or doc.get("format") != BACKUP_FORMAT:
        raise SafetyError("restore_backup: not a backup of this collection (format %s expected)" % BACKUP_FORMAT)
    items = doc.get("phone_bindings")
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise SafetyError("restore_backup: the backup is damaged (phone_bindings must be a list of mappings)")
    given = doc.get("signature")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode("utf-8", "replace"),
                                                             plan_signature(doc, key).encode("ascii")):
        raise SafetyError("restore_backup: the backup's signature does not match its content: it was changed after "
                          "the run that made it, or that run used other credentials (a backup is signed with the app "
                          "secret, else the access token, of its run); nothing was changed")
    if doc.get("client_id") != client_id:
        raise SafetyError("restore_backup: the backup is of client %s, not %s; nothing was changed"
                          % (json.dumps(doc.get("client_id")), client_id))
    return [dict(item) for item in items]


def _json(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SafetyError("restore_backup: %s is not JSON (give the job's artifacts, or one backup, as AWX shows "
                              "them)" % name) from None
    return value
