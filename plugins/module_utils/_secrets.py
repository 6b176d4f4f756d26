# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What counts as a secret, and how secrets are kept out of text, in one place.

- ``is_secret_key``: the key rule (whole names: ``password``, ``app_secret``, ``access_token``, not
  ``bypass_mode``, ``passive_ftp`` or ``token_ttl``).
- ``redact``: a text that quotes a server (an error message, an excerpt of a reply) with the values of
  secret-looking keys, whole or cut short, and every secret known to the caller replaced by ``MASK``; a word of
  prose after ``token:`` (``the token: the server ...``) is not a value.
- ``registrable``: whether a secret may become an Ansible no-log value. Ansible masks those as
  substrings of every output, so a short or digits-only value would mask parts of phone numbers and
  ids; such values are masked by key only.
- ``is_bearer_token``: whether a token may go into an ``Authorization`` header (RFC 6750 characters).
- ``spellings``: a secret as other texts may quote it (escaped as by ``repr`` or JSON).
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Set

MASK = "********"
MIN_REGISTERED = 8          # shortest secret registered as an Ansible no-log value

_KEY = r"(?:[a-z0-9]+_)*(?:password|passwd|secret|token)"
_SECRET_KEY = re.compile(_KEY, re.I)
# A secret-looking JSON member or form field with its value: quoted (possibly cut short) or bare.
_SECRET_MEMBER = re.compile(r'((?<![\w])"?%s"?\s*[:=]\s*)("(?:[^"\\]|\\.)*"?|[^\s,;&}\]]+)' % _KEY, re.I)
# A word of prose after an unquoted "key:" (such as "the token: the server ..."), not a value: a short run of
# lowercase letters with more words after it. Quoted keys, "key=value" and any other value are masked.
_PROSE_WORD = re.compile(r"[a-z]{1,7}")
_PROSE_AFTER = re.compile(r" [A-Za-z(]")
_NUMERIC = re.compile(r"[0-9\s+().\-]*")
# A bearer credential quoted with its scheme, as in an Authorization header an exception repeats.
_BEARER_VALUE = re.compile(r"(?<![\w])(Bearer\s+)[^\s'\"\\,;]+")
# RFC 6750, 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")


def is_secret_key(name: str) -> bool:
    """Whether values under key ``name`` are secrets (the whole name is matched)."""
    return bool(_SECRET_KEY.fullmatch(name))


def is_bearer_token(value: object) -> bool:
    """Whether ``value`` is a token RFC 6750 allows in ``Authorization: Bearer`` (no space, no line break)."""
    return isinstance(value, str) and _B64TOKEN.fullmatch(value) is not None


def spellings(secret: str) -> Set[str]:
    """``secret`` and the escaped forms in which an exception's text or a JSON text may quote it."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], repr(secret.encode("utf-8", "replace"))[2:-1]}
    return {form for form in forms if form}


def registrable(value: str) -> bool:
    """Whether ``value`` may be registered as an Ansible no-log value (long enough, not only digits)."""
    return len(value) >= MIN_REGISTERED and not _NUMERIC.fullmatch(value)


def _masked_member(match: "re.Match[str]") -> str:
    """A secret-looking member with its value masked, unless the "value" is a word of the sentence it is in."""
    prefix, value = match.group(1), match.group(2)
    if (":" in prefix and '"' not in prefix and _PROSE_WORD.fullmatch(value)
            and _PROSE_AFTER.match(match.string, match.end())):
        return match.group(0)
    return prefix + MASK


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secret-looking members, bearer credentials and every value of ``secrets`` replaced by
    ``MASK``.

    Short or digits-only secrets are replaced only where they stand alone (not inside a longer word or
    number), so that a numeric password does not eat into a phone number.
    """
    text = _SECRET_MEMBER.sub(_masked_member, text)
    text = _BEARER_VALUE.sub(lambda m: m.group(1) + MASK, text)
    for secret in sorted({form for s in secrets if s for form in spellings(s)}, key=len, reverse=True):
        if registrable(secret):
            text = text.replace(secret, MASK)
        else:
            text = re.sub(r"(?<![0-9A-Za-z])%s(?![0-9A-Za-z])" % re.escape(secret), MASK, text)
    return text
