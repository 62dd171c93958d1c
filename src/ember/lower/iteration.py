"""Iteration: get_iter (GET_ITER: PyObject_GetIter) and for_iter (FOR_ITER: the type's
tp_iternext; NULL without an error, or with StopIteration which is cleared, ends the loop).

for_iter over the iterators of a list, a tuple and a range of C longs steps them inline,
as 3.12's FOR_ITER_LIST, FOR_ITER_TUPLE and FOR_ITER_RANGE do (the same fields, the same
order of effects: an exhausted list or tuple iterator drops its sequence at once): a
loop over a list in compiled code paid a C call per item where the interpreter paid
none (`listiter_next`: 2.7% of the comprehensions benchmark).
"""

from __future__ import annotations

from llvmlite import ir

from ember import abi
from ember.backend import support
from ember.ir import ops
from ember.lower.registry import lowers

NULL = support.NULL
OBJ = support.OBJ
_ITERNEXT = ir.FunctionType(OBJ, [OBJ])


@lowers(ops.GetIter)
def lower_get_iter(cx, op):
    return cx.check_null(cx.call("PyObject_GetIter", cx.v(op.value)))


@lowers(ops.ForIter)
def lower_for_iter(cx, op):
    b = cx.b
    it = cx.v(op.iterator)
    tp = cx.type_of(it)
    done = cx.fn.append_basic_block("for_iter.done")
    results = []
    for type_name, step in (("PyListIter_Type", _next_of_list),
                            ("PyTupleIter_Type", _next_of_tuple),
                            ("PyRangeIter_Type", _next_of_range)):
        fast = cx.fn.append_basic_block(f"for_iter.{type_name}")
        other = cx.fn.append_basic_block("for_iter.other")
        b.cbranch(b.icmp_unsigned("==", tp, cx.obj_static(type_name)), fast, other)
        b.position_at_end(fast)
        results.append((step(cx, it), b.block))
        b.branch(done)
        b.position_at_end(other)
    fn = support.load_field(b, tp, abi.Type.tp_iternext, _ITERNEXT.as_pointer())
    nxt = b.call(fn, [it])
    with b.if_then(b.icmp_unsigned("==", nxt, NULL), likely=False):
        with b.if_then(b.icmp_unsigned("!=", cx.call("PyErr_Occurred"), NULL)):
            stop = cx.call("PyErr_ExceptionMatches", cx.exc("StopIteration"))
            cx.fail_if(b.icmp_signed("==", stop, cx.i32(0)))
            cx.call("PyErr_Clear")
    results.append((nxt, b.block))
    b.branch(done)
    b.position_at_end(done)
    res = b.phi(OBJ)
    for value, block in results:
        res.add_incoming(value, block)
    return res


def _next_of_sequence(cx, it, fields, items_of):
    """The next item of a list or tuple iterator (a new reference), or NULL when it is
    exhausted, dropping the sequence then."""
    b = cx.b
    I64 = support.I64
    seq = support.load_field(b, it, fields.it_seq)
    index = support.load_field(b, it, fields.it_index, I64)
    start = b.block
    live = cx.fn.append_basic_block("for_iter.live")
    item_bb = cx.fn.append_basic_block("for_iter.item")
    end_bb = cx.fn.append_basic_block("for_iter.end")
    out = cx.fn.append_basic_block("for_iter.next")
    b.cbranch(b.icmp_unsigned("==", seq, NULL), out, live)
    b.position_at_end(live)
    size = support.load_field(b, seq, abi.VarObject.ob_size, I64)
    b.cbranch(b.icmp_signed("<", index, size), item_bb, end_bb)
    b.position_at_end(item_bb)
    item = b.load(b.gep(items_of(b, seq), [index], source_etype=OBJ), typ=OBJ)
    b.store(b.add(index, ir.Constant(I64, 1)), support.field_address(b, it, fields.it_index))
    support.incref(b, item)
    item_end = b.block
    b.branch(out)
    b.position_at_end(end_bb)
    b.store(NULL, support.field_address(b, it, fields.it_seq))
    support.decref(b, seq)
    end_end = b.block
    b.branch(out)
    b.position_at_end(out)
    res = b.phi(OBJ)
    res.add_incoming(NULL, start)
    res.add_incoming(item, item_end)
    res.add_incoming(NULL, end_end)
    return res


def _next_of_list(cx, it):
    return _next_of_sequence(cx, it, abi.ListIter,
                             lambda b, seq: support.load_field(b, seq, abi.List.ob_item))


def _next_of_tuple(cx, it):
    return _next_of_sequence(cx, it, abi.TupleIter,
                             lambda b, seq: support.field_address(b, seq, abi.Tuple.ob_item))


def _next_of_range(cx, it):
    """FOR_ITER_RANGE: the next C long as an int (NULL, no error, when done)."""
    b = cx.b
    I64 = support.I64
    left = support.load_field(b, it, abi.RangeIter.len, I64)
    start = b.block
    more = cx.fn.append_basic_block("for_iter.range")
    out = cx.fn.append_basic_block("for_iter.range_next")
    b.cbranch(b.icmp_signed(">", left, ir.Constant(I64, 0)), more, out)
    b.position_at_end(more)
    value = support.load_field(b, it, abi.RangeIter.start, I64)
    step = support.load_field(b, it, abi.RangeIter.step, I64)
    b.store(b.add(value, step), support.field_address(b, it, abi.RangeIter.start))
    b.store(b.sub(left, ir.Constant(I64, 1)), support.field_address(b, it, abi.RangeIter.len))
    # (a C long is 64 bits here; NULL only with MemoryError set)
    boxed = cx.check_null(cx.call("PyLong_FromLongLong", value))
    more_end = b.block
    b.branch(out)
    b.position_at_end(out)
    res = b.phi(OBJ)
    res.add_incoming(NULL, start)
    res.add_incoming(boxed, more_end)
    return res
