// SPDX-License-Identifier: MIT
//! Every `unsafe` of the crate: the C declarations of profile2metrics.h
//! (the structs repeated with `#[repr(C)]`, checked against the compiler's
//! sizes and offsets in the tests below) and the calls into it.
//!
//! Memory: the engine and the cumulative state live in `Vec<u64>` blocks
//! (8-byte aligned) owned here; the C code keeps pointers into them, and a
//! Vec's heap block does not move while it is not resized, which these
//! types never do. The library allocates nothing and keeps no pointer to
//! the input or the configuration after a call returns.
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

use crate::{Config, Error, Layout, Metric, RuleKind, Stats, Status, TypeCount};

#[repr(C)]
pub struct p2m_engine {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct p2m_state {
    _opaque: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct p2m_metric_config {
    enabled: c_int,
    name: *const c_char,
    unit: *const c_char,
    description: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct p2m_filter {
    enabled: c_int,
    pattern: *const c_char,
    patterns: *const *const c_char,
    n_patterns: usize,
    keys: *const *const c_char,
    n_keys: usize,
}

#[repr(C)]
struct p2m_rule {
    key: *const c_char,
    type_: u32,
    value: *const c_char,
    from: *const c_char,
    source: *const c_char,
    index: u32,
    default_value: *const c_char,
}

#[repr(C)]
struct p2m_extra_metric {
    name: *const c_char,
    unit: *const c_char,
    description: *const c_char,
    sample_types: *const *const c_char,
    n_sample_types: usize,
    stack_pattern: *const c_char,
}

#[repr(C)]
struct p2m_type_rule {
    type_: *const c_char,
    unit: *const c_char,
    metric: u32,
    scale: f64,
}

#[repr(C)]
struct p2m_config {
    struct_size: usize,
    cpu: p2m_metric_config,
    memory: p2m_metric_config,
    function: p2m_metric_config,
    function_mode: u32,
    function_attribute_key: *const c_char,
    attributes: *const p2m_rule,
    n_attributes: usize,
    process_filter: p2m_filter,
    thread_filter: p2m_filter,
    pattern_filter: p2m_filter,
    process_key: *const c_char,
    thread_key: *const c_char,
    type_rules: *const p2m_type_rule,
    n_type_rules: usize,
    temporality: u32,
    max_series: u32,
    layout: u32,
    strict: c_int,
    state_max_series: u32,
    state_bytes: usize,
    extra: *const p2m_extra_metric,
    n_extra: usize,
    stack_filter: p2m_filter,
}

#[repr(C)]
struct p2m_error {
    status: u32,
    offset: usize,
    needed: usize,
    field: [c_char; 64],
    message: [c_char; 128],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct p2m_str {
    ptr: *const c_char,
    len: usize,
}

#[repr(C)]
struct p2m_value {
    type_: u32,
    str_: p2m_str,
    i: i64,
    d: f64,
}

#[repr(C)]
struct p2m_attribute {
    key: p2m_str,
    value: p2m_value,
}

const P2M_VALUE_STRING: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy)]
struct p2m_type_count {
    type_: p2m_str,
    unit: p2m_str,
    profiles: u64,
    samples: u64,
}

/// An unfed type's offset with this bit is into the working memory
/// (P2MB_IN_WORK).
const IN_WORK: u64 = 1 << 63;

/// Sample types listed in Stats::unfed, as p2m lists them.
const MAX_UNFED: usize = 32;

#[repr(C)]
struct p2m_options {
    struct_size: usize,
    now_unix_nano: u64,
    state: *mut p2m_state,
    symbolize: *const c_void,
    user_data: *mut c_void,
    unfed: *mut p2m_type_count,
    unfed_cap: usize,
    resource_attributes: *const p2m_attribute,
    n_resource_attributes: usize,
}

#[repr(C)]
#[derive(Default)]
struct p2m_stats {
    bytes_in: usize,
    bytes_out: usize,
    layout: u32,
    resources: u64,
    profiles: u64,
    profiles_unclassified: u64,
    samples: u64,
    samples_kept: u64,
    dropped_process: u64,
    dropped_thread: u64,
    dropped_pattern: u64,
    empty_samples: u64,
    invalid_references: u64,
    series: u64,
    overflow_samples: u64,
    work_used: usize,
    regex_searches: u64,
    profiles_unfed: u64,
    samples_unfed: u64,
    n_unfed: usize,
    layout_evidence: u32,
    layout_conflict: c_int,
    dropped_stack: u64,
}

#[repr(C)]
struct p2m_prom_options {
    struct_size: usize,
    promote_all: c_int,
    promote_keys: *const *const c_char,
    n_promote_keys: usize,
    merged_resources: *mut usize,
}

/// The shim's answer (bindings/shim/p2m_shim.h).
#[repr(C)]
struct p2mb_result {
    out_size: usize,
    heap_out: *mut c_void,
    scratch_needed: usize,
    stats: p2m_stats,
    err: p2m_error,
    unfed: [u64; MAX_UNFED * 6],
}

const P2M_OK: u32 = 0;
const P2M_ERR_MEMORY: u32 = 4;

extern "C" {
    fn p2m_version() -> *const c_char;
    fn p2m_config_init_size(cfg: *mut p2m_config, size: usize);
    fn p2m_engine_compile(
        cfg: *const p2m_config,
        mem: *mut c_void,
        mem_size: usize,
        engine: *mut *const p2m_engine,
        err: *mut p2m_error,
    ) -> u32;
    fn p2m_state_size(engine: *const p2m_engine) -> usize;
    fn p2m_state_init(
        engine: *const p2m_engine,
        mem: *mut c_void,
        mem_size: usize,
        state: *mut *mut p2m_state,
        err: *mut p2m_error,
    ) -> u32;
    fn p2mb_convert(
        engine: *const p2m_engine,
        input: *const c_void,
        input_size: usize,
        input_kind: c_int,
        options: *const p2m_options,
        format: c_int,
        prom: *const p2m_prom_options,
        work: *mut c_void,
        work_size: usize,
        scratch: *mut c_void,
        scratch_size: usize,
        out: *mut c_void,
        cap: usize,
        want_unfed: c_int,
        res: *mut p2mb_result,
    ) -> u32;
    fn p2mb_free(p: *mut c_void);
    #[cfg(test)]
    fn p2mb_layout(what: c_int) -> usize;
}

pub fn version() -> &'static str {
    // SAFETY: p2m_version returns a static NUL-terminated ASCII string.
    let s = unsafe { std::ffi::CStr::from_ptr(p2m_version()) };
    s.to_str().unwrap_or("unknown")
}

fn new_error() -> p2m_error {
    p2m_error {
        status: 0,
        offset: 0,
        needed: 0,
        field: [0; 64],
        message: [0; 128],
    }
}

fn c_text(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn to_error(st: u32, e: &p2m_error) -> Error {
    Error {
        status: Status::from_c(st),
        offset: e.offset,
        needed: e.needed,
        field: c_text(&e.field),
        message: c_text(&e.message),
    }
}

/// 8-byte aligned memory of at least `bytes` bytes.
#[allow(clippy::manual_div_ceil)] // usize::div_ceil needs Rust 1.73
fn block(bytes: usize) -> Vec<u64> {
    vec![0u64; (bytes + 7) / 8]
}

// ---- the configuration in C form -------------------------------------------

/// Holds the C strings and arrays a p2m_config points to until the engine
/// is compiled (the library copies what it keeps).
struct Arena {
    strings: Vec<CString>,
    lists: Vec<Vec<*const c_char>>,
}

impl Arena {
    fn str(&mut self, s: &str, field: &str) -> Result<*const c_char, Error> {
        let c = CString::new(s).map_err(|_| Error {
            status: Status::Argument,
            offset: 0,
            needed: 0,
            field: field.to_string(),
            message: "contains a NUL byte".to_string(),
        })?;
        let p = c.as_ptr();
        self.strings.push(c); // the heap block of a CString does not move
        Ok(p)
    }
    fn opt(&mut self, s: &Option<String>, field: &str) -> Result<*const c_char, Error> {
        match s {
            Some(s) => self.str(s, field),
            None => Ok(ptr::null()),
        }
    }
    fn list(
        &mut self,
        items: &[String],
        field: &str,
    ) -> Result<(*const *const c_char, usize), Error> {
        if items.is_empty() {
            return Ok((ptr::null(), 0));
        }
        let mut v = Vec::with_capacity(items.len());
        for (i, s) in items.iter().enumerate() {
            v.push(self.str(s, &format!("{}[{}]", field, i))?);
        }
        let p = v.as_ptr();
        self.lists.push(v);
        Ok((p, items.len()))
    }
    fn metric(
        &mut self,
        m: &Option<Metric>,
        dst: &mut p2m_metric_config,
        field: &str,
    ) -> Result<(), Error> {
        if let Some(m) = m {
            dst.enabled = m.enabled as c_int;
            if m.name.is_some() {
                dst.name = self.opt(&m.name, &format!("{}.metric_name", field))?;
            }
            if m.unit.is_some() {
                dst.unit = self.opt(&m.unit, &format!("{}.unit", field))?;
            }
            if m.description.is_some() {
                dst.description = self.opt(&m.description, &format!("{}.description", field))?;
            }
        }
        Ok(())
    }
    fn filter(
        &mut self,
        f: &crate::Filter,
        dst: &mut p2m_filter,
        field: &str,
    ) -> Result<(), Error> {
        dst.enabled = f.enabled as c_int;
        dst.pattern = self.opt(&f.pattern, &format!("{}.pattern", field))?;
        let (p, n) = self.list(&f.patterns, &format!("{}.patterns", field))?;
        dst.patterns = p;
        dst.n_patterns = n;
        let (p, n) = self.list(&f.keys, &format!("{}.keys", field))?;
        dst.keys = p;
        dst.n_keys = n;
        Ok(())
    }
}

/// Compiles `cfg` in C form and hands it to `f` (the pointers are valid only
/// inside `f`).
fn with_c_config<R>(cfg: &Config, f: impl FnOnce(&p2m_config) -> R) -> Result<R, Error> {
    let mut a = Arena {
        strings: Vec::new(),
        lists: Vec::new(),
    };
    let mut c = std::mem::MaybeUninit::<p2m_config>::uninit();
    // SAFETY: p2m_config_init_size writes every field of a struct of that size (and no byte past
    // it), struct_size included.
    let mut c = unsafe {
        p2m_config_init_size(c.as_mut_ptr(), std::mem::size_of::<p2m_config>());
        c.assume_init()
    };
    a.metric(&cfg.cpu, &mut c.cpu, "metrics.cpu")?;
    a.metric(&cfg.memory, &mut c.memory, "metrics.memory")?;
    a.metric(&cfg.function, &mut c.function, "metrics.function")?;
    c.function_mode = cfg.function_mode as u32;
    if cfg.function_attribute_key.is_some() {
        c.function_attribute_key = a.opt(
            &cfg.function_attribute_key,
            "metrics.function.attribute_key",
        )?;
    }
    let mut rules: Vec<p2m_rule> = Vec::new();
    if let Some(list) = &cfg.attributes {
        for (i, r) in list.iter().enumerate() {
            let at = format!("attributes[{}]", i);
            let mut cr = p2m_rule {
                key: a.str(&r.key, &format!("{}.key", at))?,
                type_: 0,
                value: ptr::null(),
                from: ptr::null(),
                source: ptr::null(),
                index: 0,
                default_value: a.opt(&r.default, &format!("{}.default", at))?,
            };
            match &r.kind {
                RuleKind::Literal(v) => cr.value = a.str(v, &format!("{}.value", at))?,
                RuleKind::Attribute(from) => {
                    cr.type_ = 1;
                    cr.from = a.str(from, &format!("{}.from", at))?;
                }
                RuleKind::Regex { pattern, source } => {
                    cr.type_ = 2;
                    cr.value = a.str(pattern, &format!("{}.value", at))?;
                    cr.source = a.opt(source, &format!("{}.source", at))?;
                }
                RuleKind::StringTable(index) => {
                    cr.type_ = 3;
                    cr.index = *index;
                }
                RuleKind::Frame(property) => {
                    cr.type_ = 4;
                    cr.from = a.str(property.name(), &format!("{}.from", at))?;
                }
            }
            rules.push(cr);
        }
        // non-NULL even when empty: the library reads "no attributes"
        c.attributes = if rules.is_empty() {
            ptr::NonNull::dangling().as_ptr()
        } else {
            rules.as_ptr()
        };
        c.n_attributes = rules.len();
    }
    a.filter(&cfg.process_filter, &mut c.process_filter, "process_filter")?;
    a.filter(&cfg.thread_filter, &mut c.thread_filter, "thread_filter")?;
    a.filter(&cfg.pattern_filter, &mut c.pattern_filter, "pattern_filter")?;
    a.filter(&cfg.stack_filter, &mut c.stack_filter, "stack_filter")?;
    if cfg.process_key.is_some() {
        c.process_key = a.opt(&cfg.process_key, "process_key")?;
    }
    if cfg.thread_key.is_some() {
        c.thread_key = a.opt(&cfg.thread_key, "thread_key")?;
    }
    let mut type_rules: Vec<p2m_type_rule> = Vec::new();
    for (i, r) in cfg.type_rules.iter().enumerate() {
        type_rules.push(p2m_type_rule {
            type_: a.str(&r.sample_type, &format!("type_rules[{}].type", i))?,
            unit: a.str(&r.unit, &format!("type_rules[{}].unit", i))?,
            metric: r.metric as u32,
            scale: r.scale,
        });
    }
    if !type_rules.is_empty() {
        c.type_rules = type_rules.as_ptr();
        c.n_type_rules = type_rules.len();
    }
    let mut extra: Vec<p2m_extra_metric> = Vec::new();
    for (i, e) in cfg.extra.iter().enumerate() {
        let at = format!("metrics.extra[{}]", i);
        let (types, n) = a.list(&e.sample_types, &format!("{}.sample_types", at))?;
        extra.push(p2m_extra_metric {
            name: a.str(&e.name, &format!("{}.metric_name", at))?,
            unit: a.opt(&e.unit, &format!("{}.unit", at))?,
            description: a.opt(&e.description, &format!("{}.description", at))?,
            sample_types: types,
            n_sample_types: n,
            stack_pattern: a.opt(&e.stack_pattern, &format!("{}.stack_pattern", at))?,
        });
    }
    if !extra.is_empty() {
        c.extra = extra.as_ptr();
        c.n_extra = extra.len();
    }
    c.temporality = cfg.temporality as u32;
    if let Some(n) = cfg.max_series {
        c.max_series = n;
    }
    c.layout = cfg.layout as u32;
    c.strict = cfg.strict as c_int;
    if let Some(n) = cfg.state_max_series {
        c.state_max_series = n;
    }
    if let Some(n) = cfg.state_bytes {
        c.state_bytes = n;
    }
    let r = f(&c);
    drop((rules, type_rules, extra, a));
    Ok(r)
}

// ---- engine, state, scratch ---------------------------------------------------

/// A compiled configuration in memory owned here, and the resource
/// attributes every call adds (p2m_str views of the strings kept here).
pub struct Engine {
    _mem: Vec<u64>,
    ptr: *const p2m_engine,
    _rattr_text: Vec<String>,
    rattrs: Vec<p2m_attribute>,
    _prom_keys: Vec<CString>,
    _prom_key_ptrs: Vec<*const c_char>,
    prom: p2m_prom_options,
}

// SAFETY: the library's contract (docs/api.md, Thread safety): a compiled
// engine is immutable; any number of threads may convert with it at once,
// each with its own working memory and output. The memory is owned by the
// Engine and freed only when it is dropped; the resource attributes are
// read-only views of strings the Engine owns and never changes.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

/// A cumulative state: used by one call at a time (the Converter holds it
/// in a Mutex), always with the engine it was made for.
pub struct State {
    mem: Vec<u64>,
    ptr: *mut p2m_state,
}

// SAFETY: the state is plain memory without pointers to anything outside
// its own block (docs/api.md, Cumulative temporality); moving it to another
// thread is fine, sharing is prevented by the Mutex around it.
unsafe impl Send for State {}

/// The working memory and output buffer of one call, reused.
pub struct Scratch {
    work: Vec<u64>,
    out: Vec<u8>,
    writers: Vec<u64>, // scratch of the JSON and Prometheus writers
}

impl Scratch {
    pub fn new(out_hint: usize) -> Scratch {
        Scratch {
            work: Vec::new(),
            out: vec![0; out_hint.max(4096)],
            writers: Vec::new(),
        }
    }
    pub fn output(&self, n: usize) -> &[u8] {
        &self.out[..n]
    }
}

impl Engine {
    pub fn compile(cfg: &Config) -> Result<Engine, Error> {
        with_c_config(cfg, |c| {
            let mut err = new_error();
            let mut eng: *const p2m_engine = ptr::null();
            // SAFETY: c and the strings it points to are alive for the call;
            // NULL memory asks for the size.
            let st = unsafe { p2m_engine_compile(c, ptr::null_mut(), 0, &mut eng, &mut err) };
            if st != P2M_ERR_MEMORY {
                return Err(to_error(st, &err));
            }
            let mut mem = block(err.needed);
            let size = mem.len() * 8;
            // SAFETY: mem is size bytes, 8-byte aligned, and outlives the engine
            // (both are owned by the Engine returned).
            let st = unsafe {
                p2m_engine_compile(c, mem.as_mut_ptr() as *mut c_void, size, &mut eng, &mut err)
            };
            if st != P2M_OK {
                return Err(to_error(st, &err));
            }
            // the strings' heap blocks do not move when the Vec of them does
            let text: Vec<String> = cfg
                .resource_attributes
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            let view = |s: &String| p2m_str {
                ptr: s.as_ptr() as *const c_char,
                len: s.len(),
            };
            let rattrs = text
                .chunks(2)
                .map(|kv| p2m_attribute {
                    key: view(&kv[0]),
                    value: p2m_value {
                        type_: P2M_VALUE_STRING,
                        str_: view(&kv[1]),
                        i: 0,
                        d: 0.0,
                    },
                })
                .collect();
            // the keys' heap blocks do not move when the Vecs do
            let mut keys = Vec::new();
            if let crate::PromPromote::Keys(list) = &cfg.prom_promote {
                for (i, k) in list.iter().enumerate() {
                    keys.push(CString::new(k.as_str()).map_err(|_| Error {
                        status: Status::Argument,
                        offset: 0,
                        needed: 0,
                        field: format!("prom_promote[{}]", i),
                        message: "contains a NUL byte".to_string(),
                    })?);
                }
            }
            let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
            let prom = p2m_prom_options {
                struct_size: std::mem::size_of::<p2m_prom_options>(),
                promote_all: matches!(cfg.prom_promote, crate::PromPromote::All) as c_int,
                promote_keys: if key_ptrs.is_empty() {
                    ptr::null()
                } else {
                    key_ptrs.as_ptr()
                },
                n_promote_keys: key_ptrs.len(),
                merged_resources: ptr::null_mut(),
            };
            Ok(Engine {
                _mem: mem,
                ptr: eng,
                _rattr_text: text,
                rattrs,
                _prom_keys: keys,
                _prom_key_ptrs: key_ptrs,
                prom,
            })
        })?
    }

    pub fn state_size(&self) -> usize {
        // SAFETY: self.ptr is a compiled engine.
        unsafe { p2m_state_size(self.ptr) }
    }

    pub fn new_state(&self) -> Result<State, Error> {
        let mut s = State {
            mem: block(self.state_size()),
            ptr: ptr::null_mut(),
        };
        self.reset_state(&mut s)?;
        Ok(s)
    }

    pub fn reset_state(&self, s: &mut State) -> Result<(), Error> {
        let mut err = new_error();
        let size = s.mem.len() * 8;
        // SAFETY: s.mem is size bytes owned by s; the state pointer points
        // into it and is used only with this engine.
        let st = unsafe {
            p2m_state_init(
                self.ptr,
                s.mem.as_mut_ptr() as *mut c_void,
                size,
                &mut s.ptr,
                &mut err,
            )
        };
        if st != P2M_OK {
            return Err(to_error(st, &err));
        }
        Ok(())
    }

    /// Converts `input` (`input_kind` 0 OTLP, 1 pprof) into `format` (0
    /// OTLP, 1 JSON, 2 Prometheus); the output is `scratch.output(n)`. The working memory grows to the size
    /// the library asks for; the writers' scratch and the output grow in
    /// the shim (C heap, copied here), so an aggregation is never repeated.
    pub fn convert(
        &self,
        input: &[u8],
        input_kind: c_int,
        now: u64,
        format: c_int,
        state: Option<&mut State>,
        scratch: &mut Scratch,
    ) -> Result<(usize, Stats), Error> {
        let opt = p2m_options {
            struct_size: std::mem::size_of::<p2m_options>(),
            now_unix_nano: now,
            state: match state {
                Some(s) => s.ptr,
                None => ptr::null_mut(),
            },
            symbolize: ptr::null(),
            user_data: ptr::null_mut(),
            unfed: ptr::null_mut(),
            unfed_cap: 0,
            resource_attributes: if self.rattrs.is_empty() {
                ptr::null()
            } else {
                self.rattrs.as_ptr()
            },
            n_resource_attributes: self.rattrs.len(),
        };
        static ONE: [u8; 1] = [0];
        let in_ptr = if input.is_empty() {
            ONE.as_ptr()
        } else {
            input.as_ptr()
        };
        let mut res = std::mem::MaybeUninit::<p2mb_result>::uninit();
        let mut st = P2M_OK;
        for _ in 0..4 {
            let (work_ptr, work_size) = if scratch.work.is_empty() {
                (ptr::null_mut(), 0)
            } else {
                (
                    scratch.work.as_mut_ptr() as *mut c_void,
                    scratch.work.len() * 8,
                )
            };
            let (ws_ptr, ws_size) = if scratch.writers.is_empty() {
                (ptr::null_mut(), 0)
            } else {
                (
                    scratch.writers.as_mut_ptr() as *mut c_void,
                    scratch.writers.len() * 8,
                )
            };
            // SAFETY: every pointer is valid for the size given with it for
            // the whole call (input, work, writers' scratch, out, the locals),
            // the engine is compiled, the state (if any) is this engine's and
            // exclusively borrowed; the shim writes at most cap bytes of
            // output and fills res whole (it starts by zeroing it).
            st = unsafe {
                p2mb_convert(
                    self.ptr,
                    in_ptr as *const c_void,
                    input.len(),
                    input_kind,
                    &opt,
                    format,
                    &self.prom,
                    work_ptr,
                    work_size,
                    ws_ptr,
                    ws_size,
                    scratch.out.as_mut_ptr() as *mut c_void,
                    scratch.out.len(),
                    1,
                    res.as_mut_ptr(),
                )
            };
            // SAFETY: p2mb_convert initialised res (memset, then fields).
            let r = unsafe { res.assume_init_ref() };
            if st == P2M_ERR_MEMORY && r.err.needed > work_size {
                scratch.work = block(r.err.needed);
            } else {
                break;
            }
        }
        // SAFETY: as above.
        let r = unsafe { res.assume_init_ref() };
        if st != P2M_OK {
            return Err(to_error(st, &r.err));
        }
        let n = r.out_size;
        if r.scratch_needed > scratch.writers.len() * 8 {
            scratch.writers = block(r.scratch_needed);
        }
        if !r.heap_out.is_null() {
            // SAFETY: the shim malloc'd heap_out and wrote out_size bytes to
            // it; it is copied once here (the copy is the output buffer from
            // now on: the next output of this size fits) and freed with the
            // shim's free.
            unsafe {
                scratch.out = std::slice::from_raw_parts(r.heap_out as *const u8, n).to_vec();
                p2mb_free(r.heap_out);
            }
        }
        let mut stats = rust_stats(&r.stats);
        // the sample types that fed no metric, as offsets into the input,
        // or with P2MB_IN_WORK into the working memory (pprof input)
        // SAFETY: scratch.work is the working memory of the call that just
        // succeeded (the loop replaces it only before a repeated call), u64s
        // seen as their bytes.
        let work: &[u8] = unsafe {
            std::slice::from_raw_parts(scratch.work.as_ptr() as *const u8, scratch.work.len() * 8)
        };
        let text = |at: u64, len: u64| -> String {
            let (base, at) = if at & IN_WORK != 0 {
                (work, (at & !IN_WORK) as usize)
            } else {
                (input, at as usize)
            };
            let len = len as usize;
            if at <= base.len() && len <= base.len() - at {
                String::from_utf8_lossy(&base[at..at + len]).into_owned()
            } else {
                String::new()
            }
        };
        for i in 0..r.stats.n_unfed.min(MAX_UNFED) {
            let e = &r.unfed[i * 6..i * 6 + 6];
            stats.unfed.push(TypeCount {
                sample_type: text(e[0], e[1]),
                unit: text(e[2], e[3]),
                profiles: e[4],
                samples: e[5],
            });
        }
        Ok((n, stats))
    }
}

fn rust_stats(s: &p2m_stats) -> Stats {
    Stats {
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        layout: Layout::from_c(s.layout),
        resources: s.resources,
        profiles: s.profiles,
        profiles_unclassified: s.profiles_unclassified,
        samples: s.samples,
        samples_kept: s.samples_kept,
        dropped_process: s.dropped_process,
        dropped_thread: s.dropped_thread,
        dropped_pattern: s.dropped_pattern,
        dropped_stack: s.dropped_stack,
        empty_samples: s.empty_samples,
        invalid_references: s.invalid_references,
        series: s.series,
        overflow_samples: s.overflow_samples,
        work_used: s.work_used,
        regex_searches: s.regex_searches,
        profiles_unfed: s.profiles_unfed,
        samples_unfed: s.samples_unfed,
        layout_evidence: Layout::from_c(s.layout_evidence),
        layout_conflict: s.layout_conflict != 0,
        unfed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    // offset_of! without needing Rust 1.77 (Debian 12 has 1.63)
    macro_rules! offset_of {
        ($t:ty, $f:ident) => {{
            let u = std::mem::MaybeUninit::<$t>::uninit();
            let base = u.as_ptr();
            // SAFETY: only the field's address is taken, nothing is read.
            let field = unsafe { std::ptr::addr_of!((*base).$f) };
            field as usize - base as usize
        }};
    }

    fn c(what: c_int) -> usize {
        // SAFETY: a plain function of an integer.
        unsafe { p2mb_layout(what) }
    }

    // The Rust declarations have the C compiler's sizes and offsets.
    #[test]
    fn struct_layouts_match_the_header() {
        let rust = [
            size_of::<p2m_config>(),
            size_of::<p2m_error>(),
            size_of::<p2m_stats>(),
            size_of::<p2m_options>(),
            size_of::<p2m_rule>(),
            size_of::<p2m_filter>(),
            size_of::<p2m_extra_metric>(),
            size_of::<p2m_type_rule>(),
            size_of::<p2m_metric_config>(),
            offset_of!(p2m_config, function_mode),
            offset_of!(p2m_config, process_filter),
            offset_of!(p2m_config, temporality),
            offset_of!(p2m_config, state_bytes),
            offset_of!(p2m_config, extra),
            offset_of!(p2m_stats, work_used),
            offset_of!(p2m_stats, layout_conflict),
            offset_of!(p2m_error, message),
            offset_of!(p2m_rule, default_value),
            offset_of!(p2m_type_rule, scale),
            size_of::<p2m_attribute>(),
            offset_of!(p2m_attribute, value),
            offset_of!(p2m_options, resource_attributes),
            size_of::<p2m_type_count>(),
            offset_of!(p2m_type_count, samples),
            size_of::<p2m_prom_options>(),
            offset_of!(p2m_prom_options, merged_resources),
            size_of::<p2mb_result>(),
            offset_of!(p2mb_result, stats),
            offset_of!(p2mb_result, err),
            offset_of!(p2mb_result, unfed),
            offset_of!(p2m_config, stack_filter),
            offset_of!(p2m_extra_metric, stack_pattern),
            offset_of!(p2m_stats, dropped_stack),
            offset_of!(p2m_config, cpu),
            offset_of!(p2m_options, now_unix_nano),
            offset_of!(p2m_prom_options, promote_all),
        ];
        for (i, r) in rust.iter().enumerate() {
            assert_eq!(
                *r,
                c(i as c_int),
                "layout item {} (bindings/shim/p2m_shim.c p2mb_layout)",
                i
            );
        }
    }
}
