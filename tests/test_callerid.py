"""CallerId alone: the API.md value type."""
from __future__ import annotations

import attrs
import pytest

from cacofonisk.callerid import CallerId


def test_defaults_are_code_0_empty_name_unknown_number_and_publicity():
    cid = CallerId()
    assert (cid.code, cid.name, cid.number, cid.is_public) == (0, "", None, None)


def test_positional_arguments_follow_code_name_number_is_public_order():
    cid = CallerId(123, "Alice", "+31501234567", True)
    assert cid.code == 123
    assert cid.name == "Alice"
    assert cid.number == "+31501234567"
    assert cid.is_public is True


def test_fields_are_declared_in_api_order():
    assert [f.name for f in attrs.fields(CallerId)] == ["code", "name", "number", "is_public"]


def test_keyword_construction_like_the_2017_readme():
    cid = CallerId(name="My name", number="+311234567", is_public=True)
    assert cid == CallerId(0, "My name", "+311234567", True)


def test_equal_when_all_four_fields_are_equal():
    assert CallerId(1, "a", "2", False) == CallerId(1, "a", "2", False)


@pytest.mark.parametrize("field,other", [
    ("code", 2), ("name", "b"), ("number", "3"), ("is_public", True),
])
def test_differs_when_any_one_field_differs(field, other):
    base = CallerId(1, "a", "2", False)
    changed = attrs.evolve(base, **{field: other})
    assert base != changed


def test_unknown_publicity_differs_from_private():
    assert CallerId(number="201", is_public=None) != CallerId(number="201", is_public=False)


def test_replace_returns_a_changed_copy_and_leaves_the_original():
    cid = CallerId(name="Alice", number="201", is_public=True)
    copy = cid.replace(code=123456789, number="202")
    assert copy == CallerId(123456789, "Alice", "202", True)
    assert cid == CallerId(0, "Alice", "201", True)
    assert copy is not cid


def test_replace_without_arguments_gives_an_equal_value():
    cid = CallerId(5, "x", "1", False)
    assert cid.replace() == cid


def test_replace_rejects_unknown_fields():
    with pytest.raises(TypeError):
        CallerId().replace(nmuber="201")


def test_str_of_public_caller():
    assert str(CallerId(code=12, name="Alice", number="201", is_public=True)) == \
        '"Alice" <201;pub;code=12>'


def test_str_of_private_caller_says_priv():
    assert str(CallerId(code=12, name="Alice", number="201", is_public=False)) == \
        '"Alice" <201;priv;code=12>'


def test_str_with_unknown_publicity_has_no_tag():
    assert str(CallerId(code=0, name="Bob", number="202")) == '"Bob" <202;code=0>'


def test_str_escapes_quotes_in_the_name():
    text = str(CallerId(name='Al "the boss" Ice', number="201", is_public=True))
    assert text == r'"Al \"the boss\" Ice" <201;pub;code=0>'


def test_str_escapes_backslashes_before_quotes():
    # a name ending in a backslash must not escape the closing quote
    assert str(CallerId(name="C:\\", number="201")) == r'"C:\\" <201;code=0>'
    assert str(CallerId(name='a\\"b', number="1")) == r'"a\\\"b" <1;code=0>'


def test_str_with_empty_name():
    assert str(CallerId(code=7, number="201", is_public=True)).startswith('"" <201;pub;')


@pytest.mark.parametrize("field", ["code", "name", "number", "is_public"])
def test_is_immutable(field):
    cid = CallerId(1, "a", "2", True)
    with pytest.raises(AttributeError):
        setattr(cid, field, None)
    assert cid == CallerId(1, "a", "2", True)


def test_new_attributes_cannot_be_added():
    with pytest.raises(AttributeError):
        CallerId().custom = 1  # type: ignore[attr-defined]


def test_is_hashable_and_equal_values_hash_alike():
    one = CallerId(1, "a", "2", True)
    two = CallerId(1, "a", "2", True)
    assert hash(one) == hash(two)
    assert len({one, two, CallerId(1, "a", "2", False)}) == 2
    assert {one: "x"}[two] == "x"
