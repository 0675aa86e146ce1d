"""Settings: the one way pathgan checks configuration.

Every group of settings (a pull protocol, the string method, training, a section of
``pathgan run``'s YAML) is a dataclass deriving from :class:`Settings`:

- :meth:`Settings.from_dict` refuses unknown keys (naming the known ones), old names (with
  the new name as a hint) and values of the wrong type, builds nested settings, then
  validates;
- :meth:`Settings.validate` checks every field's declared constraint (:func:`positive`,
  :func:`non_negative`, :func:`at_least`, :func:`one_of`, :func:`within`) and then the
  cross-field rules of the class's own :meth:`Settings.check`;
- a field whose name carries a unit suffix (``_angstrom``, ``_kcal_mol``, ``_ps``, ...; see
  :mod:`.units`) also takes an OpenMM ``Quantity``, converted on construction.

Every message starts with where the setting lives (``config.smd.length_ps: ...``).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from .errors import PathganInputError
from .units import strip_units

S = TypeVar("S", bound="Settings")


def _constraint(default: Any, test: Callable[[Any], bool], text: str, **kw: Any) -> Any:
    if callable(default) and not isinstance(default, type):
        return dataclasses.field(default_factory=default, metadata={"test": test, "text": text}, **kw)
    return dataclasses.field(default=default, metadata={"test": test, "text": text}, **kw)


def positive(default: Any) -> Any:
    """A field that must be > 0."""
    return _constraint(default, lambda v: v > 0, "must be positive")


def non_negative(default: Any) -> Any:
    """A field that must be >= 0."""
    return _constraint(default, lambda v: v >= 0, "must be >= 0")


def at_least(minimum: float, default: Any) -> Any:
    """A field that must be >= ``minimum``."""
    return _constraint(default, lambda v: v >= minimum, f"must be at least {minimum}")


def within(lo: float, hi: float, default: Any, closed: bool = True) -> Any:
    """A field in [lo, hi] (or [lo, hi) with ``closed=False``)."""
    if closed:
        return _constraint(default, lambda v: lo <= v <= hi, f"must lie in [{lo}, {hi}]")
    return _constraint(default, lambda v: lo <= v < hi, f"must lie in [{lo}, {hi})")


def one_of(options: tuple[Any, ...], default: Any) -> Any:
    """A field that must be one of ``options``."""
    return _constraint(default, lambda v: v in options, f"must be one of {list(options)}")


def _type_ok(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the type hint (ints accepted for floats, bools only for bools)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list | tuple) and all(_type_ok(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(
            _type_ok(k, key) and _type_ok(v, item) for k, v in value.items()
        )
    if origin is tuple:
        return isinstance(value, list | tuple)
    if isinstance(hint, type) and issubclass(hint, Settings):
        return isinstance(value, hint | dict)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@dataclasses.dataclass
class Settings:
    """Base of pathgan's settings dataclasses (see the module docstring)."""

    #: Old setting names, refused with the new one as a hint.
    RENAMED: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, strip_units(f.name, getattr(self, f.name)))

    @classmethod
    def known_keys(cls) -> list[str]:
        """The settings this class takes."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any] | None, where: str = "settings") -> S:
        """Build from a (possibly partial) dict over the defaults; see the module docstring."""
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise PathganInputError(f"{where}: expected a mapping of settings, got {data!r}")
        known = cls.known_keys()
        for old, new in cls.RENAMED.items():
            if old in data:
                raise PathganInputError(f"{where}.{old}: was renamed {new!r} ({_unit_hint(new)})")
        unknown = sorted(map(str, set(data) - set(known)))  # YAML makes keys such as `no:` booleans
        if unknown:
            raise PathganInputError(f"{where}: unknown settings {unknown}; known: {sorted(known)}")
        hints = _hints(cls)
        values = {}
        for key, value in data.items():
            hint = hints[key]
            if not _type_ok(value, hint):
                raise PathganInputError(f"{where}.{key}: expected {_hint_name(hint)}, got {value!r}")
            nested = _settings_type(hint)
            if nested is not None and isinstance(value, dict):
                value = nested.from_dict(value, f"{where}.{key}")
            values[key] = list(value) if isinstance(value, tuple) else value
        obj = cls(**values)
        obj.validate(where)
        return obj

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (YAML/JSON-ready)."""
        return dataclasses.asdict(self)

    def validate(self, where: str = "settings") -> None:
        """Check every field's constraint, nested settings, then :meth:`check`."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Settings):
                value.validate(f"{where}.{f.name}")
                continue
            test = f.metadata.get("test")
            if test is not None and value is not None and not test(value):
                raise PathganInputError(f"{where}.{f.name}: {f.metadata['text']}, got {value!r}")
        self.check(where)

    def check(self, where: str) -> None:
        """Cross-field rules of a subclass (raise :class:`PathganInputError`)."""

    def replace(self: S, **changes: Any) -> S:
        """A validated copy with ``changes``."""
        out = dataclasses.replace(self, **changes)
        out.validate()
        return out


def _settings_type(hint: Any) -> type[Settings] | None:
    if isinstance(hint, type) and issubclass(hint, Settings):
        return hint
    for arg in typing.get_args(hint):
        if isinstance(arg, type) and issubclass(arg, Settings):
            return arg
    return None


def _unit_hint(name: str) -> str:
    from .units import unit_of

    unit = unit_of(name)
    return f"in {unit}; pathgan's Python API speaks Angstrom and kcal/mol" if unit else "same meaning"


def renamed_arguments(**renames: str) -> Callable:
    """Decorator: calling with an old keyword argument raises ``TypeError`` naming the new one.

    ``@renamed_arguments(k_s_kj_mol="k_s_kcal_mol")``: the units changed with the name, so the
    old value cannot be passed on silently.
    """

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    raise TypeError(
                        f"{fn.__qualname__}: argument {old!r} was renamed {new!r} ({_unit_hint(new)})"
                    )
            return fn(*args, **kwargs)

        return inner

    return wrap
