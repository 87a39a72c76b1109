"""Range checks on the numbers of a decoded event: finite, and of sane magnitude.

msgspec decodes ``"NaN"``, ``"Infinity"`` and ``"1E+999999"`` into valid
``Decimal`` values (and NaN/inf into floats), and nothing in a Struct's type
can refuse them. One such value in an input poisons every plugin that
compares or adds it (``decimal.InvalidOperation``), so the codec refuses it at
decode, with the path of the field, like any other validation error.

The checks are derived once per event class from its msgspec type info (every
``Decimal`` and ``float``, in fields, optional fields, lists, dicts and nested
structs), never written per class. A class with numbers only in top-level
fields (every market and order event) is checked by one loop over a tuple of
field names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import msgspec
import msgspec.inspect as mi

__all__ = ["MAX_ADJUSTED_EXPONENT", "NumberCheck", "number_check", "raw_number_problem"]

#: A Decimal's adjusted exponent must be below this: |x| < 10**24. Larger values are
#: no price, quantity or amount, and arithmetic on them leaves the 28-digit context.
MAX_ADJUSTED_EXPONENT = 24
_LIMIT_F = 1e24

#: ``check(event) -> None`` (fine) or ``(path, problem)`` naming the first bad number.
NumberCheck = Callable[[Any], "tuple[str, str] | None"]


def _problem(v: Any) -> str | None:
    """Why ``v`` (a Decimal or float) is refused, or None."""
    if type(v) is Decimal or isinstance(v, Decimal):
        if not v.is_finite():
            return f"{v} is not a finite number"
        if v.adjusted() >= MAX_ADJUSTED_EXPONENT and v:
            return f"{v} is out of range (|x| < 1e{MAX_ADJUSTED_EXPONENT})"
        return None
    if isinstance(v, float):
        if not math.isfinite(v):
            return f"{v} is not a finite number"
        if abs(v) >= _LIMIT_F:
            return f"{v} is out of range (|x| < 1e{MAX_ADJUSTED_EXPONENT})"
    return None


def _no_check(_: Any) -> None:
    return None


# -- compiled checks, from msgspec type info ------------------------------------
_Walker = Callable[[Any, str], "tuple[str, str] | None"]


def _numeric(t: mi.Type) -> bool:
    return isinstance(t, (mi.DecimalType, mi.FloatType))


def _walker(t: mi.Type) -> _Walker | None:
    """A function ``(value, path) -> problem`` for values of type ``t`` (None: no numbers)."""
    if _numeric(t):
        def leaf(v: Any, path: str) -> tuple[str, str] | None:
            p = _problem(v)
            return None if p is None else (path, p)
        return leaf
    if isinstance(t, mi.UnionType):
        parts = [w for w in (_walker(a) for a in t.types) if w is not None]
        if not parts:
            return None

        def union(v: Any, path: str) -> tuple[str, str] | None:
            for w in parts:
                found = w(v, path)
                if found is not None:
                    return found
            return None
        return union
    if isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        item = _walker(t.item_type)
        if item is None:
            return None

        def seq(v: Any, path: str) -> tuple[str, str] | None:
            if not isinstance(v, Iterable) or isinstance(v, (str, bytes)):
                return None
            for i, x in enumerate(v):
                found = item(x, f"{path}[{i}]")
                if found is not None:
                    return found
            return None
        return seq
    if isinstance(t, mi.TupleType):
        items = [(i, w) for i, w in enumerate(_walker(a) for a in t.item_types) if w is not None]
        if not items:
            return None

        def tup(v: Any, path: str) -> tuple[str, str] | None:
            for i, w in items:
                if isinstance(v, (list, tuple)) and i < len(v):
                    found = w(v[i], f"{path}[{i}]")
                    if found is not None:
                        return found
            return None
        return tup
    if isinstance(t, mi.DictType):
        value = _walker(t.value_type)
        if value is None:
            return None

        def mapping(v: Any, path: str) -> tuple[str, str] | None:
            if not isinstance(v, dict):
                return None
            for k, x in v.items():
                found = value(x, f"{path}[{k!r}]")
                if found is not None:
                    return found
            return None
        return mapping
    if isinstance(t, mi.StructType):
        fields = [(i, f.name, f.encode_name, w) for i, f in enumerate(t.fields)
                  if (w := _walker(f.type)) is not None]
        if not fields:
            return None

        def struct(v: Any, path: str) -> tuple[str, str] | None:
            # The slow path walks undecoded payloads too: a dict, or a list for
            # an ``array_like`` struct.
            for i, name, wire, w in fields:
                if isinstance(v, dict):
                    x = v.get(wire)
                elif isinstance(v, list):
                    x = v[i] if i < len(v) else None
                else:
                    x = getattr(v, name, None)
                if x is not None:
                    found = w(x, f"{path}.{wire}")
                    if found is not None:
                        return found
            return None
        return struct
    return None


def number_check(cls: type[msgspec.Struct]) -> NumberCheck:
    """The check of ``cls``'s numbers, compiled once (cache it per class)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    flat: list[str] = []
    nested: list[tuple[str, _Walker]] = []
    for f in info.fields:
        t = f.type
        simple = _numeric(t) or (isinstance(t, mi.UnionType) and any(map(_numeric, t.types))
                                 and all(_numeric(a) or isinstance(a, mi.NoneType)
                                         for a in t.types))
        if simple:
            flat.append(f.name)
        else:
            w = _walker(t)
            if w is not None:
                nested.append((f.name, w))
    if not flat and not nested:
        return _no_check
    names = tuple(flat)
    problem = _problem
    limit = MAX_ADJUSTED_EXPONENT

    def check(event: Any) -> tuple[str, str] | None:
        for name in names:
            v = getattr(event, name)
            # The common case (a finite Decimal in range) costs two C calls.
            if v is not None and (type(v) is not Decimal or not v.is_finite()
                                  or (v.adjusted() >= limit and v)):
                p = problem(v)
                if p is not None:
                    return f"$.{name}", p
        for name, w in nested:
            v = getattr(event, name)
            if v is not None:
                found = w(v, f"$.{name}")
                if found is not None:
                    return found
        return None

    return check


def raw_number_problem(cls: type[msgspec.Struct], raw: dict[str, Any]) -> tuple[str, str] | None:
    """The first bad number in an undecoded payload of ``cls`` (a dict), if any.

    Used when decoding failed in a class's own validation (``__post_init__``
    comparing a NaN raises ``InvalidOperation``) to name the field at fault.
    """
    walker = _walker(mi.type_info(cls))
    if walker is None:
        return None

    def as_number(x: Any) -> Any:
        if isinstance(x, str):
            try:
                return Decimal(x)
            except ArithmeticError:
                return None
        return x

    return walker(_numbers(raw, as_number), "$")


def _numbers(v: Any, conv: Callable[[Any], Any]) -> Any:
    if isinstance(v, dict):
        return {k: _numbers(x, conv) for k, x in v.items()}
    if isinstance(v, list):
        return [_numbers(x, conv) for x in v]
    return conv(v)
