"""A rollover with overlap for a credential that callers outside the stack hold (the
gateway's client API key): after a rotation the new value is current and the one it
replaced stays valid as `previous`, so clients move to the new key at their own pace
before the next rotation. Pure arithmetic.

Two slots, a and b, each a generated value replaced when its keeper changes. At counter n
slot a's keeper is ceil(n/2) and slot b's floor(n/2): each bump of the counter moves exactly
one keeper, the one of the slot holding the older value. The slot that moved is current.

    n   a  b   current  previous
    0   0  0   b        a
    1   1  0   a (new)  b (was current)
    2   1  1   b (new)  a (was current)
"""

from __future__ import annotations

from typing import Literal

Slot = Literal["a", "b"]
SLOTS: tuple[Slot, Slot] = ("a", "b")


def keeper(slot: Slot, counter: int) -> int:
    return (counter + 1) // 2 if slot == "a" else counter // 2


def current(counter: int) -> Slot:
    return "a" if counter % 2 else "b"


def previous(counter: int) -> Slot:
    return "b" if counter % 2 else "a"
