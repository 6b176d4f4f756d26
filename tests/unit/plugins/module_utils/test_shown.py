"""Issue 30, item 5: ``_words.shown`` escapes every server string a message shows, by construction: the same
characters whatever the text around them, and every message that names an extension goes through it."""

from __future__ import annotations

import unicodedata

import pytest

from ansible_collections.telphin.pbx.plugins.module_utils import _probe
from ansible_collections.telphin.pbx.plugins.module_utils._resolve import ExtensionIndex
from ansible_collections.telphin.pbx.plugins.module_utils._results import PhoneOutcome
from ansible_collections.telphin.pbx.plugins.module_utils._safety import ChangeLimit, guard_refusal
from ansible_collections.telphin.pbx.plugins.module_utils._errors import InputError
from ansible_collections.telphin.pbx.plugins.module_utils._words import shown

FORGED = "100\n\x1b[2K\x1b[1A\rPLAY RECAP *********\nlocalhost : ok=1 changed=0 unreachable=0 failed=0\u2028\u202e"
# every character a terminal or a log reader acts on, or that reorders the text around it
DANGEROUS = ([chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xa0)]
             + ["\u2028", "\u2029", "\u200e", "\u200f", "\u061c", "\ufeff", "\u200b", "\ud800", "\udfff"]
             + [chr(c) for c in range(0x202a, 0x202f)] + [chr(c) for c in range(0x2066, 0x206a)])


def raw_dangerous(text):
    return [c for c in text if c in DANGEROUS]


@pytest.mark.parametrize("char", DANGEROUS)
def test_each_control_separator_and_bidi_character_is_escaped_alone_and_inside_text(char):
    for text in (char, "a%sb" % char, "000*100" + char * 3):
        out = shown(text)
        assert raw_dangerous(out) == [] and out.isprintable()
        assert ("\\x%02x" % ord(char) if ord(char) < 0x100 else "\\u%04x" % ord(char)) in out or \
            char in "\n\r\t"


def test_named_escapes_and_a_backslash_keep_the_escaping_unambiguous():
    assert shown("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert shown("\x1b[31mred") == "\\x1b[31mred"
    assert shown("\\x1b") == "\\\\x1b"          # the text "\x1b" is not shown as an escaped ESC
    assert shown("\U000e0001") == "\\U000e0001"  # a tag character (format) outside the BMP


def test_plain_names_and_letters_of_any_script_are_shown_as_they_are():
    for text in ("000*100", "Reception desk", "Приёмная", "受付", "ＡＣＭＥ", "name with 'quotes' and \"these\"",
                 "{{ lookup('pipe', 'id') }}", "\u00a0\u3000"):
        assert shown(text) == text


def test_no_character_of_the_escaped_categories_passes_anywhere_in_the_bmp():
    text = "".join(chr(c) for c in range(0x10000))
    out = shown(text)
    assert [c for c in out if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")] == []
    assert "\n" not in out and len(out.splitlines()) == 1


def test_non_strings_are_shown_by_their_text():
    assert shown(None) == "None" and shown(54) == "54"


def test_the_label_and_diff_headers_of_an_outcome_escape_the_servers_name():
    outcome = PhoneOutcome(54, FORGED)
    diff = outcome.diff()
    for text in (outcome.label, diff["before_header"], diff["after_header"]):
        assert raw_dangerous(text) == [] and "\n" not in text
        assert "PLAY RECAP" in text and text.count("\\n") == 2
    assert outcome.item()["extension_full_name"] == FORGED      # the data stays what the server sent


def test_the_guards_refusal_escapes_the_names_it_lists():
    refusal = guard_refusal(ChangeLimit(count=0), 4, [(FORGED, {"label": "x\x1b"}, {"label": "y\u2028"})])
    listed = refusal.split("\n- ", 1)[1]
    assert raw_dangerous(listed) == [] and "\n" not in listed
    assert listed.startswith("100\\n\\x1b[2K")


def test_lookup_errors_escape_the_names_and_types_the_server_sent():
    index = ExtensionIndex([{"id": 1, "name": "000*100", "type": "queue\nPLAY RECAP"},
                            {"id": 2, "name": "001*7\x1b[2J", "type": "phone"},
                            {"id": 3, "name": "002*7\u2028", "type": "phone"}])
    with pytest.raises(InputError) as err:
        index.find_phone("000*100")
    assert "a queue\\nPLAY RECAP extension" in str(err.value)
    index = ExtensionIndex([{"id": 2, "name": "001*7\x1b[2J", "type": "phone"},
                            {"id": 3, "name": "002*7\x1b[2J", "type": "phone"}])
    with pytest.raises(InputError) as err:
        index.find_phone(index.items[0]["name"].split("*")[1])
    text = str(err.value).split(" is ambiguous: ", 1)[1]
    assert raw_dangerous(text) == [] and "001*7\\x1b[2J, 002*7\\x1b[2J" in text


@pytest.mark.parametrize("name", ["record_x\n", "phone\n", "x\nPLAY RECAP"])
def test_api_info_takes_only_whole_plain_names_a_trailing_newline_is_other(name):
    """Issue 30, item 8: ``_probe._NAME`` with ``$`` let ``"phone\\n"`` through as a plain name."""
    assert _probe._names([name, "label"]) == ["label", _probe.OTHER]
    assert _probe.tenant(1, [{"id": 1, "type": name}])["by_type"] == {_probe.OTHER: 1}
