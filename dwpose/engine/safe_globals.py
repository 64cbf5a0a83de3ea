"""What the weights-only checkpoint reader rebuilds beyond tensors and plain values, and why each is inert.

torch's weights-only unpickler resolves a pickle's ``GLOBAL module.name`` through an allow-list
(``torch.serialization.add_safe_globals``), then lets three opcodes act on what it found:
``REDUCE`` calls it with pickled arguments, ``NEWOBJ`` calls its ``__new__`` and ``BUILD`` hands
pickled state to an instance's ``__setstate__``. An entry is safe only if none of the three can read
a file, block, or reach code beyond building data. So the names MMEngine checkpoints use are
answered by stand-ins written for that, never by the real classes:

- ``mmengine.config.config.Config`` -> :class:`InertConfig`. A real ``Config`` pickles as
  ``NEWOBJ`` with no arguments, then ``BUILD`` with its six attributes (``__getstate__``). The
  stand-in's ``__new__`` refuses arguments and its ``__init__`` refuses to run, so ``REDUCE``
  (``Config(None, None, '/etc/hostname')``, which would open and read that file) is refused;
  ``BUILD`` checks the six attributes' types, stores them and turns the object into a real
  ``Config``. Nothing is opened: the text a ``Config`` carries is the pickled string.
- ``mmengine.config.config.ConfigDict`` -> :func:`inert_config_dict`. A real ``ConfigDict``
  pickles as ``REDUCE`` with one plain dict (its ``__reduce_ex__``); the stand-in accepts exactly
  that (or nothing) and builds the ``ConfigDict`` from the already-built values: nested dicts
  become ``ConfigDict`` s, nothing else runs.
- ``mmengine.logging.history_buffer.HistoryBuffer`` -> :class:`InertHistoryBuffer`. The message
  hub's buffers pickle as ``NEWOBJ`` + ``BUILD`` with their ``__dict__``. The stand-in refuses
  ``REDUCE``; ``BUILD`` accepts the buffer's own attributes only, and statistics methods only when
  each is ``HistoryBuffer``'s own function of that name (MMEngine's ``__setstate__`` would copy any
  pickled callable into the class-wide ``_statistics_methods`` table).
- ``builtins.getattr`` -> :func:`history_buffer_method`: how the buffers' statistics methods are
  pickled (``getattr(HistoryBuffer, 'min')``); it answers a public function of ``HistoryBuffer`` and
  refuses any other object or name (``getattr(f, '__globals__')``).
- numpy (:data:`NUMPY_GLOBALS`): ``ndarray`` and ``dtype`` and the per-type dtype classes
  (``numpy.dtypes.Float32DType`` ...) are what ``BUILD`` checks arrays and dtypes against;
  calling them builds an array or a dtype from pickled numbers and strings (an array of a given
  shape is uninitialised memory, refused by numpy when it exceeds what the machine can map; a
  ``buffer`` argument is bounds-checked by numpy). ``_reconstruct`` is wrapped to accept only the
  call numpy's own pickles make (an empty ``ndarray`` whose data ``BUILD`` then fills from the
  pickle, length-checked by numpy); ``scalar`` is wrapped to accept only a dtype and the scalar's
  bytes (or, for object dtype, an already-built value). None of them opens a file or runs
  pickled code.

Anything else stays refused with torch's message naming the global.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.logging.history_buffer import HistoryBuffer


class InertConfig(Config):
    """What a pickle's ``mmengine.config.config.Config`` becomes: data only, never a file read."""

    def __new__(cls, *args: Any, **kwargs: Any) -> InertConfig:
        if args or kwargs:
            raise pickle.UnpicklingError("it calls mmengine Config with arguments (a constructor that "
                                         "can read files), which the safe loader refuses")
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # reached only through REDUCE
        raise pickle.UnpicklingError("it calls mmengine Config (a constructor that can read files), "
                                     "which the safe loader refuses")

    def __setstate__(self, state: Any) -> None:
        """``Config.__getstate__``'s attributes, type-checked; then the object is a ``Config``.

        Six today; older MMEngine releases pickled the first three to five (the rest default).
        """
        kinds = (dict, (str, type(None)), (str, type(None)), dict, bool, set)
        if not (isinstance(state, tuple) and 3 <= len(state) <= len(kinds)
                and all(isinstance(v, k) for v, k in zip(state, kinds))):
            raise pickle.UnpicklingError("its mmengine Config state is not the attributes Config "
                                         "pickles")
        state = (*state, *({}, True, set())[len(state) - 3:])
        cfg_dict = state[0] if isinstance(state[0], ConfigDict) else inert_config_dict(state[0])
        names = ("_cfg_dict", "_filename", "_text", "_env_variables", "_format_python_code",
                 "_imported_names")
        for name, value in zip(names, (cfg_dict, *state[1:])):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "__class__", Config)


def inert_config_dict(*args: Any, **kwargs: Any) -> ConfigDict:
    """What a pickle's ``ConfigDict(items)`` becomes: a ``ConfigDict`` of one plain dict, or empty."""
    if kwargs or len(args) > 1 or (args and not isinstance(args[0], dict)):
        raise pickle.UnpicklingError("it calls mmengine ConfigDict with something other than one "
                                     "dict, which the safe loader refuses")
    return ConfigDict(dict(args[0]) if args else {})


_BUFFER_STATE = {"max_length", "_log_history", "_count_history", "statistics_methods"}


class InertHistoryBuffer(HistoryBuffer):
    """What a pickle's ``HistoryBuffer`` becomes: its logs as data, no class-wide table changed."""

    def __new__(cls, *args: Any, **kwargs: Any) -> InertHistoryBuffer:
        if args or kwargs:
            raise pickle.UnpicklingError("it calls HistoryBuffer with arguments, which the safe "
                                         "loader refuses")
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # reached only through REDUCE
        raise pickle.UnpicklingError("it calls HistoryBuffer, which the safe loader refuses")

    def __setstate__(self, state: Any) -> None:
        """The buffer's own attributes; statistics methods must be ``HistoryBuffer``'s own."""
        if not isinstance(state, dict) or not set(state) <= _BUFFER_STATE:
            raise pickle.UnpicklingError("its HistoryBuffer state has attributes a HistoryBuffer "
                                         "does not pickle")
        state = dict(state)
        methods = state.pop("statistics_methods", {})
        if not isinstance(methods, dict) or any(
                not isinstance(k, str) or v is not _own_method(k) for k, v in methods.items()):
            raise pickle.UnpicklingError("its HistoryBuffer names statistics methods that are not "
                                         "HistoryBuffer's own, which the safe loader refuses")
        self._set_default_statistics()
        self.__dict__.update(state)
        object.__setattr__(self, "__class__", HistoryBuffer)


def _own_method(name: str) -> Any:
    """``HistoryBuffer``'s public function ``name``, or ``None``."""
    fn = vars(HistoryBuffer).get(name)
    return fn if not name.startswith("_") and inspect.isfunction(fn) else None


def history_buffer_method(obj: Any, name: str) -> Any:
    """``getattr`` as a checkpoint may use it: a public method of ``HistoryBuffer``, nothing else.

    A pickled ``HistoryBuffer`` stores its statistics methods (``min``, ``mean``, ...) as
    ``getattr(HistoryBuffer, 'min')``; any other use (``getattr(f, '__globals__')``) is refused.
    """
    if (obj is HistoryBuffer or obj is InertHistoryBuffer) and isinstance(name, str) and _own_method(name):
        return _own_method(name)
    shown = "HistoryBuffer" if obj is InertHistoryBuffer else getattr(obj, "__name__", type(obj).__name__)
    raise pickle.UnpicklingError(f"it asks for getattr({shown}, {name!r}), which the safe loader "
                                 "refuses")


def _numpy_core() -> Any:
    return getattr(np, "_core", None) or np.core


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's ``_reconstruct`` as numpy's own pickles call it: an empty ``ndarray`` to fill."""
    if subtype is not np.ndarray or not isinstance(shape, tuple) or int(np.prod(shape)) != 0:
        raise pickle.UnpicklingError("it calls numpy's _reconstruct other than as numpy pickles "
                                     "arrays, which the safe loader refuses")
    return _numpy_core().multiarray._reconstruct(subtype, shape, dtype)


def _scalar(dtype: Any, obj: Any = None) -> Any:
    """numpy's ``scalar``: a dtype and the scalar's bytes (any built value for object dtype)."""
    if not isinstance(dtype, np.dtype) or (dtype.kind != "O" and not isinstance(obj, bytes)):
        raise pickle.UnpicklingError("it calls numpy's scalar other than as numpy pickles scalars, "
                                     "which the safe loader refuses")
    return _numpy_core().multiarray.scalar(dtype, obj)


def _numpy_globals() -> list:
    """What numpy needs to rebuild arrays, scalars and dtypes, under numpy 1 and numpy 2 names."""
    safe: list = [np.ndarray, np.dtype]
    safe += [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                         np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                         np.uint64, np.bool_, np.str_, np.bytes_, np.object_)]
    for fn, name in ((_reconstruct, "_reconstruct"), (_scalar, "scalar")):
        safe += [(fn, f"numpy._core.multiarray.{name}"), (fn, f"numpy.core.multiarray.{name}")]
    return safe


NUMPY_GLOBALS: list = _numpy_globals()
MMENGINE_GLOBALS: list = [
    (InertHistoryBuffer, "mmengine.logging.history_buffer.HistoryBuffer"),
    (history_buffer_method, "builtins.getattr"),
    (inert_config_dict, "mmengine.config.config.ConfigDict"),
    (InertConfig, "mmengine.config.config.Config"),
]
