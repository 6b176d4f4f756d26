"""Bad input catalogue: every case fails with a message naming the offending item, no traceback, no write.

All module cases run as tasks of one playbook (``ignore_errors``, results saved), all role cases as hosts
of one ``telphin.pbx.phone_bindings`` run, so the catalogue costs two ``ansible-playbook`` runs. Each case
authenticates as its own app, so the emulator's request log tells which case sent what; a case that is
refused locally sends nothing at all. Malformed replies come from emulator faults on paths only those
cases use; a wrong ``api_url`` points at a closed port, at a plain web server that answers HTML, or at a
server that trickles its headers a byte at a time (the token then comes from the emulator).
"""

from __future__ import annotations

import datetime
import json
import socket
import socketserver
import shutil
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import yaml

from harness import api_calls, play, tenant_world
from ansible_collections.telphin.pbx.plugins.filter.to_unsafe_yaml import to_unsafe_yaml
from tests import unsafe_yaml
from tests.triggers import TRIGGERS
from tests.unsafe_yaml import untagged
from tests.emulator import Emulator
from tests.reliability.lib import (
    Ansible, phones, puts, record, sign_plan, state_changes, tenant_inventory, tenant_vars, tenants_inventory)

NUMBER = "+79001234567"
# The catalogue runs on a local connection, so the engine runs in the controller's worker: no module
# invocation is logged to syslog (which refuses a NUL on Python 3.12+) and the collection's own check answers.
NUL_REFUSED = "extension '10\\x001' is not an extension name"
BULK_RETURNS = ("results", "summary", "requests", "quota")


@dataclass
class Case:
    id: str
    category: str
    expect: str                                   # a substring of the failure message that names the item
    module: str = "telphin.pbx.extension_phone"
    args: Dict[str, Any] = field(default_factory=dict)
    host_vars: Optional[Dict[str, Any]] = None    # role cases: the inventory host's variables
    credentials: bool = True                      # give this case its own app_id / app_secret
    api_url: Optional[str] = None                 # a wrong api_url ("closed" / "html" / "trickle"), else the emulator
    returns: Tuple[str, ...] = ()                 # keys the failed result must still hold
    applied: bool = False                         # not a failure: a write the module must report as applied
    planted: Optional[str] = None                 # a link to another user's file planted at the path given ("final")
    #                                               or at its old temporary name ("tmp": then not a failure)
    check_mode: bool = False


def phone(**args: Any) -> Dict[str, Any]:
    return args


def bulk(*bindings: Any, **args: Any) -> Dict[str, Any]:
    return dict({"bindings": list(bindings)}, **args)


OVERSIZED = [{"extension_id": i + 1, "label": "x"} for i in range(20001)]


def created(**delta: float) -> str:
    """A plan's ``created``: now plus ``delta`` (negative: in the past)."""
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_text(case_id: str, entry: Tuple[int, str, Dict[str, Any]], edit: bool = False, when: str = "") -> str:
    """A plan of client @me with one change (extension id, full name, values after), made an hour ago (or
    ``when``), signed with the case's app secret (what only the app's holder can make); ``edit``: changed after it
    was signed."""
    ext_id, name, after = entry
    plan = sign_plan({"format": "telphin.pbx.plan/1", "client_id": "@me", "default_region": "RU",
                      "fingerprint": "sha256:0", "created": when or created(hours=-1), "phones": 6,
                      "changes": [{"extension": name.split("*")[-1], "extension_full_name": name,
                                   "extension_id": ext_id, "before": {k: None for k in after}, "after": after}]},
                     "secret-" + case_id)
    if edit:
        plan["phones"] = 1000
    return json.dumps(plan)


CASES: List[Case] = [
    # wrong types and bad choices (refused by the argument spec, before any request)
    Case("ext_id_not_int", "wrong type", "argument 'extension_id' is of type",
         args=phone(extension_id="abc", label="x")),
    Case("bool_not_bool", "wrong type", "argument 'record_enabled' is of type",
         args=phone(extension_id=2, record_enabled="maybe")),
    Case("int_not_int", "wrong type", "argument 'incoming_limit' is of type",
         args=phone(extension_id=2, incoming_limit="lots")),
    Case("geo_not_list", "wrong type", "geo_list item 'RUS' is not a two-letter ISO country code",
         args=phone(extension_id=2, geo_list="RUS")),
    Case("auth_type_choice", "bad choice", "value of auth_type must be one of: digest, network, both, got: kerberos",
         args=phone(extension_id=2, auth_type="kerberos")),
    Case("record_format_choice", "bad choice", "value of record_format must be one of",
         args=phone(extension_id=2, record_format="flac")),
    Case("update_password_choice", "bad choice",
         "value of update_password must be one of: always, never, got: sometimes",
         module="telphin.pbx.extension_phones",
         args=bulk({"extension": "101", "label": "x"}, update_password="sometimes")),
    Case("type_not_a_name", "bad choice", "extension type 'trunk line' is not a type name such as phone",
         module="telphin.pbx.extension_info", args={"type": "trunk line"}),
    Case("both_refs", "bad choice", "parameters are mutually exclusive: extension_id|extension_name",
         args=phone(extension_id=2, extension_name="101", label="x")),
    Case("no_ref", "bad choice", "one of the following is required: extension_id, extension_name",
         args=phone(label="x")),
    Case("parallel_range", "bad choice",
         "parallel must be between 1 and 6 (the API allows few simultaneous requests), got 99",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": "x"}, parallel=99)),
    Case("info_parallel_range", "bad choice", "parallel must be between 1 and 6",
         module="telphin.pbx.extension_phone_info",
         args={"parallel": 0}),
    Case("timeout_zero", "bad choice", "timeout must be a positive number of seconds",
         args=phone(extension_id=2, label="x", timeout=0)),
    Case("reserve_negative", "bad choice", "quota_reserve must be 0 or more",
         args=phone(extension_id=2, label="x", quota_reserve=-5)),
    # malformed and ambiguous numbers
    # Numbers are parsed by phonenumbers: a double plus, en dashes and Arabic-Indic digits are forms of one number
    # (tests/unit/plugins/module_utils/test_numbers.py), not bad input.
    Case("number_letters", "malformed number",
         "external_number '+7 999 CALL-ME' (+7999225563) is not a possible phone number: too short",
         args=phone(extension_id=2, external_number="+7 999 CALL-ME")),
    Case("number_short", "malformed number", "external_number '1234' (+71234) is not a possible phone number",
         args=phone(extension_id=2, external_number="1234")),
    Case("number_long", "malformed number",
         "external_number '+1234567890123456' (+1234567890123456) is not a possible phone number: too long",
         args=phone(extension_id=2, external_number="+1234567890123456")),
    Case("number_inner_plus", "malformed number", "external_number '7+9001234567' is not a phone number",
         args=phone(extension_id=2, external_number="7+9001234567")),
    Case("number_float", "malformed number",
         "bindings[0] (extension 101): external_number 7.5 is a number, not a string: quote the number in YAML",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "external_number": 7.5})),
    Case("number_newline", "control characters", "external_number '+7900\\n1234567' is not a phone number: it contains control characters",
         args=phone(extension_id=2, external_number="+7900\n1234567")),
    Case("number_int", "malformed number", "external_number 33896823 is an integer, not a string: quote the number",
         args=phone(extension_id=2, external_number=33896823)),              # YAML: unquoted 0201234567 (octal)
    Case("number_int_bulk", "malformed number",
         "bindings[0] (extension 101): external_number 79876543210 is an integer, not a string: quote the number",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "external_number": 79876543210})),
    Case("number_trailing_newline", "control characters", "external_number '+79001234567\\n' ",
         args=phone(extension_id=2, external_number=NUMBER + "\n")),           # refused, whatever the wording
    Case("number_twice", "ambiguous number", "external number +79001234567 is given to 2 extensions",
         module="telphin.pbx.extension_phones",
         args=bulk({"extension": "101", "external_number": NUMBER},
                   {"extension": "102", "external_number": "+7 900 123-45-67"})),
    # unknown, non-phone, duplicate and ambiguous extensions
    Case("unknown_name", "unknown extension", "extension 999 does not exist in this client (client_id @me)",
         args=phone(extension_name="999", label="x")),
    Case("unknown_id", "unknown extension", "extension id 99999: GET /extension/99999/phone/: HTTP 404",
         args=phone(extension_id=99999, label="x")),
    Case("queue_name", "non-phone extension", "extension 010*500 is a queue extension, not a phone",
         args=phone(extension_name="500", external_number=NUMBER)),
    Case("ivr_in_bulk", "non-phone extension", "bindings[0] (extension 600): extension 010*600 is a ivr extension",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "600", "label": "x"})),
    Case("ambiguous_name", "ambiguous extension", "extension 100 is ambiguous: it matches 010*100, 099*100",
         args=phone(extension_name="100", label="x")),
    Case("duplicate_in_bulk", "duplicate extension",
         "bindings[1] (extension 010*101) names the same extension as bindings[0] (extension 101): list it once "
         "(to compose lists, merge them by extension with telphin.pbx.merge_bindings)",
         module="telphin.pbx.extension_phones",
         args=bulk({"extension": "101", "label": "a"}, {"extension": "010*101", "label": "b"})),
    Case("duplicate_by_id", "duplicate extension",
         "bindings[1] (extension_id 3) names the same extension as bindings[0] (extension 102) (010*102, id 3): list "
         "it once", module="telphin.pbx.extension_phones",
         args=bulk({"extension": "102", "label": "a"}, {"extension_id": 3, "label": "b"})),
    Case("foreign_extension", "unknown extension", "GET /extension/22/phone/: HTTP 403 access_denied",
         args=phone(extension_id=22, label="x")),
    Case("foreign_client", "unknown extension", "GET /client/1004/extension/: HTTP 403 access_denied",
         args=phone(extension_name="101", client_id="1004", label="x")),
    Case("dealer_id_of_other_client", "tenant isolation", "extension_id 2 is not an extension of this client (client_id 1004)",
         args=phone(extension_id=2, client_id="1004", label="x")),           # a dealer app that may reach both
    # bulk item structure, conflicts, empty and oversized lists
    Case("both_keys_in_item", "bulk item", "bindings[0]: give exactly one of extension or extension_id",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "extension_id": 2, "label": "x"})),
    Case("typo_key", "bulk item", "bindings[0] (extension 101): unknown key(s) external_numbr",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "external_numbr": NUMBER})),
    Case("nothing_set", "bulk item", "bindings[0] (extension 101): sets no phone property",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101"})),
    Case("ext_id_negative", "bulk item", "bindings[0]: extension_id '-3' is not a positive integer",
         module="telphin.pbx.extension_phones", args=bulk({"extension_id": "-3", "label": "x"})),
    Case("ext_id_superscript", "odd Unicode", "bindings[0]: extension_id '\u00b2' is not a positive integer",
         module="telphin.pbx.extension_phones", args=bulk({"extension_id": "\u00b2", "label": "x"})),
    Case("ext_id_bool", "bulk item", "bindings[0]: extension_id True is not a positive integer",
         module="telphin.pbx.extension_phones", args=bulk({"extension_id": True, "label": "x"})),
    Case("label_dict", "wrong type", "bindings[0] (extension 101): label must be a string, got {'a': 1}",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": {"a": 1}})),
    Case("password_list", "wrong type", "bindings[0] (extension 101): password must be a string, got a list",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "password": ["Sip-Pass-Case"]})),
    Case("item_not_mapping", "wrong type", "bindings[0]: give exactly one of extension or extension_id",
         module="telphin.pbx.extension_phones", args=bulk("101=+79001234567")),
    Case("bundle_conflict", "bundle conflict",
         "bundle conflict on synchronised key record_enabled: extensions 010*101, 010*102",
         module="telphin.pbx.extension_phones",
         args=bulk({"extension": "101", "record_enabled": True}, {"extension": "102", "record_enabled": False})),
    Case("empty_prune", "empty list", "bindings is empty and unbind_unlisted is true",
         module="telphin.pbx.extension_phones", args=bulk(unbind_unlisted=True)),
    Case("oversized", "oversized list", "bindings has 20001 items; at most 20000 per call",
         module="telphin.pbx.extension_phones",
         args={"bindings": "{{ lookup('ansible.builtin.file', 'oversized.json') | from_json }}"}),
    # odd Unicode, control characters, path-like and @me-like names
    Case("label_bell", "control characters", "label contains control characters: 'Desk\\x07'",
         args=phone(extension_id=2, label="Desk\x07")),
    Case("label_zero_width", "odd Unicode", "label contains control characters: 'Desk\\u200b'",
         args=phone(extension_id=2, label="Desk\u200b")),
    Case("name_rtl_override", "odd Unicode", "extension '10\\u202e1' is not an extension name",
         args=phone(extension_name="10\u202e1", label="x")),
    Case("name_fullwidth_digits", "odd Unicode", "bindings[0]: extension '\uff11\uff10\uff11' is not an extension name",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "\uff11\uff10\uff11", "label": "x"})),
    Case("name_nul", "control characters", NUL_REFUSED,
         args=phone(extension_name="10\x001", label="x")),
    Case("name_path_up", "path-like name", "extension '../101' is not an extension name",
         args=phone(extension_name="../101", label="x")),
    Case("name_path_slash", "path-like name", "bindings[0]: extension '010/101' is not an extension name",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "010/101", "label": "x"})),
    Case("name_query", "path-like name", "extension '101?page=2' is not an extension name",
         args=phone(extension_name="101?page=2", label="x")),
    Case("name_at_me", "@me-like name", "extension '@me' is not an extension name",
         args=phone(extension_name="@me", label="x")),
    Case("client_path", "path-like name", "client_id '1001/../1002' is not a client id",
         args=phone(extension_name="101", client_id="1001/../1002", label="x")),
    Case("client_at_you", "@me-like name", "client_id '@you' is not a client id",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": "x"}, client_id="@you")),
    # credentials and api_url
    Case("no_credentials", "credentials", "no API credentials: set app_id and app_secret", credentials=False,
         args=phone(extension_id=2, label="x")),
    Case("wrong_secret", "credentials", "the token endpoint refused app_id 'wrong_secret' (HTTP 401 invalid_client)",
         args=phone(extension_id=2, label="x", app_secret="not-the-secret")),
    Case("api_url_no_scheme", "api_url", "api_url 'apiproxy.telphin.ru' is not an http(s) URL",
         args=phone(extension_id=2, label="x", api_url="apiproxy.telphin.ru")),
    Case("api_url_plain_http", "api_url", "api_url http://apiproxy.telphin.ru uses plain http",
         args=phone(extension_id=2, label="x", api_url="http://apiproxy.telphin.ru")),
    Case("api_url_closed_port", "api_url", "POST /oauth/token failed after 5 attempt(s): Connection refused (http://",
         api_url="closed",
         args=phone(extension_id=2, label="x")),
    # https:// on a port that serves plain HTTP: no advice to set validate_certs: false (it is false already)
    Case("api_url_https_on_http", "api_url", "): an https:// URL on a port that serves plain HTTP?: give the "
         "provider's https:// address and port, or http:// for a test server on this machine (allow_plain_http for "
         "one elsewhere)", api_url="https_on_http", args=phone(extension_id=2, label="x", validate_certs=False)),
    Case("api_url_html_server", "api_url", "replied HTTP 200 with HTML instead of the API's JSON", api_url="html",
         args=phone(extension_id=2, label="x")),
    # malformed replies (emulator faults on paths only these cases use)
    Case("reply_html_phone", "malformed reply", "GET /extension/102/phone/: the server replied HTTP 200 with HTML",
         args=phone(extension_id=102, label="x")),
    Case("reply_truncated_phone", "malformed reply", "GET /extension/103/phone/: the server replied HTTP 200 with "
         "malformed JSON", args=phone(extension_id=103, label="x")),
    Case("reply_html_list", "malformed reply", "GET /client/1002/extension/: the server replied HTTP 200 with HTML",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": "x"}, client_id="1002")),
    Case("reply_truncated_list", "malformed reply",
         "GET /client/1003/extension/: the server replied HTTP 200 with malformed JSON",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": "x"}, client_id="1003")),
    # a server that never ends a list (client 1005's list is endless: every page full of new ids)
    Case("reply_endless_pages", "hostile server", "GET /client/1005/extension/: the list does not end",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": "x"}, client_id="1005"),
         returns=("requests",)),
    Case("reply_deeply_nested", "malformed reply", "010*110 (id 106): GET /extension/106/phone/: the server replied "
         "HTTP 200 with malformed JSON", module="telphin.pbx.extension_phones",
         args=bulk({"extension": "110", "label": "x"}), returns=BULK_RETURNS),
    # hostile headers: the run still ends with its results, whatever a server sends
    Case("retry_after_nan", "hostile header", "010*108 (id 104): GET /extension/104/phone/ failed after 5 attempt(s): "
         "HTTP 503", module="telphin.pbx.extension_phones", args=bulk({"extension": "108", "label": "x"}),
         returns=BULK_RETURNS),
    Case("rate_limit_1e999", "hostile header", "010*109 (id 105): GET /extension/105/phone/ failed after 5 attempt(s): "
         "HTTP 503", module="telphin.pbx.extension_phones", args=bulk({"extension": "109", "label": "x"}),
         returns=BULK_RETURNS),
    # a server that sends its headers a byte at a time: each attempt ends at the timeout, retried like any timeout
    Case("reply_trickled_headers", "hostile server", "GET /extension/2/phone/ failed after 5 attempt(s): no complete "
         "reply within 0.5 s (timeout)", api_url="trickle", args=phone(extension_id=2, label="x", timeout=0.5)),
    # a link another user of a shared directory planted where a plan or a backup is written: never written through
    Case("plan_link_at_path", "planted link", "it is a symbolic link, which another user of the directory may have "
         "planted", module="telphin.pbx.extension_phones", check_mode=True, planted="final",
         args=bulk({"extension": "101", "label": "x"}, plan_path="PLANTED/plan_link_at_path.json")),
    Case("backup_link_at_path", "planted link", "backup_link_at_path.yml: it is a symbolic link",
         module="telphin.pbx.extension_phones", planted="final",
         args=bulk({"extension": "101", "label": "x"}, backup=True,
                   backup_options={"dir_path": "PLANTED", "filename": "backup_link_at_path.yml"})),
    Case("plan_link_at_old_tmp", "planted link", "", module="telphin.pbx.extension_phones", check_mode=True,
         planted="tmp", args=bulk({"extension": "101", "label": "x"}, plan_path="PLANTED/plan_link_at_old_tmp.json")),
    # a gzip reply that decodes to 64 MiB (about 64 KB on the wire): the request fails at 8 MiB decoded, not retried
    Case("reply_gzip_bomb", "hostile server", "GET /extension/110/phone/: the reply is larger than 8 MiB once "
         "decoded; not read further", args=phone(extension_id=110, label="x")),
    # tampered plans (issue 19): refused before any write, naming the entry
    Case("plan_edited_after_signing", "tampered plan", "apply_plan (client @me at 127.0.0.1): the plan's signature "
         "does not match its content",
         module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_edited_after_signing", (9, "020*101", {"label": "x"}), edit=True)}),
    Case("plan_other_tenant", "tampered plan", "changes[0] (extension_id 9): extension_id 9 is not an extension of "
         "this client", module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_other_tenant", (9, "020*101", {"external_number": NUMBER}))}),
    Case("plan_sip_password", "tampered plan", "changes[0] (extension_id 2): password: a secret is never part of a "
         "plan", module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_sip_password", (2, "010*101", {"password": "Sip-Plan-4040x"}))}),
    Case("plan_label_crlf", "tampered plan", "changes[0] (extension_id 2): label contains control characters",
         module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_label_crlf", (2, "010*101", {"label": "Desk\r\nX-Injected: 1"}))}),
    Case("plan_unknown_key", "tampered plan", "changes[0] (extension_id 2): unknown key(s) 'evil'",
         module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_unknown_key", (2, "010*101", {"label": "x", "evil": 1}))}),
    # a signed plan expires, and belongs to the bindings it was made from (issue 30, item 6): refused before any request
    Case("plan_expired", "expired plan", "ago, longer ago than plan_max_age 72h allows; nothing was changed",
         module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_expired", (2, "010*101", {"label": "x"}), when=created(days=-4))}),
    Case("plan_from_the_future", "expired plan", "a plan from the future is refused (a clock skew up to 300 s is "
         "allowed)", module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_from_the_future", (2, "010*101", {"label": "x"}), when=created(days=1))}),
    Case("plan_max_age_bad", "bad choice", "- plan_max_age \"36 hours\" is not a duration",
         module="telphin.pbx.extension_phones", args=bulk({"extension": "101", "label": "x"}, plan_max_age="36 hours")),
    Case("plan_other_bindings", "expired plan", "the bindings changed since the plan was made",
         module="telphin.pbx.extension_phones",
         args={"apply_plan": plan_text("plan_other_bindings", (2, "010*101", {"label": "x"})),
               "bindings": [{"extension": "101", "label": "y"}]}),
    # a plan path that is not a regular file (issue 30, item 7): refused before it is read, before any request
    Case("plan_dev_zero", "plan file", "apply_plan (client @me at 127.0.0.1): /dev/zero is not a regular file (a "
         "directory, device, FIFO or socket)", module="telphin.pbx.extension_phones", args={"apply_plan": "/dev/zero"}),
    Case("plan_directory", "plan file", "/tmp is not a regular file", module="telphin.pbx.extension_phones",
         args={"apply_plan": "/tmp"}),
    Case("plan_absent", "plan file", "no readable plan file at /nonexistent/tenant1.plan.json (absent, or this run's "
         "user may not read it)", module="telphin.pbx.extension_phones",
         args={"apply_plan": "/nonexistent/tenant1.plan.json"}),
    # not a failure: a PUT that went through although its reply was cut short is reported as applied
    Case("reply_cut_after_put", "malformed reply", "", args=phone(extension_id=107, external_number=NUMBER),
         applied=True),
]

ROLE_CASES: List[Case] = [
    # phone_bindings is checked by the module (type raw in the role's argument spec), in the role's words
    Case("role_bindings_not_list", "role: wrong type", "Elements value for option 'phone_bindings' is of type",
         host_vars={"phone_bindings": "oops"}),
    Case("role_bindings_dict", "role: wrong type",
         "phone_bindings is a mapping; it must be a list, one item per extension, for example:\nphone_bindings:\n"
         "  - extension: \"100\"\n    external_number: \"+79876543210\"\n",
         host_vars={"phone_bindings": {"101": NUMBER}}),
    Case("role_extension_int", "role: bulk item", "phone_bindings[0]: extension 65 is an integer, not a string: quote "
         "the name in YAML (for example extension: \"0101\"), or YAML may change it (a leading 0 makes an octal "
         "number: 0101 is read as 65)", host_vars={"phone_bindings": [{"extension": 0o101, "external_number": NUMBER}]}),
    Case("role_listed_twice", "role: duplicate extension",
         "phone_bindings[2] (extension 010*101) names the same extension as phone_bindings[0] (extension 101): list "
         "it once", host_vars={"phone_bindings": [{"extension": "101", "external_number": NUMBER},
                                                  {"extension": "102", "label": "x"},
                                                  {"extension": "010*101", "label": "y"}]}),
    Case("role_null_number", "role: bulk item", "phone_bindings[0] (extension 101): sets no phone property: "
         "external_number is empty (null), which leaves the number as it is; to unbind it give external_number: \"\"",
         host_vars={"phone_bindings": [{"extension": "101", "external_number": None}]}),
    Case("role_number_of_another_country", "role: malformed number",
         "phone_bindings[0] (extension 101): external_number '(512) 555-0110' is not a valid number of region RU (read "
         "there as +75125550110): write it in E.164, with + and its country code, such as +15125550110 if it is a "
         "number of US or +435125550110 if it is a number of AT; if the number is right as written, accept it with "
         "number_check: possible on the item, or -e phone_bindings_number_check=possible",
         host_vars={"phone_bindings": [{"extension": "101", "external_number": "(512) 555-0110"}]}),
    Case("role_max_changes_bad", "role: bad choice", "- phone_bindings_max_changes 'lots' is not a limit",
         host_vars={"phone_bindings_max_changes": "lots"}),
    Case("role_plan_max_age_bad", "role: bad choice", "- phone_bindings_plan_max_age \"1.5h\" is not a duration",
         host_vars={"phone_bindings_plan_max_age": "1.5h"}),
    Case("role_parallel_range", "role: bad choice", "- phone_bindings_parallel must be between 1 and 6",
         host_vars={"phone_bindings_parallel": 9}),
    Case("role_parallel_not_int", "role: wrong type", "argument 'phone_bindings_parallel' is of type",
         host_vars={"phone_bindings_parallel": "many"}),
    Case("role_update_password_choice", "role: bad choice",
         "value of phone_bindings_update_password must be one of: always, never, got: sometimes",
         host_vars={"phone_bindings_update_password": "sometimes"}),
    Case("role_prune_not_bool", "role: wrong type", "argument 'phone_bindings_unbind_unlisted' is of type",
         host_vars={"phone_bindings_unbind_unlisted": "perhaps"}),
    Case("role_validate_certs_not_bool", "role: wrong type", "argument 'telphin_validate_certs' is of type",
         host_vars={"telphin_validate_certs": "maybe"}),
    Case("role_typo_key", "role: bulk item", "phone_bindings[1] (extension 102): unknown key(s) extenal_number",
         host_vars={"phone_bindings": [{"extension": "101", "external_number": NUMBER},
                                       {"extension": "102", "extenal_number": "+79001234568"}]}),
    Case("role_number_twice", "role: ambiguous number", "external number +79001234567 is given to 2 extensions",
         host_vars={"phone_bindings": [{"extension": "101", "external_number": NUMBER},
                                       {"extension_id": 3, "external_number": NUMBER}]}),
    Case("role_no_secret", "role: credentials", "parameters are required together: app_id, app_secret",
         credentials=False, host_vars={"telphin_app_id": "role_no_secret"}),
    Case("role_empty_prune", "role: empty list", "phone_bindings is empty and phone_bindings_unbind_unlisted is true",
         host_vars={"phone_bindings": [], "phone_bindings_unbind_unlisted": True}),
    Case("role_reserve_negative", "role: bad choice", "telphin_quota_reserve must be 0 or more",
         host_vars={"telphin_quota_reserve": -1}),
    Case("role_client_path", "role: path-like name", "telphin_client_id '../1002' is not a client id",
         host_vars={"telphin_client_id": "../1002"}),
    Case("role_bundle_conflict", "role: bundle conflict", "bundle conflict on synchronised key geo_list",
         host_vars={"phone_bindings": [{"extension": "101", "geo_list": ["RU"]},
                                       {"extension": "102", "geo_list": ["BY"]}]}),
    Case("role_non_phone", "role: non-phone extension", "phone_bindings[0] (extension 500): extension 010*500 is a queue "
         "extension", host_vars={"phone_bindings": [{"extension": "500", "external_number": NUMBER}]}),
    # A tenant is its client id (issue 30): the variables the telphin.pbx.tenants plugin gives a host, as host_vars
    Case("role_pinned_elsewhere", "role: another tenant's bindings", "the bindings are pinned to client 1002 "
         "(phone_bindings_client_id), but this host is client 1001", host_vars={"phone_bindings_client_id": 1002}),
    Case("role_unpinned_name_host", "role: another tenant's bindings", "its host name comes from the tenant's name, "
         "which the tenant can edit, and its phone_bindings carry no phone_bindings_client_id",
         host_vars={"telphin_host_name_from": "name", "telphin_client": {"id": 1001, "name": "Acme"}}),
    Case("role_host_vars_client_id", "role: another tenant's bindings", "telphin_client_id is 1001, but the inventory "
         "(telphin.pbx.tenants) gives host role_host_vars_client_id client 1050",
         host_vars={"telphin_host_name_from": "name", "telphin_client": {"id": 1050, "name": "Acme"},
                    "phone_bindings_client_id": 1001}),
    Case("role_shared_host_name", "role: another tenant's bindings", "its name gives the host name 'acme', as the name "
         "of client 999 does", host_vars={"telphin_host_name_from": "name", "phone_bindings_client_id": 1001,
                                          "telphin_client": {"id": 1001, "name": "Acme"},
                                          "telphin_host_name_conflict": {"name": "acme", "clients": [999, 1001],
                                                                         "reserved": False}}),
    Case("role_reserved_host_name", "role: reserved host name", "the host name its name gives, 'localhost', is one "
         "Ansible reserves", host_vars={"telphin_host_name_from": "name", "telphin_client": {"id": 1001},
                                        "telphin_host_name_conflict": {"name": "localhost", "clients": [1001],
                                                                       "reserved": True}}),
]

ALL = CASES + ROLE_CASES
FAILING = [c for c in ALL if not c.applied and c.planted != "tmp"]
PLANTED = [c for c in ALL if c.planted]
APPLIED = [c for c in ALL if c.applied]
APPLIED_WHERE = ".clients[1001].extensions[107]."     # what the applied case may change
DEFAULT_BINDINGS = [{"extension": "101", "external_number": NUMBER}]


def world() -> Dict[str, Any]:
    """Four tenants (ids 1-7, 8-14, 15-21, 22-28); tenant 1 also has an ivr, a phone 099*100 that makes "100"
    ambiguous, phones 102/103 whose GET replies are broken, a bundle 101+102; client 1005 whose extension list
    never ends; one app per case."""
    data = tenant_world(tenants=4, phones=6)
    acme = data["clients"][0]
    acme["extensions"] += [{"id": 100, "name": "600", "type": "ivr"},
                           {"id": 101, "name": "099*100", "type": "phone"},
                           {"id": 102, "name": "106", "type": "phone"},
                           {"id": 103, "name": "107", "type": "phone"}]
    acme["extensions"] += [{"id": 104 + i, "name": str(108 + i), "type": "phone", "phone": {"external_number": None}}
                           for i in range(4)]    # replies with hostile headers (104, 105), nested (106), cut PUT (107)
    acme["extensions"].append({"id": 110, "name": "120", "type": "phone", "phone": {"label": "Desk"}})  # gzip bomb
    acme["bundles"] = [{"main": 2, "members": [2, 3]}]
    data["clients"].append({"id": 1005, "name": "Endless", "prefix": "050", "extensions": []})
    data["defaults"]["endless_pages"] = [1005]    # its extension list never ends (a provider variant)
    data["dealers"] = [{"id": 1}]                 # dealer 1 serves tenants 1 (1001) and 4 (1004)
    data["clients"][0]["dealer_id"] = data["clients"][3]["dealer_id"] = 1
    for case in ALL:
        client = {"reply_html_list": 1002, "reply_truncated_list": 1003, "reply_endless_pages": 1005}.get(case.id, 1001)
        user = {"id": 600 + len(data["apps"]), "login": case.id, "client_id": client}
        if case.id == "dealer_id_of_other_client":
            user.update(client_id=None, dealer_id=1)
        data["apps"].append({"app_id": case.id, "app_secret": "secret-" + case.id, "user": user})
    return data


FAULTS = [{"match": {"path": "/extension/102/phone/"}, "action": "html"},
          {"match": {"path": "/extension/103/phone/"}, "action": "truncated_json"},
          {"match": {"path": "/client/1002/extension/"}, "action": "html"},
          {"match": {"path": "/client/1003/extension/"}, "action": "truncated_json"},
          {"match": {"path": "/extension/104/phone/"}, "action": "status", "status": 503,
           "headers": {"Retry-After": "nan"}},
          {"match": {"path": "/extension/105/phone/"}, "action": "status", "status": 503,
           "headers": {"X-RateLimit-Remaining": "1e999", "X-RateLimit-Limit": "1e999", "X-RateLimit-Reset": "nan"}},
          {"match": {"path": "/extension/106/phone/"}, "action": "status", "status": 200, "text": "[" * 100000},
          {"match": {"method": "PUT", "path": "/extension/107/phone/"}, "action": "truncated_json"},
          {"match": {"path": "/extension/110/phone/"}, "action": "gzip_bomb"}]


class HtmlSite(BaseHTTPRequestHandler):
    """A web server that is not the API: every request gets a 200 HTML page."""

    def _page(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _page

    def log_message(self, *args: Any) -> None:
        pass


class TrickleSite(socketserver.ThreadingTCPServer):
    """Answers every request with a status line and then a header a byte every 50 ms, never ending the headers
    (until ``stop`` or 30 s): no socket read of the client ever waits long."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), TrickleHandler)
        self.stop = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class TrickleHandler(socketserver.BaseRequestHandler):
    server: TrickleSite

    def handle(self) -> None:
        self.request.recv(65536)
        try:
            self.request.sendall(b"HTTP/1.1 200 OK\r\nX-Padding: ")
            for dummy in range(600):
                if self.server.stop.wait(0.05):
                    return
                self.request.sendall(b"a")
        except OSError:
            pass                # the client gave up at its timeout


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MODULES = ("extension_phone", "extension_phones", "extension_info", "extension_phone_info")
MODULE_TASKS = """
    - name: Run the module with the case's arguments
      telphin.pbx.%s:
      args: "{{ case_args }}"
      check_mode: "{{ case_check_mode | default(false) }}"
      register: case_result
      ignore_errors: true
    """
ROLE_TASKS = """
    - name: Roll out
      block:
        - name: The phone_bindings role
          ansible.builtin.import_role:
            name: telphin.pbx.phone_bindings
      rescue:
        - name: Keep the failure of the case
          ansible.builtin.set_fact:
            case_result: "{{ ansible_failed_result }}"
    """
SAVE_TASKS = """
    - name: Save
      ansible.builtin.copy:
        content: "{{ dict(cases | zip(cases | map('extract', hostvars, 'case_result') | list)) | to_json }}"
        dest: "{{ results_dir }}/cases.json"
        mode: "0600"
      vars:
        cases: "{{ groups.module_cases + groups.telphin_tenants }}"
    """
MODULE_PLAYS = [play(MODULE_TASKS % module, "Bad input catalogue (telphin.pbx.%s, one case per host)" % module,
                     hosts="cases_" + module) for module in MODULES]
ROLE_PLAY = play(ROLE_TASKS, "Bad input catalogue (the phone_bindings role, one case per host)", hosts="telphin_tenants")
PLAY = "\n".join(MODULE_PLAYS + [ROLE_PLAY, play(SAVE_TASKS, "Save the results of every case")])


def inventory(emu_url: str, urls: Dict[str, str], planted: Path) -> Dict[str, Any]:
    modules = {}
    for case in CASES:
        args = json.loads(json.dumps(case.args).replace('"PLANTED', json.dumps(str(planted))[:-1]))
        args.setdefault("api_url", urls.get(case.api_url or "", emu_url))
        if case.api_url == "trickle":
            args.setdefault("token_url", emu_url + "/oauth/token")
        if case.credentials:
            args.setdefault("app_id", case.id)
            args.setdefault("app_secret", "secret-" + case.id)
        host = {"case_args": args, "case_check_mode": case.check_mode}
        modules.setdefault(case.module.rsplit(".", maxsplit=1)[-1], {})[case.id] = host
    roles = {case.id: tenant_vars(1001, emu_url, DEFAULT_BINDINGS, case.id if case.credentials else None,
                                  "secret-" + case.id if case.credentials else None, **(case.host_vars or {}))
             for case in ROLE_CASES}
    module_cases = {"children": {"cases_" + m: {"hosts": modules.get(m, {})} for m in MODULES}}
    return tenants_inventory(roles, localhost=True, groups={"module_cases": module_cases})


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bad-input")
    ansible = Ansible(workdir)
    ansible.write("oversized.json", json.dumps(OVERSIZED))
    site = ThreadingHTTPServer(("127.0.0.1", 0), HtmlSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    trickle = TrickleSite()
    threading.Thread(target=trickle.serve_forever, daemon=True).start()
    urls = {"closed": "http://127.0.0.1:%d" % closed_port(), "html": "http://127.0.0.1:%d" % site.server_address[1],
            "https_on_http": "https://127.0.0.1:%d" % site.server_address[1],
            "trickle": "http://127.0.0.1:%d" % trickle.server_address[1]}
    planted = plant_links(workdir / "planted")
    with Emulator(world()) as emu:
        emu.set_faults(FAULTS)
        before = emu.state()
        run = ansible.run(str(ansible.write("catalogue.yml", PLAY)), inventory(emu.url, urls, workdir / "planted"),
                          "--forks", "8")
        after = emu.state()
        log = emu.requests()
    site.shutdown()
    trickle.stop.set()
    trickle.shutdown()
    trickle.server_close()
    results = run.results.get("cases", {})
    applied = {c.id for c in APPLIED}
    refused_log = [r for r in log if r["app_id"] not in applied]
    changes = [c for c in state_changes(before, after) if not c[0].startswith(APPLIED_WHERE)]
    yield {"results": results, "log": log, "refused_log": refused_log, "changes": changes, "after": after, "run": run,
           "planted": planted}
    failing = {c.id for c in FAILING}
    record("bad_input", {"cases": len(FAILING), "module_cases": sum(c.id in failing for c in CASES),
                         "role_cases": sum(c.id in failing for c in ROLE_CASES), "categories": sorted({c.category for c in FAILING}),
                         "by_category": {cat: sum(c.category == cat for c in FAILING)
                                         for cat in {c.category for c in FAILING}},
                         "passed": sorted(PASSED), "writes": len(puts(refused_log)), "state_changes": len(changes),
                         "tracebacks": run.output.count("Traceback"), "seconds": round(run.seconds, 1),
                         "applied_despite_bad_reply": sorted(PASSED_APPLIED),
                         "planted_links": sorted(PASSED_PLANTED), "round_trips": sorted(PASSED_ROUND_TRIPS)})


PASSED: List[str] = []
PASSED_APPLIED: List[str] = []
PASSED_PLANTED: List[str] = []
PASSED_ROUND_TRIPS: List[str] = []


def plant_links(directory: Path) -> Dict[str, Tuple[Path, Path]]:
    """For each planted-link case: (the link, the other user's file it points to, which must stay untouched)."""
    directory.mkdir()
    planted = {}
    for case in PLANTED:
        name = case.args.get("plan_path") or "PLANTED/" + case.args["backup_options"]["filename"]
        link = directory / (name.split("/", 1)[1] + (".tmp" if case.planted == "tmp" else ""))
        victim = directory / ("victim-" + case.id)
        victim.write_text("precious\n")
        link.symlink_to(victim)
        planted[case.id] = (link, victim)
    return planted


def test_the_catalogue_is_large_and_distinct():
    assert len(ALL) >= 40
    assert len({c.id for c in ALL}) == len(ALL)


def test_nothing_was_written_and_no_traceback_anywhere(catalogue):
    assert puts(catalogue["refused_log"]) == []
    assert catalogue["changes"] == []
    run = catalogue["run"]
    assert "Traceback" not in run.output
    assert "ERROR!" not in run.output and set(catalogue["results"]) == {c.id for c in ALL}, run.output[-3000:]


@pytest.mark.parametrize("case", FAILING, ids=[c.id for c in FAILING])
def test_bad_input(catalogue, case):
    result = catalogue["results"].get(case.id)
    assert result is not None, "no result saved for %s" % case.id
    assert result.get("failed") is True, result
    message = result.get("msg", "")
    assert case.expect in message, message
    text = json.dumps(result)
    # (ansible-core 2.19 adds "exception": "(traceback unavailable)" to argument spec failures)
    assert "Traceback" not in text and "module_stderr" not in result
    mine = [r for r in catalogue["log"] if r["app_id"] == case.id]
    assert puts(mine) == []
    for key in case.returns:
        assert key in result, (key, result)
    PASSED.append(case.id)


@pytest.mark.parametrize("case", APPLIED, ids=[c.id for c in APPLIED])
def test_a_put_applied_despite_a_cut_reply_is_reported_applied(catalogue, case):
    """The API applied the PUT but its reply was cut short: the module reads the phone and reports the change."""
    result = catalogue["results"].get(case.id)
    assert result is not None and not result.get("failed"), result
    ext_id = case.args["extension_id"]
    assert result["changed"] is True and result["phone"]["external_number"] == case.args["external_number"]
    phone_path = "/api/ver1.0/extension/%d/phone/" % ext_id
    mine = [(r["method"], r["path"], r["fault"]) for r in catalogue["log"]
            if r["app_id"] == case.id and "oauth" not in r["path"]]
    assert mine == [("GET", phone_path, None), ("PUT", phone_path, "truncated_json"), ("GET", phone_path, None)]
    stored = [e for c in catalogue["after"]["clients"] for e in c["extensions"] if e["id"] == ext_id][0]
    assert stored["phone"]["external_number"] == case.args["external_number"]
    PASSED_APPLIED.append(case.id)


@pytest.mark.parametrize("case", PLANTED, ids=[c.id for c in PLANTED])
def test_a_planted_link_is_never_written_through(catalogue, case):
    """The other user's file is untouched and the link left as it was; a link at the old temporary name is
    ignored (the plan is written at its own path)."""
    link, victim = catalogue["planted"][case.id]
    assert victim.read_text() == "precious\n" and link.is_symlink()
    result = catalogue["results"][case.id]
    if case.planted == "tmp":
        assert not result.get("failed"), result
        plan = Path(result["plan_path"])
        assert plan == link.parent / case.args["plan_path"].split("/", 1)[1] and not plan.is_symlink()
        assert json.loads(plan.read_text())["changes"][0]["after"] == {"label": "x"}
    PASSED_PLANTED.append(case.id)


# -- hostile data: labels a tenant's staff typed go through the files Ansible reads back ----------------------------
# The backup file (restored with -e @file) and the export (adopted as host_vars) hold labels that a template engine
# would evaluate; each would create a marker file. They must come back as the exact strings, nothing run, also in
# --check. Runs with each supported ansible-core (the integration suite runs once per venv).
PHONES = 5


def hostile_labels(markers: Path) -> Dict[int, str]:
    """Extension id -> a label that a template engine would evaluate (each would create a marker file)."""
    return {
        1: '{{ lookup("pipe", "touch %s/ran-1") }}' % markers,
        2: "{%% if lookup('pipe', 'touch %s/ran-2') %%}{%% endif %%}Desk" % markers,
        3: "{# hidden #}{{ 7 * 6 }} Reception",
        4: "Desk } { {{ \"quoted\" }} \\ 'single' \u041f\u0440\u0438\u0451\u043c\u043d\u0430\u044f",
    }


def hostile_world(labels: Dict[int, str]):
    world = tenant_world(tenants=1, phones=PHONES, bound=2)
    for ext in world["clients"][0]["extensions"]:
        if ext["id"] in labels:
            ext["phone"]["label"] = labels[ext["id"]]
    return world


def hostile_tenant(emulator_factory, tmp_path: Path):
    """An emulator whose tenant 1 has the hostile labels; the marker directory, the labels, the phones' labels."""
    markers = tmp_path / "markers"
    markers.mkdir()
    labels = hostile_labels(markers)
    emu = emulator_factory(hostile_world(labels))
    return emu, markers, labels, labels_of(emu)


def labels_of(emu) -> Dict[int, str]:
    return {ext_id: phone.get("label") for ext_id, phone in phones(emu.state()).items()}


def ran(markers: Path) -> List[str]:
    return sorted(p.name for p in markers.iterdir())


def test_backup_then_restore_gives_back_hostile_labels_without_running_them(emulator_factory, playbook, tmp_path):
    emu, markers, labels, original = hostile_tenant(emulator_factory, tmp_path)
    backup_dir = tmp_path / "backups"
    rollout = [{"extension": str(100 + i), "label": "Sales %d" % i} for i in range(4)]
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: rollout}, phone_bindings_backup=True,
                                                                    phone_bindings_backup_dir=str(backup_dir)))
    assert run.rc == 0, run.output
    assert [labels_of(emu)[i] for i in range(1, 5)] == ["Sales %d" % i for i in range(4)]
    (backup,) = list(backup_dir.iterdir())

    # The restore job, as the docs give it: the backup as extra variables, in check mode first.
    restore_inv = tenant_inventory(emu.url, {1: []})
    emu.requests(clear=True)
    emu.requests(clear=True)
    check = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup, "--check", "--diff")
    assert check.rc == 0, check.output
    assert ran(markers) == [] and api_calls(emu.requests(), "PUT") == []
    assert labels[3] in check.output, check.output     # the diff shows the label to restore as it is, not "42"
    restore = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup)
    assert restore.rc == 0, restore.output
    assert ran(markers) == []
    assert labels_of(emu) == original         # byte for byte
    assert len(api_calls(emu.requests(), "PUT")) == 4
    PASSED_ROUND_TRIPS.append("backup -> restore")


def test_export_adopted_as_host_vars_keeps_hostile_labels_as_data(emulator_factory, playbook, tmp_path):
    emu, markers, dummy, original = hostile_tenant(emulator_factory, tmp_path)
    export_dir = tmp_path / "exported"
    base = tenant_inventory(emu.url, {1: []})
    keys = '{"telphin_export_keys": ["external_number", "label"]}'
    export = playbook("telphin.pbx.export_bindings", base, "-e", keys, "-e", "telphin_export_dir=%s" % export_dir)
    assert export.rc == 0, export.output
    assert ran(markers) == []
    assert untagged(unsafe_yaml.strip_comments((export_dir / "tenant1.yml").read_text())) == []   # all data

    # Adopt it: the tenant's host variables without phone_bindings, the export as host_vars/tenant1.yml.
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    del base["all"]["children"]["telphin_tenants"]["hosts"]["tenant1"]["phone_bindings"]
    (inventory / "hosts.yml").write_text(yaml.safe_dump(base))
    shutil.copy(str(export_dir / "tenant1.yml"), str(inventory / "host_vars" / "tenant1.yml"))
    emu.requests(clear=True)
    check = playbook("telphin.pbx.rollout_bindings", inventory, "--check", "--diff")
    assert check.rc == 0, check.output
    assert ran(markers) == [] and "changed=0" in check.stdout
    rollout = playbook("telphin.pbx.rollout_bindings", inventory)
    assert rollout.rc == 0, rollout.output
    assert ran(markers) == [] and "changed=0" in rollout.stdout
    assert api_calls(emu.requests(), "PUT") == []
    assert labels_of(emu) == original

    # A label changed out of band is set back to the exported string, exactly.
    emu.requests(clear=True)
    out_of_band = playbook("telphin.pbx.rollout_bindings",
                           tenant_inventory(emu.url, {1: [{"extension": "100", "label": "moved"}]}))
    assert out_of_band.rc == 0, out_of_band.output
    again = playbook("telphin.pbx.rollout_bindings", inventory)
    assert again.rc == 0, again.output
    assert ran(markers) == [] and labels_of(emu) == original
    PASSED_ROUND_TRIPS.append("export -> rollout")


SHOW_BINDINGS = """
    - name: Save the bindings as the play reads them
      ansible.builtin.copy:
        content: "{{ phone_bindings | map(attribute='label') | list | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
    """


def test_every_template_trigger_of_ansible_core_survives_backup_restore_and_export(
        emulator_factory, playbook, tmp_path):
    """Issue 30: each way ansible-core takes a string for a template (tests/triggers.py: #jinja2: headers with
    [[ ]], << >>, <% %> and line statements, {% %}, {# #}, a malformed header, an unclosed {{) as a label. A play
    reading the backup with -e @file, or the export adopted as host_vars, gets every label byte for byte; the role
    restores (--check first) each label it can set and refuses the others (a header needs a line break, which no
    label may hold) before any request; nothing runs anywhere."""
    markers = tmp_path / "markers"
    markers.mkdir()
    labels = {number: trigger.text(str(markers / trigger.id)) for number, trigger in enumerate(TRIGGERS, 1)}
    world = tenant_world(tenants=1, phones=len(TRIGGERS) + 1, bound=2)
    for ext in world["clients"][0]["extensions"]:
        if ext["id"] in labels:
            ext["phone"]["label"] = labels[ext["id"]]
    emu = emulator_factory(world)
    original = labels_of(emu)
    assert [original[n] for n in labels] == list(labels.values())

    backup_dir = tmp_path / "backups"
    rollout = [{"extension": str(100 + i), "label": "Sales %d" % i} for i in range(len(TRIGGERS))]
    run = playbook("telphin.pbx.rollout_bindings", tenant_inventory(emu.url, {1: rollout}, phone_bindings_backup=True,
                                                                    phone_bindings_backup_dir=str(backup_dir)))
    assert run.rc == 0, run.output
    (backup,) = list(backup_dir.iterdir())
    assert untagged(backup.read_text()) == []
    restore_inv = tenant_inventory(emu.url, {1: []})
    read = playbook(play(SHOW_BINDINGS, "Read the backup", hosts="telphin_tenants"), restore_inv, "-e", "@%s" % backup)
    assert read.rc == 0 and read.results["tenant1"] == list(labels.values()), read.output
    emu.requests(clear=True)
    check = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup, "--check", "--diff")
    restore = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % backup)
    with_breaks = [n for n, text in labels.items() if "\n" in text]
    for attempt in (check, restore):
        assert attempt.rc != 0 and "%d problem(s) found before any request" % len(with_breaks) in attempt.output
    assert ran(markers) == [] and api_calls(emu.requests(), "PUT") == []
    settable = [{"extension": str(99 + n), "label": text} for n, text in labels.items() if n not in with_breaks]
    partial = tmp_path / "partial.yml"           # the settable labels, written as the export writes them
    partial.write_text(to_unsafe_yaml({"phone_bindings": settable}))
    restore = playbook("telphin.pbx.rollout_bindings", restore_inv, "-e", "@%s" % partial)
    assert restore.rc == 0, restore.output
    assert ran(markers) == []
    assert {n: labels_of(emu)[n] for n in labels if n not in with_breaks} == {
        n: text for n, text in labels.items() if n not in with_breaks}

    # the export of a PBX that holds every trigger (a fresh one: the refused labels above stayed "Sales N")
    emu = emulator_factory(world)
    export_dir = tmp_path / "exported"
    keys = '{"telphin_export_keys": ["external_number", "label"]}'
    export = playbook("telphin.pbx.export_bindings", tenant_inventory(emu.url, {1: []}), "-e", keys, "-e",
                      "telphin_export_dir=%s" % export_dir)
    assert export.rc == 0, export.output
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    base = tenant_inventory(emu.url, {1: []})
    del base["all"]["children"]["telphin_tenants"]["hosts"]["tenant1"]["phone_bindings"]
    (inventory / "hosts.yml").write_text(yaml.safe_dump(base))
    shutil.copy(str(export_dir / "tenant1.yml"), str(inventory / "host_vars" / "tenant1.yml"))
    assert untagged((inventory / "host_vars" / "tenant1.yml").read_text()) == []
    adopted = playbook(play(SHOW_BINDINGS, "Read the adopted host_vars", hosts="telphin_tenants"), inventory)
    assert adopted.rc == 0, adopted.output
    assert adopted.results["tenant1"][:len(labels)] == list(labels.values())
    drift = playbook("telphin.pbx.rollout_bindings", inventory, "--check", "--diff")
    assert drift.rc != 0 and "%d problem(s) found before any request" % len(with_breaks) in drift.output
    assert ran(markers) == []
    PASSED_ROUND_TRIPS.append("every template trigger: backup -> -e @file, export -> host_vars")


# -- the inventory plugin: a group name made from a tenant's data ------------------------------------------------------
def test_a_keyed_group_named_after_a_tenants_data_never_takes_localhost_or_another_tenants_host(
        emulator_factory, playbook, tmp_path):
    """keyed_groups on the time zone: tenant 1's zone made the group localhost (Ansible matches a group before a host,
    so a hosts: localhost play ran on tenant 1 instead of the controller), tenant 2's zone the group tenant_1 (a play
    on tenant_1 ran on tenant 2). Now neither group is made, a warning says so, and each play runs where it says."""
    data = tenant_world(tenants=2, phones=1)
    data["dealers"] = [{"id": 10}]
    data["apps"].append({"app_id": "dealer-app", "app_secret": "dealer-secret-Kg71", "type": "trusted",
                         "access_level": "all", "user": {"id": 900, "login": "ops@dealer", "access": "full",
                                                         "dealer_id": 10}})
    for item, zone in zip(data["clients"], ("ocalhost", "enant_1")):
        item.update(dealer_id=10, timezone=zone)
    emu = emulator_factory(data)
    source = tmp_path / "dealer.telphin.yml"
    source.write_text(yaml.safe_dump({
        "plugin": "telphin.pbx.tenants", "source": "dealer", "api_url": emu.url,
        "keyed_groups": [{"key": "telphin_client.timezone", "prefix": prefix, "separator": ""}
                         for prefix in ("l", "t")]}))
    where = """
        - name: Save where the play ran
          ansible.builtin.copy:
            content: "{{ {'host': inventory_hostname, 'tenant': telphin_client_id | default('')} | to_json }}"
            dest: "{{ results_dir }}/%s-{{ inventory_hostname }}.json"
            mode: "0600"
        """
    run = playbook("\n".join((play(where % "localhost", "On the controller"),
                              play(where % "tenant_1", "On tenant 1", hosts="tenant_1"))), source,
                   env={"TELPHIN_APP_ID": "dealer-app", "TELPHIN_APP_SECRET": "dealer-secret-Kg71"})
    assert run.rc == 0, run.output
    assert run.results == {"localhost-localhost": {"host": "localhost", "tenant": ""},
                           "tenant_1-tenant_1": {"host": "tenant_1", "tenant": "1001"}}
    said = " ".join(run.output.split())          # Ansible wraps a warning at the terminal's width
    assert "keyed_groups make the group name localhost for client 1001 (host tenant_1)" in said
    assert "keyed_groups make the group name tenant_1 for client 1002 (host tenant_2)" in said
