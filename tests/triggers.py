"""Every way ansible-core 2.16 to 2.21 takes a string for a template, from its own source (issue 30).

Each trigger is a text a tenant's staff could type in a label or a name. ``text(marker)`` gives the string; a
trigger that runs a command touches ``marker`` when Ansible templates it. ``fires`` names the cores on which the
string, read from a trusted place (a playbook, ``host_vars``, ``-e @file`` without ``!unsafe``), is templated:
what the collection must never let happen to server text. docs/docsite/rst/security_model.rst lists them with the
places in ansible-core's source.

Where ansible-core decides (read in each release's site-packages):

* 2.16, 2.17, 2.18: ``ansible/template/__init__.py``: ``Templar.template`` returns a value marked unsafe
  (``__UNSAFE__``: ``!unsafe`` in YAML, ``wrap_var``, ``{"__ansible_unsafe": ...}`` in JSON) as it is; any other
  string goes through ``is_possibly_template``, which first applies a ``#jinja2:`` header (``_create_overlay``:
  any Jinja environment setting, ``ast.literal_eval`` of each value) and then looks for the block, variable or
  comment start string, default or as the header set it.
* 2.19, 2.20, 2.21: ``ansible/_internal/_templating/``: only a string tagged ``TrustedAsTemplate`` is templated
  (``_engine.TemplateEngine._trust_check``); YAML of playbooks, inventory files, ``host_vars``/``group_vars`` and
  ``-e @file`` is loaded trusted except ``!unsafe`` scalars (``_yaml/_constructor.py``), ``-e key=value`` is
  trusted, strings an inventory plugin sets are not, nor module results; script inventory JSON is trusted except
  ``{"__ansible_unsafe": ...}`` (``_json/_profiles/_inventory_legacy.py``). ``_jinja_bits.is_possibly_template``:
  a ``#jinja2:`` header alone makes a template (``TemplateOverrides._extract_template_overrides``: the
  ``TemplateOverrides`` fields), else a start string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, FrozenSet

ALL = frozenset({"2.16", "2.17", "2.18", "2.19", "2.20", "2.21"})
TAGGING = frozenset({"2.19", "2.20", "2.21"})       # data tagging: a #jinja2: header alone is a template


@dataclass(frozen=True)
class Trigger:
    id: str
    what: str
    text: Callable[[str], str]
    fires: FrozenSet[str] = ALL
    runs: bool = True          # templating it runs ``touch marker`` (else it changes the text or fails the task)


def _touch(marker: str) -> str:
    return "lookup('pipe', 'touch %s')" % marker


TRIGGERS = [
    Trigger("variable", "a variable start string {{", lambda m: "{{ %s }}" % _touch(m)),
    Trigger("block", "a block start string {%", lambda m: "{%% if %s %%}{%% endif %%}Desk" % _touch(m)),
    Trigger("comment", "a comment start string {# (the comment is removed)", lambda m: "{# hidden #}Reception",
            runs=False),
    Trigger("header_brackets", "a #jinja2: header that makes [[ ]] the variable delimiters",
            lambda m: "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ %s ]]" % _touch(m)),
    Trigger("header_angles", "a #jinja2: header with << >> delimiters: neither braces nor brackets",
            lambda m: "#jinja2:variable_start_string:'<<', variable_end_string:'>>'\n<< %s >>" % _touch(m)),
    Trigger("header_block", "a #jinja2: header that makes <% %> the block delimiters",
            lambda m: "#jinja2:block_start_string:'<%%', block_end_string:'%%>'\n<%% if %s %%><%% endif %%>Desk"
            % _touch(m)),
    Trigger("header_line_statement", "a #jinja2: header that makes % start a line statement",
            lambda m: "#jinja2:line_statement_prefix:'%%'\n%% if %s\n%% endif\n{# #}" % _touch(m)),
    Trigger("header_only", "a #jinja2: header and plain text (the header line is removed)",
            lambda m: "#jinja2:trim_blocks:True\nReception", fires=TAGGING, runs=False),
    Trigger("header_malformed", "a #jinja2: header that does not parse (the task fails)",
            lambda m: "#jinja2:not a setting\nReception {{ 1 }}", runs=False),
    Trigger("unclosed", "an unclosed {{ (the task fails)", lambda m: "Desk {{ unclosed", runs=False),
    Trigger("secret", "a template that reads the run's environment (a secret would be disclosed)",
            lambda m: "{{ lookup('env', 'TELPHIN_APP_SECRET') }}", runs=False),
]
