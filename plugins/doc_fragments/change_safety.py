# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The change-safety options of M(telphin.pbx.extension_phones): the guard, the backup, the plan and its
    application (the engine's ``_safety`` and ``_plan_apply``); its RETURN documents what they return."""

    DOCUMENTATION = r'''
options:
  max_changes:
    description:
      - The blast-radius guard. The most phones this run may change, as a number (V(10)) or as a percentage of the
        tenant's phone extensions (V("20%"), rounded up, and never fewer than 2 phones unless V("0%"); on a tenant
        of 3 phones, an hourly run that binds two new staff members passes, a bad merge that changes all 3 does not).
        Each phone that would get a PUT counts, the unbinds of unlisted phones with O(unbind_unlisted) too, a change of
        the conference PIN alone as well (masked in the refusal); a phone whose only change is a write-only
        C(password) does not (it cannot be compared).
      - When more would change, the task fails before any write, saying how many, listing the first five with
        their before and after values, and naming the value that allows the change for one run. Check mode applies
        the same guard. With O(apply_plan), the plan's changes are counted against the tenant's phone extensions as
        this run reads them, not the number the plan records.
      - Unset, there is no limit. The role C(telphin.pbx.phone_bindings) sets V("20%") by default.
    type: raw
  backup:
    description:
      - Before writing, save the phones this run will change, with the keys it will change as the API returned them,
        to a YAML file in the C(phone_bindings) format; applying that file with the role C(telphin.pbx.phone_bindings)
        restores them. Write-only keys (the SIP C(password)) are never written to it. The file is readable by its owner
        only.
      - Nothing is saved in check mode or when nothing changes. RV(backup_path) returns the file.
      - The file is on the disk (flushed with its directory) before the first write. On a file system without hard
        links it is created under its name exclusively, never replacing a file either.
      - The backup is also returned in RV(artifacts) as C(telphin_backup_<client_id>), signed, for an AWX job's
        artifacts (the role publishes it); O(restore_backup) sets the phones back from it.
    type: bool
    default: false
  backup_options:
    description: Where O(backup) saves, as the network config modules take it.
    type: dict
    suboptions:
      dir_path:
        description: Directory of the backup file, created if missing. Relative paths are relative to the working
          directory of the module (C(backup) by default).
        type: path
      filename:
        description:
          - File name. Default C(<client_id>_phone_bindings.<YYYY-MM-DD@HH:MM:SS>.yml), UTC.
          - A backup never replaces a file. When the name is taken (a backup of the same second, or a fixed
            O(backup_options.filename) used before), the file is saved as C(<name>.2.yml), C(<name>.3.yml), and so on;
            RV(backup_path) returns the name used. A symbolic link at that name is refused (the task fails before any
            write).
        type: str
  plan_path:
    description:
      - In check mode, write the plan of this run to this file (JSON) and return it as RV(plan) to approve it and
        apply it later with O(apply_plan). Outside check mode it is ignored with a warning.
      - The plan lists, per phone that would change, its extension, the managed keys before and after, and records
        the tenant, O(default_region), a fingerprint of the inputs and when it was made. It holds no secrets (a
        C(password) or a C(conference_pin) that items set is not part of it).
      - No plan is written when a phone could not be read.
      - The plan replaces the file at that path as a whole (written to a new private temporary file of the same
        directory first, readable by its owner only). A symbolic link at the path is refused.
    type: path
  apply_plan:
    description:
      - Apply exactly a plan made by a check run with O(plan_path), instead of O(bindings). Give the path of the plan
        file, or the plan itself (its RV(plan_text), as the role passes it from an AWX workflow's artifacts, or the
        mapping RV(plan), but never through an extra variable, where Ansible would template the tenant's values).
      - The plan must carry the signature of a check run with the same app secret (else access token) as this run,
        and is checked again against the tenant before any write; see the change safety guide.
      - The tenant's extension list is read once, then only the phones and keys of the plan are read (one GET each)
        and written, and only where the phone still holds the plan's C(before) values. A phone that holds other values
        is reported V(stale) and not written, and the task fails after applying the others; one that already holds
        the C(after) values is V(unchanged).
      - A plan made longer ago than O(plan_max_age), or dated more than 300 seconds ahead of this run's clock, is
        refused before any request.
      - When O(bindings) are given too and differ from those the plan was made from (or O(unbind_unlisted),
        O(update_password) or O(default_region) do), the plan is refused before any request, because an old plan
        applied again after a later change would undo it. O(plan_allow_changed_bindings=true) applies it anyway, with a
        warning. A run without O(bindings) has none to compare; O(plan_max_age) still bounds it.
      - Every message about the plan names the tenant after C(apply_plan), in parentheses, as
        C(client <id> at <API host>).
      - O(max_changes), O(backup), O(bundle_listing) (with the read-back after the writes when no bundle list was
        read) and check mode apply as to a normal run.
      - A number that is not valid, which the check run accepted with O(number_check=possible), is refused unless
        this run sets O(number_check=possible) too (a plan's entry carries no O(number_check)).
      - A plan given as a path must be a regular file (a link to one is followed) of at most 32 MiB; a directory, a
        device such as C(/dev/zero) or a FIFO is refused before it is read.
    type: raw
  plan_max_age:
    description:
      - The oldest plan O(apply_plan) applies, from the signed time the check run made it to now, as seconds
        (V(3600)) or one number with a unit V(s), V(m), V(h) or V(d) (V(90m), V(36h), V(2d)); from 1 second to 366
        days, nothing else is read.
      - The default of 72 hours lets a plan made on a Friday afternoon be approved and applied on Monday morning.
        A longer age lets an approved plan be applied again long after later changes; a plan's C(before) values
        still keep it from overwriting a phone changed since (such a phone is V(stale)).
    type: raw
    default: 72h
  plan_allow_changed_bindings:
    description:
      - With O(apply_plan), apply the plan even though O(bindings) (or O(unbind_unlisted), O(update_password),
        O(default_region)) differ from those the check run made it from; a warning says so. Set it for one run,
        when the plan was approved knowing that the bindings changed after it.
    type: bool
    default: false
  restore_backup:
    description:
      - Undo a run that made a backup with O(backup), setting the phones back to the values the backup holds instead of
        O(bindings) (nothing is unbound). Give the backup as RV(artifacts) returned it (its text, C(telphin_backup_<client_id>)),
        or the artifacts of a whole AWX job (a mapping of them, or its JSON text, as AWX shows them); the backup of
        this task's O(client_id) is taken, and a job without one leaves the tenant as it is, with a warning.
      - The backup must carry the signature of the run that made it (the same app secret, else access token, as
        this run) and be of this O(client_id), else the task fails before any request.
      - O(max_changes), O(backup) and check mode apply as to a normal run. Mutually exclusive with O(apply_plan).
      - A backup file (YAML) is restored by giving its list as O(bindings) instead (the role's C(-e @file)).
    type: raw
'''
