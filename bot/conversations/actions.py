"""Typed button actions: one frozen dataclass per button, declared beside the dialog that uses it.

    @action("vt")
    @dataclass(frozen=True)
    class Tick(ActionData):
        poll: int
        index: int

    Tick(3, 1).pack() == "vt:3:1";  Tick.unpack("vt:3:1") == Tick(3, 1);  unpack_any("vt:3:1") -> Tick(3, 1)

Fields are int, str or bool (optional ones with a default); a str field may not contain ":".
`pack()` refuses data over Telegram's 64 bytes, so an oversized button fails where it is built, in a
test, not when Telegram refuses the whole keyboard. `unpack()` raises BadAction on anything that is
not exactly what `pack()` makes (wrong prefix, field count, type, sign): the caller answers "this
button is no longer valid", never a traceback. No aiogram here: a text channel (Zalo) maps its
numbered replies to the same actions.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, ClassVar, TypeVar

MAX_BYTES = 64  # Telegram's limit on callback_data
SEP = ":"
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,7}$")
_INT = re.compile(r"^-?\d{1,18}$")

A = TypeVar("A", bound="ActionData")
_REGISTRY: dict[str, type["ActionData"]] = {}


class BadAction(ValueError):
    """Callback data that no declared action would have produced."""


class ActionData:
    """Base of every typed action (subclasses are frozen dataclasses registered with @action)."""

    prefix: ClassVar[str] = ""

    def pack(self) -> str:
        names, _required, _kinds = _spec(type(self))
        parts = [self.prefix]
        for name in names:
            parts.append(_encode(getattr(self, name), name, type(self)))
        data = SEP.join(parts)
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise ValueError(f"{type(self).__name__} packs to more than {MAX_BYTES} bytes: {len(data.encode())}")
        return data

    @classmethod
    def unpack(cls: type[A], data: str) -> A:
        if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_BYTES:
            raise BadAction("not callback data")
        prefix, *values = data.split(SEP)
        if prefix != cls.prefix:
            raise BadAction("another action")
        names, required, kinds = _spec(cls)
        if not required <= len(values) <= len(names):
            raise BadAction("wrong number of fields")
        kwargs = {name: _decode(raw, kind) for name, kind, raw in zip(names, kinds, values, strict=False)}
        return cls(**kwargs)

    @classmethod
    def matches(cls, data: str | None) -> bool:
        if not data:
            return False
        return data == cls.prefix or data.startswith(cls.prefix + SEP)


_SPECS: dict[type, tuple[tuple[str, ...], int, tuple[tuple[type, bool], ...]]] = {}


def _spec(cls: type) -> tuple[tuple[str, ...], int, tuple[tuple[type, bool], ...]]:
    """An action class's field names, how many are required, and each field's (type, may be None),
    read once per class (dataclasses.fields and typing.get_type_hints are slow for every press)."""
    spec = _SPECS.get(cls)
    if spec is None:
        fields = dataclasses.fields(cls)
        hints = typing.get_type_hints(cls)
        kinds = []
        for f in fields:
            hint = hints[f.name]
            options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
            concrete = [o for o in options if o is not type(None)]
            kinds.append((concrete[0] if concrete else str, type(None) in options))
        required = sum(1 for f in fields if f.default is dataclasses.MISSING)
        spec = _SPECS[cls] = (tuple(f.name for f in fields), required, tuple(kinds))
    return spec


def action(prefix: str):
    """Register a typed action under its prefix (unique across the whole bot)."""

    def register(cls: type[A]) -> type[A]:
        if not _PREFIX.match(prefix):
            raise ValueError(f"bad action prefix {prefix!r}")
        if prefix in _REGISTRY and _REGISTRY[prefix].__qualname__ != cls.__qualname__:
            raise ValueError(f"action prefix {prefix!r} is taken by {_REGISTRY[prefix].__name__}")
        cls.prefix = prefix
        _REGISTRY[prefix] = cls
        return cls

    return register


def unpack_any(data: str) -> ActionData:
    """The action behind any callback data, whichever dialog declared it."""
    prefix = (data or "").split(SEP, 1)[0]
    cls = _REGISTRY.get(prefix)
    if cls is None:
        raise BadAction("unknown action")
    return cls.unpack(data)


def registered() -> dict[str, type[ActionData]]:
    return dict(_REGISTRY)


def _encode(value: Any, name: str, owner: type) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if SEP in value:
            raise ValueError(f"{owner.__name__}.{name} may not contain {SEP!r}")
        return value
    if value is None:
        return ""
    raise TypeError(f"{owner.__name__}.{name}: cannot pack {type(value).__name__}")


def _decode(raw: str, spec: tuple[type, bool]) -> Any:
    kind, optional = spec
    if optional and raw == "":
        return None
    if kind is bool:
        if raw not in ("0", "1"):
            raise BadAction("not a flag")
        return raw == "1"
    if kind is int:
        if not _INT.match(raw):
            raise BadAction("not a number")
        return int(raw)
    if kind is str:
        return raw
    raise BadAction(f"unsupported field type {kind!r}")
