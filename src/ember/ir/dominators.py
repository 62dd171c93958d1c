"""Control-flow graph facts the verifier and passes share: successors including
exception edges, reverse postorder, and immediate dominators (Cooper, Harvey and Kennedy,
"A Simple, Fast Dominance Algorithm")."""

from __future__ import annotations

from ember.ir.core import Block, Function


def successors(block: Block) -> list[Block]:
    """Normal successors, then exception handlers named by the block's frame states."""
    succs: list[Block] = []
    seen: set[int] = set()
    for op in block.all_ops():
        fs = op.frame_state
        if fs is not None and fs.handler is not None:
            h = fs.handler.block
            if id(h) not in seen:
                seen.add(id(h))
                succs.append(h)
    if block.terminator is not None:
        for e in block.terminator.edges():
            if id(e.block) not in seen:
                seen.add(id(e.block))
                succs.append(e.block)
    return succs


def reverse_postorder(func: Function) -> list[Block]:
    """Blocks reachable from the entry, in reverse postorder."""
    if not func.blocks:
        return []
    order: list[Block] = []
    visited = {id(func.blocks[0])}
    stack = [(func.blocks[0], iter(successors(func.blocks[0])))]
    while stack:
        block, it = stack[-1]
        for s in it:
            if id(s) not in visited:
                visited.add(id(s))
                stack.append((s, iter(successors(s))))
                break
        else:
            stack.pop()
            order.append(block)
    order.reverse()
    return order


class DominatorTree:
    def __init__(self, func: Function) -> None:
        self.rpo = reverse_postorder(func)
        index = {id(b): i for i, b in enumerate(self.rpo)}
        preds: list[list[int]] = [[] for _ in self.rpo]
        for i, b in enumerate(self.rpo):
            for s in successors(b):
                preds[index[id(s)]].append(i)
        idom: list[int] = [-1] * len(self.rpo)
        if self.rpo:
            idom[0] = 0
        changed = True
        while changed:
            changed = False
            for i in range(1, len(self.rpo)):
                new = -1
                for p in preds[i]:
                    if idom[p] == -1:
                        continue
                    if new == -1:
                        new = p
                        continue
                    a, b = p, new
                    while a != b:
                        while a > b:
                            a = idom[a]
                        while b > a:
                            b = idom[b]
                    new = a
                if new != idom[i]:
                    idom[i] = new
                    changed = True
        self._index = index
        self._idom = idom

    def reachable(self, block: Block) -> bool:
        return id(block) in self._index

    def idom(self, block: Block) -> Block | None:
        i = self._index[id(block)]
        return None if i == 0 else self.rpo[self._idom[i]]

    def dominates(self, a: Block, b: Block) -> bool:
        """Whether `a` dominates `b` (reflexive). Both must be reachable."""
        ia, ib = self._index[id(a)], self._index[id(b)]
        while ib > ia:
            ib = self._idom[ib]
        return ib == ia
