# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Change safety of a bulk run: the blast-radius guard, the backup file and the plan document.

Functions over plain data and files (no request); the bulk flow calls them between its reads and its
first write.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError, RunFailed
from ansible_collections.telphin.pbx.plugins.module_utils._files import make_directories, write_durably
from ansible_collections.telphin.pbx.plugins.module_utils._numbers import DEFAULT_REGION
from ansible_collections.telphin.pbx.plugins.module_utils._phone import FIELDS, MASK, is_masked_key, managed_view
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import short_name
from ansible_collections.telphin.pbx.plugins.module_utils._unsafe import UNSAFE_TAG, escaped, yaml_entry, yaml_key
from ansible_collections.telphin.pbx.plugins.module_utils._words import MODULE, Words, shown

PLAN_FORMAT = "telphin.pbx.plan/1"
MAX_PLAN_BYTES = 32 * 1024 * 1024   # a plan file or text larger than this is refused unread
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SHOWN = 5           # changes named in a guard refusal
_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
_COUNT = re.compile(r"^\s*([0-9]+)\s*$")


class SafetyError(InputError):
    """A bad safety option, a refused change or an unusable plan or backup file; nothing was written."""


class GuardRefused(SafetyError, RunFailed):
    """The blast-radius guard refused the run; its result says how many phones would change and the first ones
    (``refused``), for the role's summary."""


# -- blast-radius guard ---------------------------------------------------------------------------
FLOOR = 2           # the fewest phones a percentage allows: an hourly run on a small tenant binds one or two


@dataclass(frozen=True)
class ChangeLimit:
    """``max_changes``: a count, or a percentage of the tenant's phone extensions (rounded up, and never fewer
    than ``FLOOR`` phones unless it is 0%)."""

    count: Optional[int] = None
    percent: Optional[float] = None

    def allowed(self, phones: int) -> int:
        if self.count is not None:
            return self.count
        return max(self.share(phones), FLOOR) if self.percent else self.share(phones)

    def share(self, phones: int) -> int:
        return int(math.ceil((self.percent or 0) * phones / 100.0 - 1e-9))

    def describe(self, phones: int, words: Words = MODULE) -> str:
        if self.count is not None:
            return "%s %d" % (words("max_changes"), self.count)
        return "%s %s%% of %d phone extension(s) = %d%s" % (
            words("max_changes"), ("%g" % self.percent), phones, self.allowed(phones),
            " (a share allows at least %d)" % FLOOR if self.allowed(phones) > self.share(phones) else "")


def parse_max_changes(value: Any, words: Words = MODULE) -> Optional[ChangeLimit]:
    """``None`` (no guard), a non-negative integer, or a percentage string such as ``"20%"``."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return ChangeLimit(count=value)
    if isinstance(value, str):
        match = _COUNT.match(value)
        if match:
            return ChangeLimit(count=int(match.group(1)))
        match = _PERCENT.match(value)
        if match and float(match.group(1)) <= 100:
            return ChangeLimit(percent=float(match.group(1)))
    raise SafetyError("%s %r is not a limit: give a number of phones (such as 10) or a percentage of the "
                      "tenant's phone extensions from 0%% to 100%% (such as \"20%%\")" % (words("max_changes"), value))


def guard_refusal(limit: Optional[ChangeLimit], phones: int, changes: Sequence[Tuple[str, Mapping[str, Any],
                                                                                     Mapping[str, Any]]],
                  words: Words = MODULE, inputs: Optional[str] = None) -> Optional[str]:
    """The refusal message when ``changes`` (label, before, after) exceed ``limit``, else ``None``; ``words``
    name the options (the role's variables when the role runs); ``inputs``: what to check, by default the
    bindings."""
    if limit is None or len(changes) <= limit.allowed(phones):
        return None
    listed = first_changes(changes)
    more = len(changes) - len(listed)
    return ("refused by the blast-radius guard, nothing was written: this run would change %d phone(s), above %s. "
            "Check %s (a bad merge or an emptied file changes many phones at once); if the change is intended, "
            "allow it for this run with %s. %s:\n- %s%s"
            % (len(changes), limit.describe(phones, words), inputs or words("bindings"),
               words.for_this_run("max_changes", len(changes)),
               "First %d" % len(listed) if len(listed) < len(changes) else "They are",
               "\n- ".join(listed),
               "\n- ... and %d more" % more if more else ""))


def first_changes(changes: Sequence[Tuple[str, Mapping[str, Any], Mapping[str, Any]]]) -> List[str]:
    """The first ``SHOWN`` of ``changes`` (label, before, after), each as a line: the keys that differ, JSON values."""
    return ["%s: %s" % (shown(label), _change_text(before, after)) for label, before, after in changes[:SHOWN]]


def _change_text(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    keys = [k for k in after if before.get(k) != after.get(k)] or list(after)
    return ", ".join("%s %s -> %s" % (k, json.dumps(before.get(k)), json.dumps(after.get(k))) for k in keys)


# -- backup ---------------------------------------------------------------------------------------
def backup_text(tenant: str, when: datetime.datetime, entries: Iterable[Tuple[str, Mapping[str, Any]]],
                text_keys: Iterable[str], skip: Iterable[str] = ()) -> str:
    """The before-state of the phones a run changes, as YAML in the ``phone_bindings`` format.

    ``entries``: (extension full name, {key: value as the API returned it}) per phone. Keys in ``skip``
    (write-only secrets) are never written. An unset text or number key is written as ``''``, the value
    that clears it; an unset key of another kind cannot be given in bindings and is left as a comment.
    Every mapping and list is tagged ``!unsafe`` and every string double-quoted inside them (``_unsafe``), keys
    too, whatever they hold, so a restore with ``-e @file`` gives back the exact strings and never evaluates them.
    """
    text_keys, skip = set(text_keys), set(skip)
    lines = ["---",
             "# Backup of tenant %s by telphin.pbx.extension_phones, %s: the phones this run changed, as they were."
             % (tenant, when.strftime("%Y-%m-%d %H:%M:%S UTC")),
             "# Restore them: give this list as phone_bindings (for example -e @<this file>) and run the role.",
             UNSAFE_TAG]
    if re.fullmatch(r"[0-9]+", tenant):     # the pin: the role restores them to this client only (issue 30)
        lines.append(yaml_key("phone_bindings_client_id") + ": %d" % int(tenant))
    lines.append(yaml_key("phone_bindings") + ": " + UNSAFE_TAG)
    count = 0
    for name, values in entries:
        lines.append("  - " + UNSAFE_TAG)
        lines.extend(yaml_entry("extension", name, 4))
        count += 1
        for key in sorted(values):
            value = values[key]
            if key in skip:
                continue
            if value is None and key not in text_keys:
                lines.append("    # %s was unset (null), which bindings cannot set back" % escaped(str(key)))
                continue
            lines.extend(yaml_entry(key, "" if value is None else value, 4))
    if not count:
        lines[-1] += " []"
    return "\n".join(lines) + "\n"


def write_private(path: str, text: str, replace: bool = True) -> str:
    """Write ``text`` to ``path`` (directories created) readable by the owner only and on the disk when this
    returns (``_files.write_durably``); return the absolute path.

    Over an existing file with ``replace``, else under a name not taken yet (``path``, or ``<name>.<n><ext>``
    counting from 2; an existing file is never replaced). A symbolic link at ``path`` is refused: it may have been
    planted by another user of a shared directory.
    """
    path = os.path.abspath(os.path.expanduser(path))
    try:
        make_directories(os.path.dirname(path))
        if os.path.islink(path):
            raise SafetyError("refused to write %s: it is a symbolic link, which another user of the directory may "
                              "have planted; remove the link or choose another file" % path)
        path = write_durably(path, text, replace)
    except OSError as exc:
        raise SafetyError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    return path


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def backup_entries(phones: Iterable[Tuple[str, Mapping[str, Any], Iterable[str]]]) -> List[Tuple[str, Dict[str, Any]]]:
    """(extension, {key: value as the API returned it}) of each (extension, phone, keys about to change)."""
    return [(name, {k: current.get(k) for k in keys}) for name, current, keys in phones]


def write_backup(options: Optional[Mapping[str, Any]], client_id: str,
                 phones: Iterable[Tuple[str, Mapping[str, Any], Iterable[str]]],
                 when: Optional[datetime.datetime] = None) -> str:
    """Save (extension, phone as the API returned it, keys about to change) of each phone; return the file."""
    when = when or now()
    entries = backup_entries(phones)
    text = backup_text(client_id, when, entries, [n for n, f in FIELDS.items() if f.kind in ("number", "str", "countries")],
                       skip=[n for n, f in FIELDS.items() if f.write_only or f.secret])
    return write_private(backup_path(options, client_id.replace("@", ""), when), text, replace=False)


def backup_path(options: Optional[Mapping[str, Any]], tenant: str, when: datetime.datetime) -> str:
    """``backup_options`` (``dir_path``, ``filename``) as the network config modules take them."""
    options = options or {}
    directory = options.get("dir_path") or "backup"
    filename = options.get("filename") or "%s_phone_bindings.%s.yml" % (
        re.sub(r"[^0-9A-Za-z_.-]", "_", tenant), when.strftime("%Y-%m-%d@%H:%M:%S"))
    if "/" in filename or filename in (".", ".."):
        raise SafetyError("backup_options.filename %r must be a file name; give the directory as dir_path" % filename)
    return os.path.join(directory, filename)


# -- plan -----------------------------------------------------------------------------------------
def fingerprint(inputs: Mapping[str, Any]) -> str:
    """A digest of the inputs that decide a plan (secret values must already be masked by the caller)."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def inputs_fingerprint(params: Mapping[str, Any], client_id: str) -> str:
    """The fingerprint of the module inputs that decide a plan, with secret values masked (a digest of a short PIN
    would give it away)."""
    bindings = [{k: (MASK if is_masked_key(str(k)) else v) for k, v in item.items()}
                if isinstance(item, Mapping) else item for item in params.get("bindings") or []]
    inputs = {"client_id": client_id, "bindings": bindings, "unbind_unlisted": bool(params.get("unbind_unlisted")),
              "update_password": params.get("update_password") or "always",
              "default_region": str(params.get("default_region") or DEFAULT_REGION).upper()}
    # a policy holds no secret; only when set, so the plans of runs without a policy keep their fingerprint
    inputs.update((k, params[k]) for k in ("policy", "policy_exclude") if params.get(k))
    return fingerprint(inputs)


def write_plan(path: str, params: Mapping[str, Any], client_id: str, region: str, phones: int,
               changes: Iterable[Tuple[int, Optional[str], Mapping[str, Any], Mapping[str, Any]]],
               key: bytes) -> Dict[str, Any]:
    """Write the plan of a check run from (extension id, full name, phone as read, values to write) per change,
    signed with ``key`` (``signing_key``); return ``plan`` and ``plan_path`` for the result."""
    listed = [{"extension": short_name(name or ""), "extension_full_name": name, "extension_id": ext_id,
               "before": managed_view(current, after, region=region), "after": dict(after)}
              for ext_id, name, current, after in changes]
    doc = plan_document(client_id, region, inputs_fingerprint(params, client_id), now(), listed, phones)
    doc["signature"] = plan_signature(doc, key)
    return {"plan": doc, "plan_text": plan_text(doc),
            "plan_path": write_private(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")}


def plan_text(doc: Mapping[str, Any]) -> str:
    """The plan as one JSON text in which no string holds ``{``, ``}``, ``%`` or ``#``: how a plan travels through
    variables.

    Its values include what the tenant's staff stored (the "before" labels); a plan passed as a mapping in an extra
    variable has those strings templated by Ansible when the role reads it. Every one of these characters inside a
    JSON string is written as its ``\\u`` escape, whatever the string holds, so the only braces left are the JSON
    structure's (each ``{`` followed by ``"`` or ``}``), and the text starts with ``{``: it holds no template syntax
    of any ansible-core, and decodes to the same values.
    """
    return _JSON_STRING.sub(_escape_markup, json.dumps(doc, sort_keys=True, ensure_ascii=True))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MARKUP = re.compile(r"[{}%#]")


def _escape_markup(string: "re.Match[str]") -> str:
    return _MARKUP.sub(lambda char: "\\u%04x" % ord(char.group()), string.group())


def signing_key(secret: Optional[str]) -> bytes:
    """The key that signs and checks plans, derived from the run's ``app_secret`` (else its ``access_token``):
    a secret the controller's job holds and the people who read, approve or hand over a plan do not."""
    return hmac.new((secret or "").encode("utf-8"), b"telphin.pbx plan signing key/1", hashlib.sha256).digest()


def plan_signature(doc: Mapping[str, Any], key: bytes) -> str:
    """The HMAC-SHA256 of every member of the plan but ``signature`` (the tenant and the content)."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "hmac-sha256:" + hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def check_signature(doc: Mapping[str, Any], key: bytes, who: str = "apply_plan") -> None:
    """``SafetyError`` unless the plan carries the signature ``key`` gives its content."""
    given = doc.get("signature")
    if not isinstance(given, str) or not given:
        raise SafetyError("%s: the plan is not signed (made before telphin.pbx 1.1.0, or the signature was "
                          "removed); nothing was changed: make the plan again with a check run" % who)
    if not hmac.compare_digest(given.encode("utf-8", "replace"), plan_signature(doc, key).encode("ascii")):
        raise SafetyError("%s: the plan's signature does not match its content: it was changed after the "
                          "check run made it, or that run used other credentials (a plan is signed with the app "
                          "secret, else the access token, of the run that made it, and only a run with the same one "
                          "applies it); nothing was changed: make the plan again" % who)


def plan_document(client_id: str, region: str, digest: str, when: datetime.datetime,
                  changes: List[Dict[str, Any]], phones: int) -> Dict[str, Any]:
    """The plan of one tenant: each change with the phone's values before and the values to write."""
    return {"format": PLAN_FORMAT, "client_id": client_id, "default_region": region, "fingerprint": digest,
            "created": when.strftime(CREATED_FORMAT), "phones": phones, "changes": changes}


def read_plan_file(path: str, who: str = "apply_plan") -> str:
    """The text of the plan file at ``path``: a regular file (a link to one too) of at most ``MAX_PLAN_BYTES``.

    A FIFO, a device (``/dev/zero``), a directory or a socket is refused after ``fstat``, before any read; the file
    is opened without blocking, so a FIFO without a writer cannot hang the run. An absent and an unreadable file get
    one message."""
    shown_path = shown(path)
    try:
        fd = os.open(os.path.expanduser(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        raise SafetyError("%s: no readable plan file at %s (absent, or this run's user may not read it); nothing was "
                          "changed" % (who, shown_path)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SafetyError("%s: %s is not a regular file (a directory, device, FIFO or socket); a plan is a file "
                          "written by a check run; nothing was changed" % (who, shown_path))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_PLAN_BYTES + 1)
    if len(data) > MAX_PLAN_BYTES:
        raise SafetyError("%s: %s is larger than a plan can be (%d MiB); nothing was changed"
                          % (who, shown_path, MAX_PLAN_BYTES // 1048576))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SafetyError("%s: %s is not a plan file (not UTF-8 JSON)" % (who, shown_path)) from None


def load_plan(value: Any, who: str = "apply_plan") -> Dict[str, Any]:
    """A plan given inline (its ``plan_text``, as the role passes it from an AWX workflow's artifacts, or a mapping)
    or as the path of a plan file (``read_plan_file``); ``who`` starts every message (the option and the tenant)."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        if len(value) > MAX_PLAN_BYTES:
            raise SafetyError("%s: the plan's text is larger than a plan can be (%d MiB)"
                              % (who, MAX_PLAN_BYTES // 1048576))
        try:
            value = json.loads(value)
        except ValueError:
            raise SafetyError("%s: the plan's text is not JSON" % who) from None
    elif isinstance(value, str):
        text = read_plan_file(value, who)
        try:
            value = json.loads(text)
        except ValueError:
            raise SafetyError("%s: %s is not a plan file (not JSON)" % (who, shown(value))) from None
    if not isinstance(value, Mapping) or value.get("format") != PLAN_FORMAT:
        raise SafetyError("%s: not a plan of this collection (format %s expected)" % (who, PLAN_FORMAT))
    changes = value.get("changes")
    good = isinstance(changes, list) and all(
        isinstance(c, Mapping) and isinstance(c.get("extension_id"), int) and not isinstance(c.get("extension_id"), bool)
        and isinstance(c.get("before"), Mapping) and isinstance(c.get("after"), Mapping)
        and set(c["before"]) == set(c["after"]) and c["after"] for c in changes)
    if not good or not isinstance(value.get("client_id"), str) or not isinstance(value.get("default_region"), str):
        raise SafetyError("%s: the plan is damaged (client_id, default_region and changes with extension_id, "
                          "before and after are required)" % who)
    ids = [c["extension_id"] for c in changes]
    if len(set(ids)) != len(ids):
        raise SafetyError("%s: the plan lists an extension twice" % who)
    return dict(value)
