"""Type lattice laws and the printed form of types."""

from __future__ import annotations

import types as pytypes

from hypothesis import given, settings
from hypothesis import strategies as st

from ember.ir import types as T

ATOM_COUNT = len(T.Top.atoms())
types_ = st.one_of(
    st.sampled_from(T.ALL_NAMED),
    st.integers(0, T.Top.bits).map(T.Type),
)
LAW = settings(max_examples=100, deadline=None)


@LAW
@given(types_, types_)
def test_join_meet_commutative(a, b):
    assert a.join(b) == b.join(a)
    assert a.meet(b) == b.meet(a)


@LAW
@given(types_, types_, types_)
def test_join_meet_associative(a, b, c):
    assert a.join(b).join(c) == a.join(b.join(c))
    assert a.meet(b).meet(c) == a.meet(b.meet(c))


@LAW
@given(types_, types_)
def test_absorption_and_idempotence(a, b):
    assert a.join(a.meet(b)) == a
    assert a.meet(a.join(b)) == a
    assert a.join(a) == a and a.meet(a) == a


@LAW
@given(types_, types_)
def test_subtype_consistent_with_join_and_meet(a, b):
    assert a.is_subtype(b) == (a.join(b) == b) == (a.meet(b) == a)
    assert a.is_subtype(a.join(b)) and b.is_subtype(a.join(b))
    assert a.meet(b).is_subtype(a) and a.meet(b).is_subtype(b)
    assert T.Bottom.is_subtype(a) and a.is_subtype(T.Top)


@LAW
@given(types_, types_, types_)
def test_subtype_transitive_and_antisymmetric(a, b, c):
    if a <= b and b <= c:
        assert a <= c
    if a <= b and b <= a:
        assert a == b


@LAW
@given(types_)
def test_printed_form_round_trips(t):
    assert T.parse_type(str(t)) == t


def test_hierarchy():
    for exact in (T.Int, T.Bool, T.Float, T.Str, T.Tuple, T.NoneType, T.Code, T.Cell):
        assert exact < T.Object < T.ObjectOrNull < T.Top
        assert not exact.overlaps(T.Null)
    assert T.Null < T.ObjectOrNull and not T.Null <= T.Object
    for unboxed in (T.CInt64, T.CDouble, T.CBool):
        assert not unboxed.overlaps(T.Object) and unboxed <= T.Storable
    assert not T.Int.overlaps(T.Bool)  # exact types: bool is not int here
    assert T.Void.meet(T.Object) == T.Bottom


def test_names():
    assert str(T.Object) == "object"
    assert str(T.ObjectOrNull) == "nullable"
    assert str(T.CInt64) == "i64" and str(T.CDouble) == "f64" and str(T.CBool) == "cbool"
    assert str(T.Int | T.NoneType) == "int|none"
    assert str(T.Object | T.CInt64) == "object|i64"
    assert str(T.Bottom) == "bottom" and str(T.Top) == "top"
    assert len(T.Top.atoms()) == ATOM_COUNT


def test_parse_type_rejects_unknown():
    try:
        T.parse_type("int|integer")
    except ValueError as e:
        assert "integer" in str(e)
    else:
        raise AssertionError("accepted an unknown type name")


def test_type_of_constant():
    assert T.type_of_constant(1) == T.Int
    assert T.type_of_constant(True) == T.Bool
    assert T.type_of_constant(None) == T.NoneType
    assert T.type_of_constant((1,)) == T.Tuple
    assert T.type_of_constant(frozenset()) == T.FrozenSet
    assert T.type_of_constant(compile("0", "", "eval")) == T.Code
    assert T.type_of_constant(...) == T.OtherObject
    assert T.type_of_constant(pytypes.SimpleNamespace()) == T.OtherObject
