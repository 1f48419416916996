"""@mention parsing is a pure function: a table of what people type (Zulip's test_possible_mentions)."""

import pytest

from events.mentions import possible_mentions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param(None, [], id="none"),
        pytest.param("no mentions here", [], id="plain text"),
        pytest.param("@dana", ["dana"], id="alone"),
        pytest.param("thanks @dana for the screws", ["dana"], id="mid sentence"),
        pytest.param("@dana please ask @riley", ["dana", "riley"], id="several in order"),
        pytest.param("@riley then @dana", ["riley", "dana"], id="order of first appearance"),
        pytest.param("@dana and @dana again", ["dana"], id="duplicate"),
        pytest.param("@Dana and @DANA and @dana", ["dana"], id="case folds to one"),
        pytest.param("ask @Riley.Smith", ["riley.smith"], id="lower-cased"),
        pytest.param("call @dana.", ["dana"], id="trailing full stop"),
        pytest.param("@dana, @riley; @sam!", ["dana", "riley", "sam"], id="trailing punctuation"),
        pytest.param("@dana: see above", ["dana"], id="trailing colon"),
        pytest.param("is it @dana?", ["dana"], id="trailing question mark"),
        pytest.param("wait for @dana...", ["dana"], id="trailing ellipsis"),
        pytest.param("(cc @dana)", ["dana"], id="in parentheses"),
        pytest.param("[@dana]", ["dana"], id="in brackets"),
        pytest.param('"@dana"', ["dana"], id="in quotes"),
        pytest.param("@dana's tray", ["dana"], id="possessive"),
        pytest.param("mail riley@example.com", [], id="email address"),
        pytest.param("riley@example.com and @dana", ["dana"], id="email address then mention"),
        pytest.param("first.last@example.com", [], id="email with dots"),
        pytest.param("a+b@example.com", [], id="email with plus"),
        pytest.param("@@dana", [], id="double at"),
        pytest.param("@", [], id="bare at"),
        pytest.param("@ dana", [], id="at then space"),
        pytest.param("@.", [], id="at then punctuation only"),
        pytest.param("@zoë and @josé", ["zoë", "josé"], id="unicode letters"),
        pytest.param("@ÉLODIE", ["élodie"], id="unicode upper case folds"),
        pytest.param("@first_last", ["first_last"], id="underscore"),
        pytest.param("@first.last", ["first.last"], id="dot inside"),
        pytest.param("@first-last", ["first-last"], id="hyphen inside"),
        pytest.param("@rep+trunk", ["rep+trunk"], id="plus inside"),
        pytest.param("@dana_", ["dana_"], id="trailing underscore is part of the name"),
        pytest.param("@user42", ["user42"], id="digits"),
        pytest.param("line one\n@dana\n@riley", ["dana", "riley"], id="start of lines"),
    ],
)
def test_possible_mentions(text, expected):
    assert possible_mentions(text) == expected


def test_possible_mentions_returns_a_new_list_each_time():
    first = possible_mentions("@dana")
    first.append("mallory")
    assert possible_mentions("@dana") == ["dana"]
