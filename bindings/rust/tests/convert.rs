// SPDX-License-Identifier: MIT
//! The crate against the command-line tool: every output must be the bytes
//! build/p2m writes for the same input and the YAML configuration that
//! config_full() spells out (bindings/testdata/config.yaml), every error the
//! offset and message p2m prints. p2m's own output is checked by the
//! repository's other suites against Google protobuf; here it is the
//! reference.
use profile2metrics::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

const NOW: u64 = 1_700_000_000_000_000_000; // --now of every p2m run here

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}
fn testdata(name: &str) -> PathBuf {
    root().join("bindings").join("testdata").join(name)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// bindings/testdata/config.yaml, field by field.
fn config_full() -> Config {
    Config {
        cpu: Some(Metric {
            enabled: true,
            name: s("cpu_busy"),
            unit: s("ms"),
            description: s("CPU time, in ms"),
        }),
        memory: Some(Metric {
            enabled: true,
            name: s("alloc"),
            unit: s("KiBy"),
            description: None,
        }),
        function: Some(Metric {
            enabled: true,
            name: s("fn_cpu"),
            unit: s("us"),
            description: None,
        }),
        function_mode: FunctionMode::Inclusive,
        function_attribute_key: s("fn"),
        extra: vec![
            ExtraMetric {
                name: "off_cpu_time".into(),
                unit: s("ms"),
                description: None,
                sample_types: vec!["off_cpu/nanoseconds".into()],
                stack_pattern: None,
            },
            ExtraMetric {
                name: "heap_in_use".into(),
                unit: None,
                description: s("bytes in use"),
                sample_types: vec!["inuse_space/bytes".into()],
                stack_pattern: None,
            },
        ],
        attributes: Some(vec![
            Rule::literal("deployment.environment.name", "prod"),
            Rule::attribute("exe", "process.executable.name"),
            Rule::regex("worker", "thread.name", "^([a-zA-Z]+)[-_]").with_default("other"),
            Rule::string_table("first_string", 1),
        ]),
        process_filter: Filter {
            enabled: true,
            patterns: vec!["^[a-m]".into(), "kube".into(), "etcd".into()],
            ..Filter::default()
        },
        thread_filter: Filter {
            enabled: true,
            pattern: s("^[^G]"),
            ..Filter::default()
        },
        pattern_filter: Filter {
            enabled: true,
            pattern: s("svc-[0-4]|checkout|^[0-9a-f]+$|kube|etcd"),
            keys: vec!["service.name".into(), "process.executable.name".into()],
            ..Filter::default()
        },
        process_key: s("process.executable.name"),
        thread_key: s("thread.name"),
        type_rules: vec![TypeRule {
            sample_type: "wall".into(),
            unit: "nanoseconds".into(),
            metric: MetricKind::Cpu,
            scale: 0.5,
        }],
        temporality: Temporality::Delta,
        max_series: Some(40),
        layout: Layout::Auto,
        strict: false,
        now_unix_nano: Some(NOW),
        ..Config::default()
    }
}

/// bindings/testdata/frames.yaml: a frame rule of each kind, the stack
/// filter and a declared metric's stack pattern.
fn config_frames() -> Config {
    Config {
        extra: vec![ExtraMetric {
            name: "runtime_cpu_time".into(),
            unit: s("ms"),
            description: None,
            sample_types: vec!["samples/count".into(), "cpu/nanoseconds".into()],
            stack_pattern: s("^runtime\\."),
        }],
        attributes: Some(vec![
            Rule::frame("frame.type", FrameProperty::Type),
            Rule::frame("frame.kind", FrameProperty::Kind).with_default("unknown"),
            Rule::frame("frame.library", FrameProperty::Library),
            Rule::frame("frame.function", FrameProperty::Function),
            Rule::frame("frame.syscall", FrameProperty::Syscall).with_default("none"),
            Rule::attribute("thread", "thread.name"),
        ]),
        stack_filter: Filter {
            enabled: true,
            pattern: s("^main$"),
            patterns: vec!["^runtime\\.".into(), "^__x64_sys_".into(), "^leaf$".into()],
            ..Filter::default()
        },
        now_unix_nano: Some(NOW),
        ..Config::default()
    }
}

/// bindings/testdata/cumulative.yaml.
fn config_cumulative() -> Config {
    Config {
        temporality: Temporality::Cumulative,
        state_max_series: Some(4096),
        state_bytes: Some(262144),
        now_unix_nano: Some(NOW),
        ..Config::default()
    }
}

/// p2m convert --resource-attr (RESOURCE_ATTR_ARGS): a new key, one that
/// replaces an input attribute, an empty value, and a key given twice (the
/// last wins).
fn resource_attrs() -> Vec<(String, String)> {
    [
        ("deployment.environment.name", "prod"),
        ("service.name", "first"),
        ("empty", ""),
        ("service.name", "checkout"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
const RESOURCE_ATTR_ARGS: [&str; 8] = [
    "--resource-attr",
    "deployment.environment.name=prod",
    "--resource-attr",
    "service.name=first",
    "--resource-attr",
    "empty=",
    "--resource-attr",
    "service.name=checkout",
];

fn config_default() -> Config {
    Config {
        now_unix_nano: Some(NOW),
        ..Config::default()
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {} (required)", path.display(), e))
}

fn frames(mut d: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !d.is_empty() {
        assert!(d.len() >= 4, "stream framing broken");
        let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
        assert!(d.len() >= 4 + n, "stream framing broken");
        out.push(d[4..4 + n].to_vec());
        d = &d[4 + n..];
    }
    out
}

fn k8s_stream() -> Vec<u8> {
    read(&root().join("tests/data/real/sig-profiling-k8s.otlp"))
}

/// The demo, the real captures (the k8s stream's requests one by one) and
/// the generated request (bindings/testdata/gen_request.py, Google protobuf).
type Inputs = Arc<Vec<(String, Vec<u8>)>>;

fn inputs() -> Inputs {
    // made once for all tests (a Mutex, not OnceLock: Rust 1.63 has no OnceLock)
    static INPUTS: Mutex<Option<Inputs>> = Mutex::new(None);
    let mut cached = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = &*cached {
        return Arc::clone(v);
    }
    let made = Arc::new({
        let gen = std::env::temp_dir().join(format!("p2m-rust-test-{}.otlp", std::process::id()));
        let st = Command::new("/usr/bin/python3")
            .arg(testdata("gen_request.py"))
            .arg(&gen)
            .status()
            .expect("cannot run /usr/bin/python3");
        assert!(st.success(), "gen_request.py failed");
        let generated = read(&gen);
        let _ = std::fs::remove_file(&gen);
        let mut v = vec![
            ("demo".to_string(), read(&root().join("examples/demo.otlp"))),
            (
                "real-profile".to_string(),
                read(&root().join("tests/data/real/sig-profiling-profile.otlp")),
            ),
            ("generated".to_string(), generated),
        ];
        for (i, f) in frames(&k8s_stream()).into_iter().enumerate() {
            v.push((format!("real-k8s-{}", i + 1), f));
        }
        v
    });
    *cached = Some(Arc::clone(&made));
    made
}

/// Runs build/p2m with `input` on stdin: (stdout, stderr, exit code).
/// `p2m validate` of a configuration given as YAML text: stderr, exit code.
fn p2m_validate(yaml: &str) -> (String, i32) {
    let path = std::env::temp_dir().join(format!("p2m-rust-bad-{}.yaml", std::process::id()));
    std::fs::write(&path, yaml).unwrap();
    let (_, stderr, code) = p2m(b"", &["validate", "-c", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    (stderr, code)
}

fn p2m(input: &[u8], args: &[&str]) -> (Vec<u8>, String, i32) {
    let bin = root().join("build").join("p2m");
    assert!(bin.exists(), "{} missing: run make first", bin.display());
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run build/p2m");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn cli_convert(input: &[u8], extra: &[&str]) -> Vec<u8> {
    let now = NOW.to_string();
    let mut args = vec!["convert", "--now", now.as_str(), "-q", "-o", "-"];
    args.extend_from_slice(extra);
    args.push("-");
    let (out, err, code) = p2m(input, &args);
    assert_eq!(code, 0, "p2m {:?}: {}", args, err);
    out
}

fn yaml(name: &str) -> String {
    testdata(name).to_str().unwrap().to_string()
}

#[test]
fn version_is_p2m_s() {
    let (out, _, code) = p2m(b"", &["--version"]);
    assert_eq!(code, 0);
    assert!(
        String::from_utf8_lossy(&out).contains(version()),
        "p2m --version: {:?}",
        out
    );
}

#[test]
fn converter_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Converter>();
    check::<Error>();
}

#[test]
fn convert_matches_cli() {
    let full = yaml("config.yaml");
    let stack = yaml("frames.yaml");
    for (name, cfg, args) in [
        ("default", config_default(), vec![]),
        ("full", config_full(), vec!["-c", full.as_str()]),
        ("frames", config_frames(), vec!["-c", stack.as_str()]),
        (
            "resource-attrs",
            Config {
                resource_attributes: resource_attrs(),
                ..config_default()
            },
            RESOURCE_ATTR_ARGS.to_vec(),
        ),
    ] {
        let conv = Converter::new(&cfg).unwrap();
        for (input, data) in inputs().iter() {
            let mut a = vec!["-f", "otlp"];
            a.extend_from_slice(&args);
            let want = cli_convert(data, &a);
            let got = conv
                .convert(data)
                .unwrap_or_else(|e| panic!("{}/{}: {}", name, input, e));
            assert!(
                !want.is_empty() || input == "real-k8s-1",
                "{}/{}: p2m wrote nothing",
                name,
                input
            );
            assert!(
                got == want,
                "{}/{}: {} bytes, p2m wrote {} different ones",
                name,
                input,
                got.len(),
                want.len()
            );
        }
    }
}

/// OTLP/JSON and Prometheus text: p2m convert -f json (whose line ends with
/// a newline the library does not write) and -f prom, for one request.
#[test]
fn formats_match_cli() {
    let full = yaml("config.yaml");
    let keys = "container.id,process.pid,service.name";
    let cases: Vec<(&str, Config, Vec<&str>, Format)> = vec![
        ("default", config_default(), vec![], Format::Json),
        ("default", config_default(), vec![], Format::Prom),
        (
            "full",
            config_full(),
            vec!["-c", full.as_str()],
            Format::Json,
        ),
        (
            "full",
            config_full(),
            vec!["-c", full.as_str()],
            Format::Prom,
        ),
        (
            "resource-attrs",
            Config {
                resource_attributes: resource_attrs(),
                ..config_default()
            },
            RESOURCE_ATTR_ARGS.to_vec(),
            Format::Json,
        ),
        (
            "resource-attrs",
            Config {
                resource_attributes: resource_attrs(),
                ..config_default()
            },
            RESOURCE_ATTR_ARGS.to_vec(),
            Format::Prom,
        ),
        (
            "promote-all",
            Config {
                prom_promote: PromPromote::All,
                ..config_default()
            },
            vec!["--promote-resource-attrs", "all"],
            Format::Prom,
        ),
        (
            "promote-keys",
            Config {
                prom_promote: PromPromote::Keys(keys.split(',').map(String::from).collect()),
                ..config_default()
            },
            vec!["--promote-resource-attrs", keys],
            Format::Prom,
        ),
    ];
    for (name, cfg, args, format) in cases {
        let flag = if format == Format::Json {
            "json"
        } else {
            "prom"
        };
        let conv = Converter::new(&Config {
            format,
            ..cfg.clone()
        })
        .unwrap();
        let other = Converter::new(&cfg).unwrap();
        for (input, data) in inputs().iter() {
            let mut a = vec!["-f", flag];
            a.extend_from_slice(&args);
            let mut want = cli_convert(data, &a);
            if format == Format::Json {
                assert_eq!(
                    want.pop(),
                    Some(b'\n'),
                    "{}/{}: p2m -f json does not end its line",
                    name,
                    input
                );
            }
            let got = conv
                .convert(data)
                .unwrap_or_else(|e| panic!("{}/{}/{}: {}", name, flag, input, e));
            assert!(
                got == want,
                "{}/{}/{}: {} bytes, p2m wrote {} different ones",
                name,
                flag,
                input,
                got.len(),
                want.len()
            );
            assert!(
                other.convert_format(data, format).unwrap() == want,
                "{}/{}/{}: convert_format differs",
                name,
                flag,
                input
            );
        }
    }
}

/// JSON of a cumulative stream: one line per request, the state carried.
#[test]
fn json_stream_matches_cli() {
    let conv = Converter::new(&Config {
        format: Format::Json,
        ..config_cumulative()
    })
    .unwrap();
    let stream = k8s_stream();
    let want = cli_convert(
        &stream,
        &[
            "--input-format",
            "otlp-stream",
            "-c",
            &yaml("cumulative.yaml"),
            "-f",
            "json",
        ],
    );
    let mut got = Vec::new();
    for f in frames(&stream) {
        got.extend_from_slice(&conv.convert(&f).unwrap());
        got.push(b'\n');
    }
    assert!(
        got == want,
        "{} bytes, p2m wrote {} different ones",
        got.len(),
        want.len()
    );
}

#[test]
fn stream_matches_cli() {
    for (name, cfg, y) in [
        ("full", config_full(), "config.yaml"),
        ("cumulative", config_cumulative(), "cumulative.yaml"),
    ] {
        let conv = Converter::new(&cfg).unwrap();
        let stream = k8s_stream();
        let want = cli_convert(&stream, &["--input-format", "otlp-stream", "-c", &yaml(y)]);
        let mut got = Vec::new();
        for (i, f) in frames(&stream).iter().enumerate() {
            let out = conv
                .convert(f)
                .unwrap_or_else(|e| panic!("{}: message {}: {}", name, i + 1, e));
            got.extend_from_slice(&(out.len() as u32).to_be_bytes());
            got.extend_from_slice(&out);
        }
        assert!(
            got == want,
            "{}: {} bytes, p2m wrote {} different ones",
            name,
            got.len(),
            want.len()
        );
    }
}

/// The number after `"key":` in p2m's --stats line.
fn stat(line: &str, key: &str) -> String {
    let pat = format!("\"{}\":", key);
    let at = line
        .find(&pat)
        .unwrap_or_else(|| panic!("p2m --stats has no {}: {}", key, line))
        + pat.len();
    line[at..]
        .chars()
        .take_while(|c| *c != ',' && *c != '}')
        .collect::<String>()
        .trim_matches('"')
        .to_string()
}

#[test]
fn stats_match_cli() {
    let now = NOW.to_string();
    let mut dropped_stack = 0;
    for (cfg, y) in [
        (config_full(), "config.yaml"),
        (config_frames(), "frames.yaml"),
    ] {
        let conv = Converter::new(&cfg).unwrap();
        let full = yaml(y);
        for (name, data) in inputs().iter() {
            let (_, line, code) = p2m(
                data,
                &[
                    "convert",
                    "-q",
                    "--now",
                    &now,
                    "-c",
                    &full,
                    "--stats",
                    "-o",
                    "/dev/null",
                    "-",
                ],
            );
            assert_eq!(code, 0, "{}: {}", name, line);
            let (_, st) = conv.convert_with_stats(data).unwrap();
            let ours: Vec<(&str, String)> = vec![
                ("bytes_in", st.bytes_in.to_string()),
                ("bytes_out", st.bytes_out.to_string()),
                ("layout", st.layout.name().to_string()),
                ("resources", st.resources.to_string()),
                ("profiles", st.profiles.to_string()),
                (
                    "profiles_unclassified",
                    st.profiles_unclassified.to_string(),
                ),
                ("samples", st.samples.to_string()),
                ("samples_kept", st.samples_kept.to_string()),
                ("dropped_process", st.dropped_process.to_string()),
                ("dropped_thread", st.dropped_thread.to_string()),
                ("dropped_pattern", st.dropped_pattern.to_string()),
                ("dropped_stack", st.dropped_stack.to_string()),
                ("empty_samples", st.empty_samples.to_string()),
                ("invalid_references", st.invalid_references.to_string()),
                ("series", st.series.to_string()),
                ("overflow_samples", st.overflow_samples.to_string()),
                ("work_used", st.work_used.to_string()),
                ("regex_searches", st.regex_searches.to_string()),
                ("profiles_unfed", st.profiles_unfed.to_string()),
                ("samples_unfed", st.samples_unfed.to_string()),
            ];
            for (k, v) in ours {
                assert_eq!(v, stat(&line, k), "{}/{}: {}", y, name, k);
            }
            dropped_stack += st.dropped_stack;
        }
    }
    assert!(
        dropped_stack > 0,
        "the stack filter dropped no sample of any input: dropped_stack is not checked"
    );
}

/// `err` must be the error whose status, offset and message p2m prints for
/// the same input (p2m may add "; truncated: ..." and "; in FIELD").
fn check_like_cli(what: &str, input: &[u8], res: &Result<Vec<u8>, Error>, extra: &[&str]) {
    let now = NOW.to_string();
    let mut args = vec!["convert", "-q", "--now", now.as_str(), "-o", "/dev/null"];
    args.extend_from_slice(extra);
    args.push("-");
    let (_, stderr, code) = p2m(input, &args);
    match res {
        Ok(_) => assert_eq!(code, 0, "{}: converted, p2m: {}", what, stderr),
        Err(e) => {
            assert_eq!(code, 1, "{}: {}; p2m: {}", what, e, stderr);
            let want = format!("p2m: {} at byte {}: {}", e.status, e.offset, e.message);
            assert!(
                !e.message.is_empty() && stderr.starts_with(&want),
                "{}: ours {:?}; p2m {}",
                what,
                want,
                stderr
            );
            assert!(
                e.to_string()
                    .ends_with(&format!("at byte {}: {}", e.offset, e.message)),
                "Display: {}",
                e
            );
        }
    }
}

#[test]
fn truncated_matches_cli() {
    let conv = Converter::new(&config_default()).unwrap();
    let mut failed = 0;
    for (name, data) in inputs().iter() {
        for cut in [1, 10, 1000, data.len() / 2, data.len() - 1] {
            if cut == 0 || cut >= data.len() {
                continue;
            }
            let part = &data[..cut];
            let res = conv.convert(part);
            if let Err(e) = &res {
                assert_eq!(e.status, Status::Malformed, "{}[..{}]: {}", name, cut, e);
                failed += 1;
                check_like_cli(&format!("{}[..{}]", name, cut), part, &res, &[]);
            }
        }
    }
    assert!(failed >= 10, "only {} truncated inputs failed", failed);
}

#[test]
fn config_error_matches_cli() {
    let cfg = Config {
        process_filter: Filter {
            enabled: true,
            pattern: s("ab(c"),
            ..Filter::default()
        },
        ..Config::default()
    };
    let e = Converter::new(&cfg).unwrap_err();
    assert_eq!(e.status, Status::Config);
    assert_eq!(e.field, "process_filter.pattern");
    let (stderr, code) = p2m_validate("process_filter: {enabled: true, pattern: \"ab(c\"}\n");
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!("p2m: config: {}: {}", e.field, e.message)),
        "ours {}; p2m {}",
        e,
        stderr
    );
    assert!(e.to_string().contains("process_filter.pattern"));
    let nul = Config {
        thread_key: s("a\0b"),
        ..Config::default()
    };
    let e = Converter::new(&nul).unwrap_err();
    assert_eq!(
        (e.status, e.field.as_str()),
        (Status::Argument, "thread_key")
    );
    // the stack settings: a frame rule's property is typed here; the stack
    // filter's keys (none), a filter without pattern and a bad stack
    // pattern are the library's errors
    for (cfg, field) in [
        (
            Config {
                stack_filter: Filter {
                    enabled: true,
                    pattern: s("x"),
                    keys: vec!["thread.name".into()],
                    ..Filter::default()
                },
                ..Config::default()
            },
            "stack_filter.keys",
        ),
        (
            Config {
                stack_filter: Filter {
                    enabled: true,
                    ..Filter::default()
                },
                ..Config::default()
            },
            "stack_filter.pattern",
        ),
    ] {
        let e = Converter::new(&cfg).unwrap_err();
        assert_eq!((e.status, e.field.as_str()), (Status::Config, field));
    }
    let bad_stack = Config {
        extra: vec![ExtraMetric {
            name: "gc".into(),
            sample_types: vec!["cpu/nanoseconds".into()],
            stack_pattern: s("ab(c"),
            ..ExtraMetric::default()
        }],
        ..Config::default()
    };
    let e = Converter::new(&bad_stack).unwrap_err();
    let (stderr, code) = p2m_validate(
        "metrics:\n  extra:\n    - {metric_name: gc, sample_types: [cpu/nanoseconds], stack_pattern: \"ab(c\"}\n",
    );
    assert_eq!(
        (code, e.field.as_str()),
        (2, "metrics.extra[0].stack_pattern")
    );
    assert!(
        stderr.starts_with(&format!("p2m: config: {}: {}", e.field, e.message)),
        "ours {}; p2m {}",
        e,
        stderr
    );
    let no_types = Config {
        extra: vec![ExtraMetric {
            name: "x".into(),
            ..ExtraMetric::default()
        }],
        ..Config::default()
    };
    assert_eq!(
        Converter::new(&no_types).unwrap_err().status,
        Status::Config
    );
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{} {}", n, word)
    } else {
        format!("{} {}s", n, word)
    }
}

/// Stats::unfed lists what p2m's note lists (the generated request's
/// off_cpu and inuse_space profiles feed nothing by default).
#[test]
fn unfed_matches_cli() {
    let conv = Converter::new(&config_default()).unwrap();
    let now = NOW.to_string();
    for (name, data) in inputs().iter() {
        let (_, stderr, code) = p2m(data, &["convert", "--now", &now, "-o", "/dev/null", "-"]);
        assert_eq!(code, 0, "{}: {}", name, stderr);
        let (_, st) = conv.convert_with_stats(data).unwrap();
        let parts: Vec<String> = st
            .unfed
            .iter()
            .map(|u| {
                format!(
                    "{}/{} ({}, {})",
                    u.sample_type,
                    u.unit,
                    plural(u.profiles, "profile"),
                    plural(u.samples, "sample")
                )
            })
            .collect();
        if parts.is_empty() {
            assert!(
                !stderr.contains("fed no metric"),
                "{}: none listed, p2m: {}",
                name,
                stderr
            );
            continue;
        }
        let want = format!(
            "p2m: note: {} fed no metric: {};",
            plural(parts.len() as u64, "sample type"),
            parts.join(", ")
        );
        assert!(
            stderr.contains(&want),
            "{}: ours {:?}; p2m: {}",
            name,
            want,
            stderr
        );
        if name == "generated" {
            assert_eq!(
                st.unfed.len(),
                2,
                "generated: off_cpu and inuse_space expected"
            );
        }
    }
}

/// Strict mode: an index outside its table is an error of status
/// InvalidReference at p2m's offset; without strict the sample's stack is
/// skipped and the output is p2m's.
#[test]
fn invalid_reference_matches_cli() {
    let path = std::env::temp_dir().join(format!("p2m-rust-badref-{}.otlp", std::process::id()));
    let st = Command::new("/usr/bin/python3")
        .arg(testdata("gen_request.py"))
        .arg("--invalid-reference")
        .arg(&path)
        .status()
        .expect("cannot run /usr/bin/python3");
    assert!(st.success());
    let bad = read(&path);
    let _ = std::fs::remove_file(&path);
    let strict = Config {
        function: Some(Metric::enabled()),
        strict: true,
        ..config_default()
    };
    let res = Converter::new(&strict).unwrap().convert(&bad);
    assert_eq!(
        res.as_ref().map_err(|e| e.status).err(),
        Some(Status::InvalidReference),
        "{:?}",
        res.err()
    );
    check_like_cli("strict", &bad, &res, &["-c", &yaml("strict.yaml")]);
    let lax = Config {
        function: Some(Metric::enabled()),
        ..config_default()
    };
    let (got, stats) = Converter::new(&lax)
        .unwrap()
        .convert_with_stats(&bad)
        .unwrap();
    let yml = std::env::temp_dir().join(format!("p2m-rust-lax-{}.yaml", std::process::id()));
    std::fs::write(&yml, "metrics: {function: {enabled: true}}\n").unwrap();
    let want = cli_convert(&bad, &["-c", yml.to_str().unwrap()]);
    let _ = std::fs::remove_file(&yml);
    assert!(
        got == want && stats.invalid_references == 1,
        "not strict: differs from p2m"
    );
}

/// xorshift64*: deterministic mutations without a crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn malformed_never_crashes() {
    let conv = Converter::new(&config_full()).unwrap();
    let full = yaml("config.yaml");
    let ins = inputs();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut failed = 0;
    for i in 0..3000usize {
        let src = &ins[i % ins.len()].1;
        let mut d = src[..src.len().min(200_000)].to_vec();
        match i % 4 {
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let p = rng.below(d.len());
                    d[p] ^= 1 << rng.below(8);
                }
            }
            1 => d.truncate(rng.below(d.len())),
            2 => {
                let p = rng.below(d.len());
                let end = d.len().min(p + 1 + rng.below(64));
                for b in &mut d[p..end] {
                    *b = rng.next() as u8;
                }
            }
            _ => d = (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
        }
        let res = conv.convert(&d);
        if let Err(e) = &res {
            failed += 1;
            assert!(
                matches!(e.status, Status::Malformed | Status::InvalidReference),
                "input {}: {}",
                i,
                e
            );
        }
        if i % 100 == 0 && !d.is_empty() {
            check_like_cli(&format!("mutation {}", i), &d, &res, &["-c", &full]);
        }
    }
    assert!(
        failed >= 1000,
        "only {} of 3000 mutated inputs failed",
        failed
    );
}

#[test]
fn threads_same_as_sequential() {
    let conv = Arc::new(Converter::new(&config_full()).unwrap());
    let ins = inputs();
    let ins = &*ins;
    let want: Vec<Vec<u8>> = ins.iter().map(|(_, d)| conv.convert(d).unwrap()).collect();
    std::thread::scope(|sc| {
        for t in 0..8 {
            let conv = Arc::clone(&conv);
            let want = &want;
            sc.spawn(move || {
                for r in 0..3 {
                    for k in 0..ins.len() {
                        let i = (k + t + r) % ins.len();
                        let got = conv.convert(&ins[i].1).unwrap();
                        assert!(got == want[i], "thread {}: {} differs", t, ins[i].0);
                    }
                }
            });
        }
    });
}

#[test]
fn cumulative_shared_by_threads() {
    let all = inputs();
    let input = &all[1].1;
    let seq = Converter::new(&config_cumulative()).unwrap();
    let par = Converter::new(&config_cumulative()).unwrap();
    assert!(par.is_cumulative());
    let (threads, per) = (6, 5);
    for _ in 0..threads * per {
        seq.convert(input).unwrap();
    }
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| {
                for _ in 0..per {
                    par.convert(input).unwrap();
                }
            });
        }
    });
    let a = seq.convert(input).unwrap();
    let b = par.convert(input).unwrap();
    assert!(
        !a.is_empty() && a == b,
        "after the same number of calls the totals differ"
    );
    let first = Converter::new(&config_cumulative())
        .unwrap()
        .convert(input)
        .unwrap();
    assert!(first != a, "the cumulative totals did not grow");
    par.reset().unwrap();
    assert!(
        par.convert(input).unwrap() == first,
        "after reset the output is not that of a new converter"
    );
}

#[test]
fn empty_input_is_an_empty_request() {
    let conv = Converter::new(&Config::default()).unwrap();
    assert_eq!(conv.convert(&[]).unwrap(), Vec::<u8>::new());
}

// ---- pprof input ---------------------------------------------------------------

/// tests/bindings/pprof_ref.py's directory: Go's CPU and heap profiles
/// (plain, gzip'd, one damaged) and pprof.json, the totals Google protobuf
/// reads from them.
fn pprof_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("p2m-rust-pprof-{}", std::process::id()));
    if !dir.join("pprof.json").exists() {
        let st = Command::new("/usr/bin/python3")
            .arg(root().join("tests/bindings/pprof_ref.py"))
            .arg(&dir)
            .status()
            .expect("cannot run /usr/bin/python3");
        assert!(st.success(), "pprof_ref.py failed");
    }
    dir
}

/// The number after `"key": ` in pprof.json's object `section` (the file is
/// Python's json.dump with indent=1, one key per line).
fn pprof_ref(section: &str, key: &str) -> u64 {
    let text = String::from_utf8(read(&pprof_dir().join("pprof.json"))).unwrap();
    let from = if section.is_empty() {
        0
    } else {
        text.find(&format!("\"{}\": {{", section))
            .unwrap_or_else(|| panic!("pprof.json: no {}", section))
    };
    let at = from
        + text[from..]
            .find(&format!("\"{}\": ", key))
            .unwrap_or_else(|| panic!("pprof.json: no {}.{}", section, key));
    let digits: String = text[at + key.len() + 4..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().unwrap()
}

/// The sum of the "asInt" values of metric `name` in an OTLP/JSON text, and
/// their count.
fn metric_total(json: &str, name: &str) -> (u64, usize) {
    let (mut total, mut n) = (0u64, 0usize);
    for chunk in json.split("{\"name\":\"").skip(1) {
        if !chunk.starts_with(&format!("{}\"", name)) {
            continue;
        }
        for p in chunk.split("\"asInt\":\"").skip(1) {
            let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
            total += digits.parse::<u64>().unwrap();
            n += 1;
        }
    }
    (total, n)
}

#[test]
fn pprof_input_totals() {
    let dir = pprof_dir();
    let conv = Converter::new(&Config {
        input: Input::Pprof,
        format: Format::Json,
        ..config_default()
    })
    .unwrap();
    for (file, section, metric) in [
        ("cpu.pprof", "cpu", "cpu_time"),
        ("heap.pprof", "heap", "memory_allocation"),
    ] {
        let (out, stats) = conv.convert_with_stats(&read(&dir.join(file))).unwrap();
        let (total, n) = metric_total(std::str::from_utf8(&out).unwrap(), metric);
        let want = pprof_ref(section, "total");
        assert!(
            n > 0 && total == want,
            "{}: {} total {} in {} points, protobuf says {}",
            file,
            metric,
            total,
            n,
            want
        );
        assert_eq!(stats.layout, Layout::Pprof, "{}", file);
        assert_eq!(stats.layout.name(), "pprof");
        assert_eq!(
            stats.samples_kept,
            pprof_ref(section, "samples"),
            "{}",
            file
        );
        if section == "heap" {
            // the profile's other sample types, by name (strings the library
            // keeps in the working memory for pprof)
            let got: Vec<String> = stats
                .unfed
                .iter()
                .map(|u| format!("{}/{}", u.sample_type, u.unit))
                .collect();
            assert_eq!(
                got,
                [
                    "alloc_objects/count",
                    "inuse_objects/count",
                    "inuse_space/bytes"
                ]
            );
            let json = String::from_utf8(read(&dir.join("pprof.json"))).unwrap();
            for t in &stats.unfed {
                assert!(
                    json.contains(&format!("\"{}\",\n    \"{}\"", t.sample_type, t.unit)),
                    "{}/{} is not among pprof.json's unfed types",
                    t.sample_type,
                    t.unit
                );
            }
        }
    }
    // protobuf output: stats.bytes_out is its size
    let otlp = Converter::new(&Config {
        input: Input::Pprof,
        ..config_default()
    })
    .unwrap();
    let (pb, stats) = otlp
        .convert_with_stats(&read(&dir.join("cpu.pprof")))
        .unwrap();
    assert!(!pb.is_empty() && stats.bytes_out == pb.len());
}

#[test]
fn pprof_input_errors() {
    let dir = pprof_dir();
    let conv = Converter::new(&Config {
        input: Input::Pprof,
        ..config_default()
    })
    .unwrap();
    let e = conv.convert(&read(&dir.join("bad.pprof"))).unwrap_err();
    assert_eq!(e.status, Status::Malformed);
    assert_eq!(e.offset as u64, pprof_ref("", "bad_offset"), "{}", e);
    // gzip'd input: refused, saying to decompress it
    let e = conv.convert(&read(&dir.join("cpu.pprof.gz"))).unwrap_err();
    assert_eq!((e.status, e.offset), (Status::Malformed, 0));
    assert!(e.message.contains("decompress it first"), "{}", e);
    // an OTLP request read as pprof
    let e = conv.convert(&inputs()[1].1).unwrap_err();
    assert_eq!(e.status, Status::Malformed);
    assert!(e.message.contains("pprof"), "{}", e);
    // the default reads OTLP: a pprof profile given to it is refused, naming
    // the pprof calls (not converted to nothing)
    let plain = Converter::new(&config_default()).unwrap();
    let e = plain.convert(&read(&dir.join("cpu.pprof"))).unwrap_err();
    assert_eq!(e.status, Status::Malformed);
    assert!(e.message.contains("pprof Profile"), "{}", e);
}
