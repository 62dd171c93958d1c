"""`match` statements: the MATCH_* opcodes. They leave the subject (and keys) on the stack
and push their result."""

from __future__ import annotations

from ember.ir.ops import MatchClass, MatchKeys, MatchMapping, MatchSequence

from .registry import handles


@handles("MATCH_MAPPING")
def match_mapping(b, ins):
    b.push(b.emit(MatchMapping, subject=b.peek(1)))


@handles("MATCH_SEQUENCE")
def match_sequence(b, ins):
    b.push(b.emit(MatchSequence, subject=b.peek(1)))


@handles("MATCH_KEYS")
def match_keys(b, ins):
    b.push(b.emit(MatchKeys, subject=b.peek(2), keys=b.peek(1)))


@handles("MATCH_CLASS")
def match_class(b, ins):
    names = b.pop()
    cls = b.pop()
    subject = b.pop()
    b.push(b.emit(MatchClass, count=ins.arg, subject=subject, cls=cls, names=names))
