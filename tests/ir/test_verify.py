"""The verifier accepts good IR and rejects each kind of broken IR with a precise message."""

from __future__ import annotations

import pytest

from ember.ir import (
    BinaryOp,
    BinaryOperator,
    Block,
    Builder,
    BuildMap,
    Const,
    Edge,
    ExcHandler,
    FrameState,
    Function,
    Jump,
    LoadAttr,
    Null,
    Return,
    VerifyError,
    parse_function,
    print_function,
    verify,
)
from ember.ir import (
    types as T,
)

GOOD = """\
function 'f' {
  name='f' file='x.py' line=1 flags=0x3
  argcount=2 posonly=0 kwonly=0
  varnames=('a', 'b') cellvars=() freevars=() names=('append',)
  consts=(None, 1.5)
bb0(%0: object, %1: object) @0:
  %2: float = const[value=1.5] @0
  %3: object = binary_op[op=add] %0, %2 @2 fs(@2; locals=[%0, %1]; stack=[%0, %2]; handler=bb1/1/lasti)
  %4: multi = load_method[name=append] %3 @4 fs(@4; locals=[%0, %1]; stack=[%3])
  %5: nullable = extract[index=0] %4 @4
  %6: object = extract[index=1] %4 @4
  %7: object = call[kwnames=('k',)] %5, %6, (%0, %1) @6 fs(@6; locals=[%0, %1]; stack=[])
  %8: cbool = is_none %7 @8
  branch %8, bb2(%7), bb3() @8
bb1(%9: object, %10: object, %11: object, %12: int, %13: object) @20:
  reraise %13, %12 @20 fs(@20; locals=[%9, %10]; stack=[])
bb2(%14: object) @10:
  return %14 @10
bb3() @12:
  %15: null = null @12
  %16: object = load_fast_check[name=a] %15 @12 fs(@12; locals=[%15, %0]; stack=[])
  jump bb2(%16) @14
}
"""


def check_rejects(text: str, message: str) -> None:
    func = parse_function(text)
    with pytest.raises(VerifyError) as info:
        verify(func)
    assert message in str(info.value), str(info.value)


def mutate(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def test_good_ir_verifies_and_round_trips():
    func = parse_function(GOOD)
    verify(func)
    assert print_function(func) == GOOD


# (old, new, expected message)
TEXT_CASES = [
    # operand types
    ("return %14 @10", "return %8 @10", "bb2: return @10: operand value %8 has type cbool, expected object"),
    ("branch %8,", "branch %7,", "operand cond %7 has type object, expected cbool"),
    ("binary_op[op=add] %0, %2 @2", "binary_op[op=add] %0, %15 @2", "operand right %15 has type null"),
    # result types
    ("%8: cbool = is_none", "%8: object = is_none", "result type object is not within cbool"),
    # edges
    ("bb2(%7), bb3()", "bb2(), bb3()", "if_true passes 0 arguments to bb2, which has 1 parameters"),
    ("bb2(%7), bb3()", "bb2(%8), bb3()", "if_true argument 0 %8 has type cbool, expected object"),
    # dominance
    ("jump bb2(%16) @14", "jump bb2(%14) @14", "bb3: jump @14: uses %14, parameter of bb2, which does not dominate bb3"),
    ("(%0, %1) @6", "(%0, %9) @6", "uses %9, parameter of bb1, which does not dominate bb0"),
    ("%5: nullable = extract[index=0] %4", "%5: nullable = extract[index=0] %6", "uses %6 before its definition"),
    ("%3: object = binary_op[op=add] %0, %2 @2", "%3: object = binary_op[op=add] %0, %3 @2", "uses %3 before its definition"),
    # frame states
    (" fs(@4; locals=[%0, %1]; stack=[%3])", "", "load_method may raise but has no frame state"),
    ("%8: cbool = is_none %7 @8", "%8: cbool = is_none %7 @8 fs(@8; locals=[%0, %1]; stack=[])", "is_none cannot raise but has a frame state"),
    ("fs(@6; locals=[%0, %1]; stack=[])", "fs(@6; locals=[%0]; stack=[])", "frame state has 1 locals, function has 2 fast locals"),
    ("stack=[%0, %2]; handler=bb1/1/lasti", "stack=[%0, %2]; handler=bb1/2/lasti", "handler bb1 has 5 parameters, expected 6 (locals 2 + stack depth 2 + lasti + exc)"),
    ("stack=[%0, %2]; handler=bb1/1/lasti", "stack=[%0, %2]; handler=bb1/1", "handler bb1 has 5 parameters, expected 4"),
    ("stack=[%0, %2]; handler=bb1/1/lasti", "stack=[%0, %2]; handler=bb1/3/lasti", "handler depth 3 but the stack has 2 values"),
    ("bb1(%9: object, %10: object, %11: object, %12: int, %13: object)", "bb1(%9: object, %10: object, %11: object, %12: int, %13: int)", "handler bb1 exception parameter must accept object"),
    ("bb1(%9: object, %10: object, %11: object, %12: int, %13: object)", "bb1(%9: int, %10: object, %11: object, %12: int, %13: object)", "handler bb1 parameter %9 has type int, but the frame state passes %0 of type object"),
    ("bb1(%9: object, %10: object, %11: object, %12: int, %13: object)", "bb1(%9: object, %10: object, %11: object, %12: str, %13: object)", "lasti parameter must accept int"),
    # op-specific checks
    ("extract[index=0] %4", "extract[index=2] %4", "index 2 out of range: load_method has 2 items"),
    ("%6: object = extract[index=1] %4 @4", "%6: object = extract[index=1] %3 @4", "operand value %3 has type object, expected multi"),
    ("%6: object = extract", "%6: nullable = extract", "type nullable is not within item type object"),
    ("call[kwnames=('k',)]", "call[kwnames=('k', 'l', 'm')]", "3 keyword names but only 2 arguments"),
    # structure
    ("branch %8, bb2(%7), bb3() @8", "branch %8, bb0(%0, %1), bb3() @8", "bb0: branches to the entry block bb0"),
    ("bb1(%9: object", "bb1(%9: void", "parameter %9 has type void"),
]


@pytest.mark.parametrize("old,new,message", TEXT_CASES, ids=[c[2][:40] for c in TEXT_CASES])
def test_rejects_text(old, new, message):
    check_rejects(mutate(old, new), message)


# -- broken IR built by hand (things the parser refuses to produce) ----------------------


def small() -> tuple[Function, Block, Const]:
    func = Function("g", qualname="g")
    b = Builder(func)
    entry = b.new_block(0)
    b.set_block(entry)
    one = b.emit(Const(value=1, offset=0))
    b.emit(Return(value=one, offset=2))
    return func, entry, one


def rejects(func: Function, message: str) -> None:
    with pytest.raises(VerifyError) as info:
        verify(func)
    assert message in str(info.value), str(info.value)


def test_small_is_good():
    verify(small()[0])


def test_no_blocks():
    rejects(Function("g"), "function has no blocks")


def test_missing_terminator():
    func, entry, _ = small()
    entry.terminator = None
    rejects(func, "bb0: block has no terminator")


def test_terminator_in_middle():
    func, entry, one = small()
    entry.ops.append(Return(value=one, offset=1))
    rejects(func, "terminator return in the middle of the block")


def test_non_terminator_as_terminator():
    func, entry, one = small()
    entry.terminator = LoadAttr(name="x", obj=one, offset=2)
    rejects(func, "'load_attr' is not a terminator")


def test_unprintable_label():
    func, entry, one = small()
    entry.label = "bb 0"
    rejects(func, "block label must match")


def test_duplicate_labels():
    func, entry, one = small()
    other = func.new_block(4, label="bb0")
    other.terminator = Return(value=one, offset=4)
    rejects(func, "bb0: duplicate block label")


def test_op_placed_twice():
    func, entry, one = small()
    entry.ops.append(one)
    rejects(func, "value defined twice")


def test_edge_to_foreign_block():
    func, entry, one = small()
    entry.terminator = Jump(target=Edge(Block("elsewhere"), ()), offset=2)
    rejects(func, "target targets elsewhere, which is not in the function")


def test_value_from_another_function():
    func, entry, one = small()
    _, _, foreign = small()
    entry.terminator = Return(value=foreign, offset=2)
    rejects(func, "operand value is not defined in this function")


def test_use_of_void_op():
    func, entry, one = small()
    f2 = Function("h")
    b = Builder(f2)
    blk = b.new_block(0)
    b.set_block(blk)
    store = Return(value=one, offset=0)
    entry.terminator = Return(value=store, offset=2)  # type: ignore[arg-type]
    rejects(func, "operand value uses an op without a result")


def test_handler_block_not_in_function():
    func, entry, one = small()
    fs = FrameState(0, (), (), ExcHandler(Block("nowhere"), 0, False))
    entry.ops.append(BinaryOp(op=BinaryOperator.ADD, left=one, right=one, offset=1, frame_state=fs))
    rejects(func, "handler nowhere is not in the function")


def test_wrong_attribute_type():
    func, entry, one = small()
    entry.ops.append(
        BinaryOp(op="add", left=one, right=one, offset=1, frame_state=FrameState(1, ()))  # type: ignore[arg-type]
    )
    rejects(func, "attribute op='add' is not a BinaryOperator")


def test_operand_list_must_be_tuple_and_match():
    func, entry, one = small()
    bm = BuildMap(keys=(one,), values=(), offset=1, frame_state=FrameState(1, ()))
    entry.ops.append(bm)
    rejects(func, "1 keys but 0 values")


def test_void_result_type_for_result_op():
    func, entry, one = small()
    entry.ops.append(Null(offset=1, type=T.Void))
    rejects(func, "null must have a result")


def test_unreachable_blocks_are_not_dominance_checked():
    func, entry, one = small()
    dead = func.new_block(9)
    dead.terminator = Return(value=one, offset=9)
    verify(func)


def test_garbage_fields_are_reported_not_crashed_on():
    func, entry, one = small()
    op = BinaryOp(op=BinaryOperator.ADD, left=one, right=one, offset=1, frame_state=FrameState(1, ()))
    op.frame_state = "nope"  # type: ignore[assignment]
    op.right = 7  # type: ignore[assignment]
    entry.ops.append(op)
    with pytest.raises(VerifyError) as info:
        verify(func)
    assert "operand right is not a value: 7" in str(info.value)
    assert "frame_state is not a FrameState" in str(info.value)


def test_reports_several_errors():
    func, entry, one = small()
    entry.ops.append(BinaryOp(op=BinaryOperator.ADD, left=one, right=one, offset=1))
    entry.ops.append(Null(offset=1, type=T.Int))
    with pytest.raises(VerifyError) as info:
        verify(func)
    assert len(info.value.errors) == 2
