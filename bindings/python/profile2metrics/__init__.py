# SPDX-License-Identifier: MIT
"""OpenTelemetry profiles to OpenTelemetry metrics, in-process.

The C library profile2metrics.h, compiled into this package when it was
installed, loaded with ctypes (standard library only). ctypes.CDLL releases
the GIL for the duration of every C call, so conversions on several threads
run in parallel.

    import profile2metrics as p2m
    conv = p2m.Converter({"metrics": {"memory": {"enabled": False}}})
    out = conv.convert(request_bytes)      # OTLP ExportMetricsServiceRequest
    text = conv.convert(request_bytes, "prom")   # Prometheus text
    conv.stats.samples_kept

The configuration is the structure of the YAML file that `p2m -c` reads
(docs/configuration.md), as a dict or a JSON text.
"""
import ctypes
import dataclasses
import gzip
import json
import os
import threading
import time
import zlib
from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

__all__ = [
    "Converter", "Stats", "P2MError", "MalformedInputError", "InvalidReferenceError",
    "ConfigError", "MemoryLimitError", "OutputTooSmallError", "ArgumentError",
    "UnsupportedError", "version", "FORMATS", "INPUTS",
]

# Output formats: "otlp" (protobuf bytes), "json" (OTLP/JSON text) and
# "prom" (Prometheus text exposition); the two text formats when the library
# was built with its writers (p2m_write_json / p2m_write_prom), set below.
FORMATS: Tuple[str, ...] = ("otlp",)

# ---- errors -------------------------------------------------------------------


class P2MError(Exception):
    """A failed call of the library: status (the p2m_status number),
    status_name (the library's name of the status, "malformed input", ...),
    offset (byte offset into the input for malformed input and invalid
    references; into the JSON text for a JSON syntax error), field
    (configuration path, "" when none), message (one line) and needed
    (bytes, for the two "too small" statuses)."""

    status = -1

    def __init__(self, status: int, status_name: str, message: str, offset: int = 0,
                 field: str = "", needed: int = 0) -> None:
        self.status = status
        self.status_name = status_name
        self.message = message
        self.offset = offset
        self.field = field
        self.needed = needed
        super().__init__(self._text())

    def _text(self) -> str:
        where = ""
        if self.field:
            where = self.field + ": "
        text = "%s%s" % (where, self.message)
        if self.status in (1, 2):
            text += " (at byte %d)" % self.offset
        return "%s: %s" % (self.status_name, text)


class MalformedInputError(P2MError):
    """P2M_ERR_MALFORMED: the input is not a valid request (offset)."""
    status = 1


class InvalidReferenceError(P2MError):
    """P2M_ERR_INVALID_REFERENCE: strict mode, an index outside its table (offset)."""
    status = 2


class ConfigError(P2MError):
    """P2M_ERR_CONFIG: the configuration was rejected (field, message)."""
    status = 3


class MemoryLimitError(P2MError):
    """P2M_ERR_MEMORY: engine or working memory too small (needed). The
    converter grows its buffers itself; this surfaces only past max_work."""
    status = 4


class OutputTooSmallError(P2MError):
    """P2M_ERR_OUTPUT_TOO_SMALL (needed). Handled inside convert()."""
    status = 5


class ArgumentError(P2MError):
    """P2M_ERR_ARGUMENT: an argument the library cannot take (input over 4 GiB ...)."""
    status = 6


class UnsupportedError(P2MError):
    """P2M_ERR_UNSUPPORTED: a feature this build or version does not have."""
    status = 7


_ERRORS = {c.status: c for c in (MalformedInputError, InvalidReferenceError, ConfigError,
                                 MemoryLimitError, OutputTooSmallError, ArgumentError,
                                 UnsupportedError)}

# ---- the library ----------------------------------------------------------------


class _Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("offset", ctypes.c_size_t),
                ("needed", ctypes.c_size_t), ("field", ctypes.c_char * 64),
                ("message", ctypes.c_char * 128)]


class _Str(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("len", ctypes.c_size_t)]


class _Value(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("str", _Str), ("i", ctypes.c_int64),
                ("d", ctypes.c_double)]


class _Attribute(ctypes.Structure):
    _fields_ = [("key", _Str), ("value", _Value)]


class _PromOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("promote_all", ctypes.c_int),
                ("promote_keys", ctypes.POINTER(ctypes.c_char_p)),
                ("n_promote_keys", ctypes.c_size_t),
                ("merged_resources", ctypes.POINTER(ctypes.c_size_t))]


class _Options(ctypes.Structure):
    """The leading fields of p2m_options (fields are only ever added at its end;
    struct_size stays 0, the first layout, whose fields these are)."""
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("now_unix_nano", ctypes.c_uint64), ("state", ctypes.c_void_p),
                ("symbolize", ctypes.c_void_p), ("user_data", ctypes.c_void_p),
                ("unfed", ctypes.c_void_p), ("unfed_cap", ctypes.c_size_t),
                ("resource_attributes", ctypes.POINTER(_Attribute)),
                ("n_resource_attributes", ctypes.c_size_t)]


def _attributes(attrs: Mapping[str, Any]) -> ctypes.Array:
    """p2m_attribute records for a dict of str -> str | bool | int | float | bytes.
    The records point into Python bytes objects kept on the array."""
    arr = (_Attribute * max(len(attrs), 1))()
    keep = []
    for i, (k, v) in enumerate(attrs.items()):
        if not isinstance(k, str):
            raise TypeError("resource attribute keys must be str, not %s" % type(k).__name__)
        kb = k.encode("utf-8")
        keep.append(kb)
        arr[i].key = _Str(kb, len(kb))
        val = arr[i].value
        if isinstance(v, bool):
            val.type, val.i = 2, int(v)
        elif isinstance(v, int):
            if not -(1 << 63) <= v < (1 << 63):
                raise ValueError("resource attribute %r: %d is outside int64" % (k, v))
            val.type, val.i = 3, v
        elif isinstance(v, float):
            val.type, val.d = 4, v
        elif isinstance(v, (str, bytes, bytearray)):
            vb = v.encode("utf-8") if isinstance(v, str) else bytes(v)
            keep.append(vb)
            val.type = 1 if isinstance(v, str) else 5
            val.str = _Str(vb, len(vb))
        else:
            raise TypeError("resource attribute %r: a str, bool, int, float or bytes value, "
                            "not %s" % (k, type(v).__name__))
    arr._keep = keep  # type: ignore[attr-defined]
    return arr


_STATS_FIELDS = ("bytes_in", "bytes_out", "layout", "resources", "profiles",
                 "profiles_unclassified", "samples", "samples_kept", "dropped_process",
                 "dropped_thread", "dropped_pattern", "empty_samples", "invalid_references",
                 "series", "overflow_samples", "work_used", "regex_searches", "profiles_unfed",
                 "samples_unfed", "layout_evidence", "layout_conflict", "dropped_stack")

_LAYOUTS = {0: "auto", 1: "pprof", 8: "v1.8", 9: "v1.9", 10: "v1.10"}
INPUTS = ("otlp", "pprof")


@dataclasses.dataclass(frozen=True)
class Stats:
    """Statistics of one conversion (docs/api.md, Statistics). layout and
    layout_evidence are names ("v1.10", "auto")."""
    bytes_in: int = 0
    bytes_out: int = 0
    layout: str = "auto"
    resources: int = 0
    profiles: int = 0
    profiles_unclassified: int = 0
    samples: int = 0
    samples_kept: int = 0
    dropped_process: int = 0
    dropped_thread: int = 0
    dropped_pattern: int = 0
    empty_samples: int = 0
    invalid_references: int = 0
    series: int = 0
    overflow_samples: int = 0
    work_used: int = 0
    regex_searches: int = 0
    profiles_unfed: int = 0
    samples_unfed: int = 0
    layout_evidence: str = "auto"
    layout_conflict: bool = False
    dropped_stack: int = 0  # samples the stack filter dropped


def _load() -> ctypes.CDLL:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_libp2m.so")
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("profile2metrics: cannot load the library %s (%s); reinstall the "
                          "package (pip install bindings/python)" % (path, e)) from None
    vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    perr = ctypes.POINTER(_Error)
    lib.p2m_version.restype = ctypes.c_char_p
    lib.p2m_version.argtypes = []
    lib.p2m_status_string.restype = ctypes.c_char_p
    lib.p2m_status_string.argtypes = [i]
    lib.p2mb_scratch_size.restype = sz
    lib.p2mb_scratch_size.argtypes = [sz]
    lib.p2mb_compile.restype = i
    lib.p2mb_compile.argtypes = [ctypes.c_char_p, sz, vp, sz, vp, sz, ctypes.POINTER(vp), perr]
    lib.p2mb_stats_flat.restype = sz
    lib.p2mb_stats_flat.argtypes = [vp, ctypes.POINTER(ctypes.c_uint64), sz]
    lib.p2mb_sizeof.restype = sz
    lib.p2mb_sizeof.argtypes = [i]
    lib.p2m_state_size.restype = sz
    lib.p2m_state_size.argtypes = [vp]
    lib.p2m_state_init.restype = i
    lib.p2m_state_init.argtypes = [vp, vp, sz, ctypes.POINTER(vp), perr]
    # OTLP and pprof input: the same arguments
    for kind in ("", "pprof_"):
        fn = getattr(lib, "p2m_%swork_size" % kind)
        fn.restype = i
        fn.argtypes = [vp, ctypes.c_char_p, sz, ctypes.POINTER(sz), perr]
        fn = getattr(lib, "p2m_%saggregate" % kind)
        fn.restype = i
        fn.argtypes = [vp, ctypes.c_char_p, sz, ctypes.POINTER(_Options), vp, sz,
                       ctypes.POINTER(vp), vp, perr]
        fn = getattr(lib, "p2m_%sconvert" % kind)
        fn.restype = i
        fn.argtypes = [vp, ctypes.c_char_p, sz, ctypes.POINTER(_Options), vp, sz,
                       vp, sz, ctypes.POINTER(sz), vp, perr]
    for name, extra in (("p2m_write_json", []),
                        ("p2m_write_prom", [ctypes.POINTER(_PromOptions)])):
        if hasattr(lib, name):
            fn = getattr(lib, name)
            fn.restype = i
            fn.argtypes = [vp] + extra + [vp, sz, vp, sz, ctypes.POINTER(sz), perr]
    # The declarations above must match the library's layout.
    if lib.p2mb_sizeof(1) != ctypes.sizeof(_Error) or \
            lib.p2mb_sizeof(3) < ctypes.sizeof(_Options) or \
            ctypes.sizeof(_Attribute) != lib.p2mb_sizeof(5):
        raise ImportError("profile2metrics: the library's p2m_error / p2m_options layout does "
                          "not match this package; reinstall it")
    return lib


_lib = _load()
FORMATS = ("otlp",) + tuple(f for f in ("json", "prom") if hasattr(_lib, "p2m_write_" + f))
_STATS_SIZE = _lib.p2mb_sizeof(2)


class _Calls(NamedTuple):
    """The names of the library's calls for one input kind (same arguments and
    contract), looked up in _lib at each call."""
    work_size: str
    aggregate: str
    convert: str


_OTLP = _Calls("p2m_work_size", "p2m_aggregate", "p2m_convert")
_PPROF = _Calls("p2m_pprof_work_size", "p2m_pprof_aggregate", "p2m_pprof_convert")
_OPTIONS_SIZE = _lib.p2mb_sizeof(3)


def version() -> str:
    """The C library's version (P2M_VERSION_STRING)."""
    return _lib.p2m_version().decode()


def _make(cls: type, message: str, needed: int = 0) -> P2MError:
    """An error raised by this package itself, named as the library names its status."""
    name = _lib.p2m_status_string(cls.status)
    return cls(cls.status, name.decode() if name else "", message, 0, "", needed)


def _raise(err: _Error) -> None:
    status = int(err.status)
    name = _lib.p2m_status_string(status)
    cls = _ERRORS.get(status, P2MError)
    raise cls(status, name.decode() if name else "status %d" % status,
              err.message.decode("utf-8", "replace"), int(err.offset),
              err.field.decode("utf-8", "replace"), int(err.needed))


def _prom_options(promote: Union[bool, Sequence[str], None]) -> _PromOptions:
    """p2m_prom_options for promote_resource_attributes (True / "all", or keys)."""
    o = _PromOptions()
    if promote is True or promote == "all":
        o.promote_all = 1
    elif promote:
        if isinstance(promote, (str, bytes)):
            raise TypeError("promote_resource_attributes: True, 'all' or a list of keys")
        keys = [k.encode("utf-8") for k in promote]
        arr = (ctypes.c_char_p * len(keys))(*keys)
        o.promote_keys = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
        o.n_promote_keys = len(keys)
        o._keep = (arr, keys)  # type: ignore[attr-defined]
    return o


def _buffer(size: int) -> ctypes.Array:
    """size bytes of 8-byte aligned memory (the library's structs need it).
    A bytearray is calloc'ed, so a large buffer costs no time until it is
    written (a ctypes array would be cleared byte by byte first)."""
    size = max(size, 8)
    raw = bytearray(size + 8)
    arr = (ctypes.c_char * size).from_buffer(raw)
    skew = (-ctypes.addressof(arr)) % 8
    if skew:
        arr = (ctypes.c_char * size).from_buffer(raw, skew)
    return arr


def _config_text(config: Any) -> bytes:
    if config is None:
        return b"{}"
    if isinstance(config, (bytes, bytearray)):
        return bytes(config)
    if isinstance(config, str):
        return config.encode("utf-8")
    if isinstance(config, os.PathLike):
        path = os.fspath(config)
        if str(path).endswith((".yaml", ".yml")):
            raise _make(ConfigError, "%s: YAML files are read by the p2m tool; pass the "
                        "same structure as a dict or a JSON file (the standard library "
                        "has no YAML reader)" % path)
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise _make(ConfigError, "cannot read %s: %s" % (path, e)) from None
    if isinstance(config, Mapping):
        try:
            return json.dumps(config, allow_nan=False, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise _make(ConfigError, "the configuration is not JSON-like data (dicts, "
                        "lists, strings, numbers, booleans, None): %s" % e) from None
    raise TypeError("config must be a dict, a JSON text (str or bytes), a path to a JSON file "
                    "or None, not %s" % type(config).__name__)


# ---- the converter --------------------------------------------------------------


class Converter:
    """A compiled configuration, converting requests.

    config: a dict with the structure of the YAML configuration
    (docs/configuration.md; a Collector configuration with
    connectors.profiletometrics works too), its JSON text, a path to a JSON
    file, or None for the defaults. Invalid: ConfigError with field and
    message.

    One Converter may be shared by threads: with delta temporality each thread
    converts with its own working memory (kept per thread and reused); with
    cumulative temporality the running totals are one state, and calls take
    turns on a lock.

    max_work: upper bound on the working memory of one call (bytes), default
    no bound; a request that needs more fails with MemoryLimitError."""

    def __init__(self,
                 config: Union[Mapping[str, Any], str, bytes, "os.PathLike[str]", None] = None,
                 *, max_work: Optional[int] = None) -> None:
        text = _config_text(config)
        err = _Error()
        scratch = _buffer(_lib.p2mb_scratch_size(len(text)))
        engine = ctypes.c_void_p()
        st = _lib.p2mb_compile(text, len(text), scratch, ctypes.sizeof(scratch), None, 0,
                               ctypes.byref(engine), ctypes.byref(err))
        if st == 4 and err.needed > 0:  # P2M_ERR_MEMORY: the engine's size
            self._engine_mem = _buffer(err.needed)
            err = _Error()
            st = _lib.p2mb_compile(text, len(text), scratch, ctypes.sizeof(scratch),
                                   self._engine_mem, ctypes.sizeof(self._engine_mem),
                                   ctypes.byref(engine), ctypes.byref(err))
        if st != 0:
            _raise(err)
        self._engine = engine.value
        self._max_work = max_work
        self._tls = threading.local()
        self._last: Stats = Stats()
        self._state = None
        self._lock: Optional[threading.Lock] = None
        state_size = _lib.p2m_state_size(self._engine)
        if state_size > 0:
            self._state_mem = _buffer(state_size)
            state = ctypes.c_void_p()
            err = _Error()
            if _lib.p2m_state_init(self._engine, self._state_mem, ctypes.sizeof(self._state_mem),
                                   ctypes.byref(state), ctypes.byref(err)) != 0:
                _raise(err)
            self._state = state.value
            self._lock = threading.Lock()

    @property
    def cumulative(self) -> bool:
        """True when the configuration's temporality is cumulative."""
        return self._state is not None

    @property
    def stats(self) -> Stats:
        """Statistics of the calling thread's last successful convert()
        (of the converter's last one when this thread has made none)."""
        return getattr(self._tls, "stats", None) or self._last

    def reset(self) -> None:
        """Cumulative temporality: forget every running total (start over)."""
        if self._state is None:
            return
        assert self._lock is not None
        with self._lock:
            state = ctypes.c_void_p()
            err = _Error()
            if _lib.p2m_state_init(self._engine, self._state_mem, ctypes.sizeof(self._state_mem),
                                   ctypes.byref(state), ctypes.byref(err)) != 0:
                _raise(err)
            self._state = state.value

    def convert(self, data: Union[bytes, bytearray, memoryview], format: str = "otlp",
                input: str = "otlp", *, now: Optional[int] = None,
                resource_attributes: Optional[Mapping[str, Any]] = None,
                promote_resource_attributes: Union[bool, Sequence[str], None] = None
                ) -> Union[bytes, str]:
        """Converts one OTLP ExportProfilesServiceRequest (protobuf bytes), or
        with input="pprof" one pprof Profile (profile.proto, as Go's
        runtime/pprof writes it; gzip'd input is inflated first).

        format "otlp": the OTLP ExportMetricsServiceRequest as protobuf bytes,
        the bytes `p2m convert -f otlp` writes. "json": the same request in
        the OTLP JSON encoding, a str on one line (`p2m -f json` adds a
        newline; bytes of the input that are not UTF-8 are in the str as
        surrogate escapes, so text.encode("utf-8", "surrogateescape") is
        exactly what p2m writes). "prom": the Prometheus text exposition, a str (`p2m -f
        prom`); promote_resource_attributes (True for all, or a list of keys)
        puts resource attributes on every sample as labels, as
        `p2m --promote-resource-attrs`.

        now: Unix nanoseconds used for profiles that carry no time (default:
        the current time), as `p2m --now`.
        resource_attributes: attributes set on every resource of the output
        (str, bool, int, float or bytes values), replacing input attributes
        of the same key, as `p2m --resource-attr KEY=VALUE` (strings).
        Errors: MalformedInputError (offset), InvalidReferenceError (strict),
        MemoryLimitError past max_work, UnsupportedError for a format this
        build cannot write."""
        if format not in FORMATS:
            if format in ("json", "prom"):
                raise _make(UnsupportedError,
                            "format %r needs the library's %s writer, which this build "
                            "does not have; use format='otlp' (or p2m convert -f %s)"
                            % (format, "p2m_write_" + format, format))
            raise ValueError("format must be one of %s, not %r" % (", ".join(FORMATS), format))
        if input not in INPUTS:
            raise ValueError("input must be one of %s, not %r" % (", ".join(INPUTS), input))
        if promote_resource_attributes is not None and format != "prom":
            raise ValueError("promote_resource_attributes applies to format='prom' only")
        if not isinstance(data, bytes):
            data = bytes(data)
        if input == "pprof" and data[:2] == b"\x1f\x8b":
            # Go writes its profiles gzip'd; the library reads profile.proto itself
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as e:
                raise _make(MalformedInputError, "input='pprof': the input starts like gzip "
                            "(1f 8b) but does not inflate (%s); give the profile as Go wrote "
                            "it or uncompressed" % e) from None
        fns = _PPROF if input == "pprof" else _OTLP
        # the library's p2m_options may have grown beyond the fields named
        # here: clear all of its bytes, then set ours
        opts = _Options.from_buffer(_buffer(_OPTIONS_SIZE))
        opts.now_unix_nano = time.time_ns() if now is None else now
        if resource_attributes:
            attrs = _attributes(resource_attributes)
            opts.resource_attributes = attrs
            opts.n_resource_attributes = len(resource_attributes)
        if format == "otlp":
            if self._lock is None:
                return self._convert(data, opts, self._tls, fns)
            with self._lock:
                opts.state = self._state
                return self._convert(data, opts, self._tls, fns)
        prom = _prom_options(promote_resource_attributes) if format == "prom" else None
        if self._lock is None:
            return self._convert_text(data, opts, self._tls, format, prom, fns)
        # the result view of a cumulative call shows the state: written under the lock
        with self._lock:
            opts.state = self._state
            return self._convert_text(data, opts, self._tls, format, prom, fns)

    def _convert_text(self, data: bytes, opts: _Options, tls: threading.local, format: str,
                      prom: Optional[_PromOptions], fns: "_Calls") -> str:
        work = getattr(tls, "work", None)
        if work is None:
            work = tls.work = self._grow_work(self._work_size(data, fns))
        stats = getattr(tls, "stats_mem", None)
        if stats is None:
            stats = tls.stats_mem = _buffer(_STATS_SIZE)
        result = ctypes.c_void_p()
        for _ in range(4):
            err = _Error()
            aggregate = getattr(_lib, fns.aggregate)
            st = aggregate(self._engine, data, len(data), ctypes.byref(opts), work,
                           ctypes.sizeof(work), ctypes.byref(result), stats, ctypes.byref(err))
            if st == 4 and err.needed > ctypes.sizeof(work):
                work = tls.work = self._grow_work(err.needed)
            else:
                break
        if st == 1:
            self._work_size(data, fns)  # the offset p2m reports
        if st != 0:
            _raise(err)
        # the writer's scratch and the text: sizes from the writer's answers
        # (at most two P2M_ERR_MEMORY, then one P2M_ERR_OUTPUT_TOO_SMALL)
        scratch = getattr(tls, "wscratch", None)
        if scratch is None:
            scratch = tls.wscratch = _buffer(65536)
        out = getattr(tls, "tout", None)
        if out is None:
            out = tls.tout = _buffer(65536)
        n = ctypes.c_size_t(0)
        for _ in range(6):
            err = _Error()
            if prom is not None:
                st = _lib.p2m_write_prom(result, ctypes.byref(prom), scratch,
                                         ctypes.sizeof(scratch), out, ctypes.sizeof(out),
                                         ctypes.byref(n), ctypes.byref(err))
            else:
                st = _lib.p2m_write_json(result, scratch, ctypes.sizeof(scratch), out,
                                         ctypes.sizeof(out), ctypes.byref(n), ctypes.byref(err))
            if st == 4 and err.needed > ctypes.sizeof(scratch):
                scratch = tls.wscratch = self._grow_work(err.needed)
            elif st == 5 and err.needed > ctypes.sizeof(out):
                out = tls.tout = _buffer(err.needed)
            else:
                break
        if st != 0:
            _raise(err)
        # strings of the input that are not UTF-8 reach the text as they
        # came; surrogateescape keeps them byte for byte
        text = ctypes.string_at(out, n.value).decode("utf-8", "surrogateescape")
        s = self._read_stats(stats)
        tls.stats = self._last = dataclasses.replace(s, bytes_out=n.value)
        return text

    def _convert(self, data: bytes, opts: _Options, tls: threading.local,
                 fns: "_Calls") -> bytes:
        # The thread's working memory is reused as it is: p2m_work_size (a skim
        # of the whole input, half the cost of a conversion) runs only to size
        # a thread's first buffer; a buffer that turns out short gives
        # P2M_ERR_MEMORY with the size that works, and the call is repeated.
        work = getattr(tls, "work", None)
        if work is None:
            work = tls.work = self._grow_work(self._work_size(data, fns))
        out = getattr(tls, "out", None)
        if out is None:
            out = tls.out = _buffer(max(65536, len(data) // 4))
        stats = getattr(tls, "stats_mem", None)
        if stats is None:
            stats = tls.stats_mem = _buffer(_STATS_SIZE)
        n = ctypes.c_size_t(0)
        for _ in range(4):
            err = _Error()
            convert = getattr(_lib, fns.convert)
            st = convert(self._engine, data, len(data), ctypes.byref(opts), work,
                         ctypes.sizeof(work), out, ctypes.sizeof(out), ctypes.byref(n),
                         stats, ctypes.byref(err))
            if st == 5 and err.needed > ctypes.sizeof(out):  # output too small
                out = tls.out = _buffer(err.needed)
            elif st == 4 and err.needed > ctypes.sizeof(work):  # working memory too small
                work = tls.work = self._grow_work(err.needed)
            else:
                break
        if st == 1:
            # p2m reports what the skim finds first: the same offset here
            self._work_size(data, fns)
        if st != 0:
            _raise(err)
        result = ctypes.string_at(out, n.value)
        tls.stats = self._last = self._read_stats(stats)
        return result

    def _work_size(self, data: bytes, fns: "_Calls") -> int:
        err = _Error()
        need = ctypes.c_size_t(0)
        work_size = getattr(_lib, fns.work_size)
        if work_size(self._engine, data, len(data), ctypes.byref(need), ctypes.byref(err)) != 0:
            _raise(err)
        return need.value

    def _grow_work(self, size: int) -> ctypes.Array:
        if self._max_work is not None and size > self._max_work:
            raise _make(MemoryLimitError, "the request needs %d bytes of working memory, over "
                        "max_work=%d" % (size, self._max_work), needed=size)
        return _buffer(size)

    @staticmethod
    def _read_stats(mem: ctypes.Array) -> Stats:
        vals = (ctypes.c_uint64 * len(_STATS_FIELDS))()
        _lib.p2mb_stats_flat(mem, vals, len(_STATS_FIELDS))
        d: Dict[str, Any] = dict(zip(_STATS_FIELDS, (int(v) for v in vals)))
        d["layout"] = _LAYOUTS.get(d["layout"], str(d["layout"]))
        d["layout_evidence"] = _LAYOUTS.get(d["layout_evidence"], str(d["layout_evidence"]))
        d["layout_conflict"] = bool(d["layout_conflict"])
        return Stats(**d)
