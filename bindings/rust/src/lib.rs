// SPDX-License-Identifier: MIT
//! OpenTelemetry profiles to OpenTelemetry metrics, in-process.
//!
//! A safe wrapper around the C library `profile2metrics.h`, which the
//! build script compiles into the crate with the system C compiler. A
//! [`Converter`] turns an OTLP `ExportProfilesServiceRequest` (protobuf
//! bytes) into an OTLP `ExportMetricsServiceRequest` (protobuf bytes), the
//! same bytes as `p2m convert -f otlp`.
//!
//! ```no_run
//! use profile2metrics::{Config, Converter};
//! let conv = Converter::new(&Config::default())?;
//! let profiles = std::fs::read("profiles.pb").unwrap();
//! match conv.convert(&profiles) {
//!     Ok(metrics) => println!("{} bytes of OTLP metrics", metrics.len()),
//!     Err(e) => eprintln!("{} (status {:?}, byte {})", e, e.status, e.offset),
//! }
//! # Ok::<(), profile2metrics::Error>(())
//! ```
//!
//! A `Converter` is `Send + Sync`: share it between threads (in an `Arc`).
//! With delta temporality the calls run in parallel, each with working
//! memory of its own; with cumulative temporality the running totals are
//! shared state and the calls take turns.
//!
//! All `unsafe` code is in the private module `ffi`.
#![deny(unsafe_code)]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

#[allow(unsafe_code)]
mod ffi;

/// The version of the C library compiled into the crate.
pub fn version() -> &'static str {
    ffi::version()
}

// ---- configuration --------------------------------------------------------

/// The library's `p2m_config`. `Config::default()` is the library's default
/// configuration (docs/configuration.md; the YAML key is named for each
/// field): `None` and empty lists mean "the default".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// `metrics.cpu`; `None`: on, `cpu_time`, ns.
    pub cpu: Option<Metric>,
    /// `metrics.memory`; `None`: on, `memory_allocation`, By.
    pub memory: Option<Metric>,
    /// `metrics.function`; `None`: off.
    pub function: Option<Metric>,
    /// `metrics.function.mode`.
    pub function_mode: FunctionMode,
    /// `metrics.function.attribute_key`; `None`: `function.name`.
    pub function_attribute_key: Option<String>,
    /// `metrics.extra`: declared metrics (at most 8 in this build).
    pub extra: Vec<ExtraMetric>,
    /// `attributes`: `None` = the default rules (process.executable.name,
    /// thread.name); `Some(vec![])` = no attributes.
    pub attributes: Option<Vec<Rule>>,
    /// `process_filter`.
    pub process_filter: Filter,
    /// `thread_filter`.
    pub thread_filter: Filter,
    /// `pattern_filter` (with `keys`).
    pub pattern_filter: Filter,
    /// `stack_filter`: keeps the samples with a function name on their
    /// stack that matches (no `keys`).
    pub stack_filter: Filter,
    /// `process_key`; `None`: `process.executable.name`.
    pub process_key: Option<String>,
    /// `thread_key`; `None`: `thread.name`.
    pub thread_key: Option<String>,
    /// `type_rules`: sample types mapped before the built-in table.
    pub type_rules: Vec<TypeRule>,
    /// `temporality`.
    pub temporality: Temporality,
    /// `max_series` per metric per resource; `None`: 2000.
    pub max_series: Option<u32>,
    /// `layout`.
    pub layout: Layout,
    /// `strict`: invalid references are errors, not skipped.
    pub strict: bool,
    /// `state_max_series` (cumulative); `None`: 8192.
    pub state_max_series: Option<u32>,
    /// `state_bytes` (cumulative); `None`: 1 MiB.
    pub state_bytes: Option<usize>,
    /// What `convert`, `convert_format` and `convert_with_stats` read:
    /// [`Input::Otlp`] (the default) or [`Input::Pprof`].
    pub input: Input,
    /// The output of `convert` and `convert_with_stats` (`p2m convert -f`).
    pub format: Format,
    /// `Format::Prom` only: resource attributes as labels on every sample
    /// (`p2m convert --promote-resource-attrs all|KEY,...`).
    pub prom_promote: PromPromote,
    /// String attributes `(key, value)` added to every resource of the
    /// output, replacing one of the same key (`p2m convert --resource-attr
    /// KEY=VALUE`); of a key given twice the last wins.
    pub resource_attributes: Vec<(String, String)>,
    /// The time given to profiles that carry none (`p2m convert --now`);
    /// `None`: the current time at each call.
    pub now_unix_nano: Option<u64>,
}

/// The kind of input a converter reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Input {
    /// An OTLP `ExportProfilesServiceRequest` (protobuf).
    #[default]
    Otlp = 0,
    /// One pprof `Profile` (`profile.proto`, as Go's runtime/pprof writes
    /// it), uncompressed: the crate has no inflater, so gzip'd input
    /// (`1f 8b`) is refused with [`Status::Malformed`] at byte 0.
    Pprof = 1,
}

/// An output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// ExportMetricsServiceRequest, protobuf.
    #[default]
    Otlp = 0,
    /// The same request in the OTLP JSON encoding, one line without a
    /// newline.
    Json = 1,
    /// Prometheus text exposition format 0.0.4.
    Prom = 2,
}

/// Which resource attributes `Format::Prom` puts on every sample.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PromPromote {
    #[default]
    None,
    All,
    Keys(Vec<String>),
}

/// One of `metrics.cpu`, `metrics.memory`, `metrics.function`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metric {
    pub enabled: bool,
    /// `metric_name`; `None`: the default name.
    pub name: Option<String>,
    /// cpu and function `ns`, `us`, `ms`, `s`; memory `By`, `KiBy`, `MiBy`.
    pub unit: Option<String>,
    pub description: Option<String>,
}

impl Metric {
    /// An enabled metric with the default name, unit and description.
    pub fn enabled() -> Metric {
        Metric {
            enabled: true,
            ..Metric::default()
        }
    }
    /// A disabled metric.
    pub fn disabled() -> Metric {
        Metric::default()
    }
}

/// One entry of `metrics.extra`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExtraMetric {
    /// `metric_name`.
    pub name: String,
    pub unit: Option<String>,
    pub description: Option<String>,
    /// Each `type/unit`, e.g. `off_cpu/nanoseconds`.
    pub sample_types: Vec<String>,
    /// `stack_pattern`: `None` = every sample of the sample types; else
    /// only samples with a function name on their stack that matches it
    /// feed this metric.
    pub stack_pattern: Option<String>,
}

/// One data point attribute rule (`attributes[i]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub key: String,
    pub kind: RuleKind,
    /// `default`: the value when the rule yields nothing.
    pub default: Option<String>,
}

/// What a rule takes its value from.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleKind {
    /// `type: literal`, `value`.
    Literal(String),
    /// `type: attribute`, `from`.
    Attribute(String),
    /// `type: regex`, `value` (the pattern) and `source` (an attribute key,
    /// `function` or `string_table`; `None`: string_table).
    Regex {
        pattern: String,
        source: Option<String>,
    },
    /// `type: string_table`, `index`.
    StringTable(u32),
    /// `type: frame`, `from`: a property of the sample's stack.
    Frame(FrameProperty),
}

/// What a frame rule reads of the sample's stack (its `from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameProperty {
    /// `type`: the leaf frame's type (`profile.frame.type`).
    Type,
    /// `kind`: `kernel` or `user`.
    Kind,
    /// `library`: the file name of a native leaf frame's mapping.
    Library,
    /// `function`: the leaf function.
    Function,
    /// `syscall`: the system call of a kernel stack.
    Syscall,
}

impl FrameProperty {
    /// The name the configuration gives it (`from: type`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FrameProperty::Type => "type",
            FrameProperty::Kind => "kind",
            FrameProperty::Library => "library",
            FrameProperty::Function => "function",
            FrameProperty::Syscall => "syscall",
        }
    }
}

impl Rule {
    pub fn literal(key: &str, value: &str) -> Rule {
        Rule {
            key: key.into(),
            kind: RuleKind::Literal(value.into()),
            default: None,
        }
    }
    pub fn attribute(key: &str, from: &str) -> Rule {
        Rule {
            key: key.into(),
            kind: RuleKind::Attribute(from.into()),
            default: None,
        }
    }
    pub fn regex(key: &str, source: &str, pattern: &str) -> Rule {
        Rule {
            key: key.into(),
            kind: RuleKind::Regex {
                pattern: pattern.into(),
                source: Some(source.into()),
            },
            default: None,
        }
    }
    pub fn string_table(key: &str, index: u32) -> Rule {
        Rule {
            key: key.into(),
            kind: RuleKind::StringTable(index),
            default: None,
        }
    }
    pub fn frame(key: &str, property: FrameProperty) -> Rule {
        Rule {
            key: key.into(),
            kind: RuleKind::Frame(property),
            default: None,
        }
    }
    /// The same rule with a `default`.
    pub fn with_default(mut self, value: &str) -> Rule {
        self.default = Some(value.into());
        self
    }
}

/// `process_filter`, `thread_filter`, `pattern_filter` or `stack_filter`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub enabled: bool,
    pub pattern: Option<String>,
    pub patterns: Vec<String>,
    /// `pattern_filter` only: the attribute keys whose values are tested.
    pub keys: Vec<String>,
}

/// The metric a type rule feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    None = 0,
    Cpu = 1,
    Memory = 2,
}

/// One entry of `type_rules`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRule {
    pub sample_type: String,
    pub unit: String,
    pub metric: MetricKind,
    /// Multiplies each value (cpu: to nanoseconds; memory: to bytes).
    pub scale: f64,
}

/// `metrics.function.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FunctionMode {
    #[default]
    SelfTime = 0,
    Inclusive = 1,
}

/// `temporality` (the values are OTLP's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Temporality {
    #[default]
    Delta = 1,
    Cumulative = 2,
}

/// The OTLP profiles wire layout of the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    #[default]
    Auto = 0,
    /// In [`Stats`] only: the input was a pprof profile ([`Input::Pprof`]).
    Pprof = 1,
    V1_8 = 8,
    V1_9 = 9,
    V1_10 = 10,
}

impl Layout {
    /// The library's `p2m_layout_name`: `auto`, `v1.8`, ...
    pub fn name(self) -> &'static str {
        match self {
            Layout::Auto => "auto",
            Layout::Pprof => "pprof",
            Layout::V1_8 => "v1.8",
            Layout::V1_9 => "v1.9",
            Layout::V1_10 => "v1.10",
        }
    }
    fn from_c(v: u32) -> Layout {
        match v {
            1 => Layout::Pprof,
            8 => Layout::V1_8,
            9 => Layout::V1_9,
            10 => Layout::V1_10,
            _ => Layout::Auto,
        }
    }
}

/// The statistics of one call (the library's `p2m_stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes_in: usize,
    pub bytes_out: usize,
    /// The layout used.
    pub layout: Layout,
    pub resources: u64,
    pub profiles: u64,
    pub profiles_unclassified: u64,
    pub samples: u64,
    pub samples_kept: u64,
    pub dropped_process: u64,
    pub dropped_thread: u64,
    pub dropped_pattern: u64,
    /// Samples the stack filter dropped.
    pub dropped_stack: u64,
    pub empty_samples: u64,
    pub invalid_references: u64,
    pub series: u64,
    pub overflow_samples: u64,
    pub work_used: usize,
    pub regex_searches: u64,
    pub profiles_unfed: u64,
    pub samples_unfed: u64,
    pub layout_evidence: Layout,
    pub layout_conflict: bool,
    /// The sample types that fed no metric, in first-seen order (at most
    /// 32; `profiles_unfed` and `samples_unfed` count all of them), as
    /// p2m's note lists them.
    pub unfed: Vec<TypeCount>,
}

/// A sample type that fed no metric, and how many profiles and samples
/// had it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeCount {
    pub sample_type: String,
    pub unit: String,
    pub profiles: u64,
    pub samples: u64,
}

// ---- errors -----------------------------------------------------------------

/// Why a call failed: the library's `p2m_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// The input is not a valid request (`offset`).
    Malformed = 1,
    /// Strict mode: an index outside its table (`offset`).
    InvalidReference = 2,
    /// The configuration was rejected (`field`, `message`).
    Config = 3,
    /// Memory too small (the wrapper grows it itself; seen only when the
    /// library's answer does not converge).
    Memory = 4,
    /// Output buffer too small (as `Memory`).
    OutputTooSmall = 5,
    /// An argument the library refuses (input over 4 GiB, a string with a
    /// NUL byte in the configuration).
    Argument = 6,
    /// A feature this build of the library lacks (`field`).
    Unsupported = 7,
}

impl Status {
    fn from_c(v: u32) -> Status {
        match v {
            1 => Status::Malformed,
            2 => Status::InvalidReference,
            3 => Status::Config,
            4 => Status::Memory,
            5 => Status::OutputTooSmall,
            7 => Status::Unsupported,
            _ => Status::Argument,
        }
    }
    /// The library's `p2m_status_string`: "malformed input", ...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Malformed => "malformed input",
            Status::InvalidReference => "invalid reference",
            Status::Config => "invalid configuration",
            Status::Memory => "memory too small",
            Status::OutputTooSmall => "output buffer too small",
            Status::Argument => "invalid argument",
            Status::Unsupported => "not supported by this build",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call: the library's `p2m_error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    /// Byte offset into the input (`Malformed`, `InvalidReference`).
    pub offset: usize,
    /// Bytes needed (`Memory`, `OutputTooSmall`).
    pub needed: usize,
    /// Configuration path, e.g. `attributes[2].from` (`Config`, `Unsupported`).
    pub field: String,
    /// What was wrong, one line.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Status::Malformed | Status::InvalidReference => write!(
                f,
                "profile2metrics: {} at byte {}: {}",
                self.status, self.offset, self.message
            ),
            Status::Config | Status::Unsupported if !self.field.is_empty() => {
                write!(
                    f,
                    "profile2metrics: config: {}: {}",
                    self.field, self.message
                )
            }
            Status::Config | Status::Unsupported => {
                write!(f, "profile2metrics: config: {}", self.message)
            }
            _ => write!(f, "profile2metrics: {}: {}", self.status, self.message),
        }
    }
}

impl std::error::Error for Error {}

// ---- the converter ----------------------------------------------------------

/// A compiled configuration (the library's engine) and, for cumulative
/// temporality, its state. `Send + Sync`.
pub struct Converter {
    engine: ffi::Engine,
    format: Format,
    input: Input,
    state: Option<Mutex<ffi::State>>,
    pool: Mutex<Vec<ffi::Scratch>>,
    now: Option<u64>,
    out_hint: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panic elsewhere while holding the lock leaves nothing half-written
    // here: the library changes the state only when a call succeeds
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Converter {
    /// Validates and compiles `cfg`. A configuration the library rejects
    /// gives an [`Error`] of [`Status::Config`] naming the field.
    pub fn new(cfg: &Config) -> Result<Converter, Error> {
        let engine = ffi::Engine::compile(cfg)?;
        let state = if engine.state_size() > 0 {
            Some(Mutex::new(engine.new_state()?))
        } else {
            None
        };
        Ok(Converter {
            engine,
            format: cfg.format,
            input: cfg.input,
            state,
            pool: Mutex::new(Vec::new()),
            now: cfg.now_unix_nano,
            out_hint: AtomicUsize::new(4096),
        })
    }

    /// Whether the converter keeps running totals (cumulative temporality).
    pub fn is_cumulative(&self) -> bool {
        self.state.is_some()
    }

    /// Turns one `ExportProfilesServiceRequest` into one
    /// `ExportMetricsServiceRequest` (protobuf bytes, those of `p2m convert
    /// -f otlp`). Malformed input gives [`Status::Malformed`] with the byte
    /// offset.
    pub fn convert(&self, input: &[u8]) -> Result<Vec<u8>, Error> {
        self.convert_with_stats(input).map(|(out, _)| out)
    }

    /// [`Converter::convert`] with the output format given for this call
    /// instead of `Config::format`.
    pub fn convert_format(&self, input: &[u8], format: Format) -> Result<Vec<u8>, Error> {
        self.convert_inner(input, format).map(|(out, _)| out)
    }

    /// [`Converter::convert`] with the statistics of the call.
    pub fn convert_with_stats(&self, input: &[u8]) -> Result<(Vec<u8>, Stats), Error> {
        self.convert_inner(input, self.format)
    }

    fn convert_inner(&self, input: &[u8], format: Format) -> Result<(Vec<u8>, Stats), Error> {
        if self.input == Input::Pprof && input.starts_with(&[0x1f, 0x8b]) {
            return Err(Error {
                status: Status::Malformed,
                offset: 0,
                needed: 0,
                field: String::new(),
                message: "Input::Pprof: the input is gzip'd (starts 1f 8b) and this crate does \
                          not inflate; decompress it first (gunzip, or a gzip decoder crate \
                          such as flate2)"
                    .to_string(),
            });
        }
        let now = match self.now {
            Some(t) => t,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        };
        let mut scratch = lock(&self.pool)
            .pop()
            .unwrap_or_else(|| ffi::Scratch::new(self.out_hint.load(Ordering::Relaxed)));
        let result = match &self.state {
            Some(m) => {
                let mut st = lock(m);
                self.engine.convert(
                    input,
                    self.input as i32,
                    now,
                    format as i32,
                    Some(&mut st),
                    &mut scratch,
                )
            }
            None => self.engine.convert(
                input,
                self.input as i32,
                now,
                format as i32,
                None,
                &mut scratch,
            ),
        };
        let out = result.map(|(n, stats)| {
            self.out_hint.fetch_max(n, Ordering::Relaxed);
            (scratch.output(n).to_vec(), stats)
        });
        lock(&self.pool).push(scratch);
        out
    }

    /// Empties a cumulative converter's state (the running totals start
    /// over). Does nothing for delta temporality.
    pub fn reset(&self) -> Result<(), Error> {
        match &self.state {
            Some(m) => self.engine.reset_state(&mut lock(m)),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Converter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Converter")
            .field("cumulative", &self.is_cumulative())
            .finish()
    }
}
