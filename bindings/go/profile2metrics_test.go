// SPDX-License-Identifier: MIT

// The binding against the command-line tool: every output must be the bytes
// build/p2m writes for the same input and the YAML configuration the Config
// spells out (bindings/testdata/config.yaml), every error the offset and
// message p2m prints. p2m's own output is checked by the repository's other
// suites against Google protobuf; here it is the reference.
package profile2metrics

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const now = 1700000000000000000 // --now of every p2m run here

var (
	root       = filepath.Join("..", "..")
	p2mBin     = filepath.Join(root, "build", "p2m")
	testdata   = filepath.Join(root, "bindings", "testdata")
	fullYAML   = filepath.Join(testdata, "config.yaml")
	cumulYAML  = filepath.Join(testdata, "cumulative.yaml")
	framesYAML = filepath.Join(testdata, "frames.yaml")
)

// configFull is bindings/testdata/config.yaml, field by field.
func configFull() Config {
	return Config{
		CPU:                  &Metric{Enabled: true, Name: "cpu_busy", Unit: "ms", Description: "CPU time, in ms"},
		Memory:               &Metric{Enabled: true, Name: "alloc", Unit: "KiBy"},
		Function:             &Metric{Enabled: true, Name: "fn_cpu", Unit: "us"},
		FunctionMode:         FunctionInclusive,
		FunctionAttributeKey: "fn",
		Extra: []ExtraMetric{
			{Name: "off_cpu_time", Unit: "ms", SampleTypes: []string{"off_cpu/nanoseconds"}},
			{Name: "heap_in_use", Description: "bytes in use", SampleTypes: []string{"inuse_space/bytes"}},
		},
		Attributes: []Rule{
			{Key: "deployment.environment.name", Type: RuleLiteral, Value: "prod"},
			{Key: "exe", Type: RuleAttribute, From: "process.executable.name"},
			{Key: "worker", Type: RuleRegex, Source: "thread.name", Value: "^([a-zA-Z]+)[-_]", Default: "other"},
			{Key: "first_string", Type: RuleStringTable, Index: 1},
		},
		ProcessFilter: Filter{Enabled: true, Patterns: []string{"^[a-m]", "kube", "etcd"}},
		ThreadFilter:  Filter{Enabled: true, Pattern: "^[^G]"},
		PatternFilter: Filter{Enabled: true, Pattern: "svc-[0-4]|checkout|^[0-9a-f]+$|kube|etcd",
			Keys: []string{"service.name", "process.executable.name"}},
		Temporality: Delta,
		MaxSeries:   40,
		Layout:      LayoutAuto,
		ProcessKey:  "process.executable.name",
		ThreadKey:   "thread.name",
		TypeRules:   []TypeRule{{Type: "wall", Unit: "nanoseconds", Metric: MetricCPU, Scale: 0.5}},
		NowUnixNano: now,
	}
}

// configFrames is bindings/testdata/frames.yaml: a frame rule of each
// kind, the stack filter and a declared metric's stack pattern.
func configFrames() Config {
	return Config{
		Extra: []ExtraMetric{{Name: "runtime_cpu_time", Unit: "ms",
			SampleTypes: []string{"samples/count", "cpu/nanoseconds"}, StackPattern: `^runtime\.`}},
		Attributes: []Rule{
			{Key: "frame.type", Type: RuleFrame, From: FrameType},
			{Key: "frame.kind", Type: RuleFrame, From: FrameKind, Default: "unknown"},
			{Key: "frame.library", Type: RuleFrame, From: FrameLibrary},
			{Key: "frame.function", Type: RuleFrame, From: FrameFunction},
			{Key: "frame.syscall", Type: RuleFrame, From: FrameSyscall, Default: "none"},
			{Key: "thread", Type: RuleAttribute, From: "thread.name"},
		},
		StackFilter: Filter{Enabled: true, Pattern: "^main$",
			Patterns: []string{`^runtime\.`, "^__x64_sys_", "^leaf$"}},
		NowUnixNano: now,
	}
}

// configCumulative is bindings/testdata/cumulative.yaml.
func configCumulative() Config {
	return Config{Temporality: Cumulative, StateMaxSeries: 4096, StateBytes: 262144, NowUnixNano: now}
}

// configResourceAttrs is p2m convert --resource-attr (resourceAttrArgs):
// a new key, one that replaces an input attribute, an empty value, and a
// key given twice (the last wins).
func configResourceAttrs() Config {
	return Config{NowUnixNano: now, ResourceAttributes: []Attribute{
		{"deployment.environment.name", "prod"}, {"service.name", "first"},
		{"empty", ""}, {"service.name", "checkout"},
	}}
}

var resourceAttrArgs = []string{"--resource-attr", "deployment.environment.name=prod",
	"--resource-attr", "service.name=first", "--resource-attr", "empty=",
	"--resource-attr", "service.name=checkout"}

type input struct {
	name string
	data []byte
}

var (
	inputsOnce sync.Once
	inputsErr  error
	inputsList []input
	k8sStream  []byte
	genPath    string
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (the real captures and examples/demo.otlp are required)", err)
	}
	return b
}

// frames splits a stream of 4-byte big-endian length-prefixed requests.
func frames(t *testing.T, d []byte) [][]byte {
	var out [][]byte
	for len(d) > 0 {
		if len(d) < 4 || int(binary.BigEndian.Uint32(d))+4 > len(d) {
			t.Fatalf("stream framing broken")
		}
		n := int(binary.BigEndian.Uint32(d))
		out = append(out, d[4:4+n])
		d = d[4+n:]
	}
	return out
}

// inputs: the demo, the real captures (the k8s stream's requests one by
// one) and the generated request (bindings/testdata/gen_request.py, Google
// protobuf).
func inputs(t *testing.T) []input {
	t.Helper()
	inputsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "p2m-go-test")
		if err != nil {
			inputsErr = err
			return
		}
		genPath = filepath.Join(dir, "generated.otlp")
		cmd := exec.Command("/usr/bin/python3", filepath.Join(testdata, "gen_request.py"), genPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			inputsErr = fmt.Errorf("gen_request.py: %v: %s", err, out)
			return
		}
	})
	if inputsErr != nil {
		t.Fatal(inputsErr)
	}
	if inputsList == nil {
		k8sStream = readFile(t, filepath.Join(root, "tests", "data", "real", "sig-profiling-k8s.otlp"))
		inputsList = []input{
			{"demo", readFile(t, filepath.Join(root, "examples", "demo.otlp"))},
			{"real-profile", readFile(t, filepath.Join(root, "tests", "data", "real", "sig-profiling-profile.otlp"))},
			{"generated", readFile(t, genPath)},
		}
		for i, f := range frames(t, k8sStream) {
			inputsList = append(inputsList, input{fmt.Sprintf("real-k8s-%d", i+1), f})
		}
	}
	return inputsList
}

// runP2M runs build/p2m with stdin = in; returns stdout, stderr, exit code.
func runP2M(t *testing.T, in []byte, args ...string) ([]byte, string, int) {
	t.Helper()
	if _, err := os.Stat(p2mBin); err != nil {
		t.Fatalf("%s missing: run make first (%v)", p2mBin, err)
	}
	cmd := exec.Command(p2mBin, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("p2m: %v", err)
	}
	return stdout.Bytes(), stderr.String(), code
}

func cliConvert(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	args = append([]string{"convert", "--now", strconv.FormatUint(now, 10), "-q", "-o", "-"}, args...)
	out, stderr, code := runP2M(t, in, append(args, "-")...)
	if code != 0 {
		t.Fatalf("p2m %v: exit %d: %s", args, code, stderr)
	}
	return out
}

func mustConverter(t *testing.T, cfg Config) *Converter {
	t.Helper()
	c, err := NewConverter(cfg)
	if err != nil {
		t.Fatalf("NewConverter: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestVersion(t *testing.T) {
	out, _, code := runP2M(t, nil, "--version")
	if code != 0 || !strings.Contains(string(out), Version()) {
		t.Fatalf("p2m --version says %q, the binding's library is %q", out, Version())
	}
}

// Same bytes as p2m convert -f otlp, default and full configurations.
func TestConvertMatchesCLI(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		args []string
	}{
		{"default", Config{NowUnixNano: now}, nil},
		{"full", configFull(), []string{"-c", fullYAML}},
		{"resource-attrs", configResourceAttrs(), resourceAttrArgs},
		{"frames", configFrames(), []string{"-c", framesYAML}},
	}
	for _, cs := range cases {
		conv := mustConverter(t, cs.cfg)
		for _, in := range inputs(t) {
			want := cliConvert(t, in.data, append([]string{"-f", "otlp"}, cs.args...)...)
			got, err := conv.Convert(in.data)
			if err != nil {
				t.Errorf("%s/%s: %v", cs.name, in.name, err)
				continue
			}
			if len(want) == 0 && in.name != "real-k8s-1" {
				t.Errorf("%s/%s: p2m wrote nothing: the comparison proves little", cs.name, in.name)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s: %d bytes, p2m wrote %d different ones", cs.name, in.name, len(got), len(want))
			}
		}
	}
}

// OTLP/JSON and Prometheus text: p2m convert -f json (whose line ends with
// a newline the library does not write) and -f prom, for one request.
func TestFormatsMatchCLI(t *testing.T) {
	promoted := Config{NowUnixNano: now, PromPromoteAll: true}
	keys := Config{NowUnixNano: now, PromPromoteKeys: []string{"container.id", "process.pid", "service.name"}}
	cases := []struct {
		name   string
		cfg    Config
		args   []string
		format Format
	}{
		{"default", Config{NowUnixNano: now}, nil, FormatJSON},
		{"default", Config{NowUnixNano: now}, nil, FormatProm},
		{"full", configFull(), []string{"-c", fullYAML}, FormatJSON},
		{"full", configFull(), []string{"-c", fullYAML}, FormatProm},
		{"resource-attrs", configResourceAttrs(), resourceAttrArgs, FormatJSON},
		{"resource-attrs", configResourceAttrs(), resourceAttrArgs, FormatProm},
		{"promote-all", promoted, []string{"--promote-resource-attrs", "all"}, FormatProm},
		{"promote-keys", keys, []string{"--promote-resource-attrs", "container.id,process.pid,service.name"}, FormatProm},
	}
	for _, cs := range cases {
		flag := map[Format]string{FormatJSON: "json", FormatProm: "prom"}[cs.format]
		cfg := cs.cfg
		cfg.Format = cs.format // Convert's format; ConvertFormat is checked too
		conv := mustConverter(t, cfg)
		other := mustConverter(t, cs.cfg)
		for _, in := range inputs(t) {
			want := cliConvert(t, in.data, append([]string{"-f", flag}, cs.args...)...)
			if cs.format == FormatJSON {
				if !bytes.HasSuffix(want, []byte("\n")) {
					t.Fatalf("%s/%s: p2m -f json does not end its line", cs.name, in.name)
				}
				want = want[:len(want)-1]
			}
			got, err := conv.Convert(in.data)
			if err != nil {
				t.Errorf("%s/%s/%s: %v", cs.name, flag, in.name, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s/%s: %d bytes, p2m wrote %d different ones", cs.name, flag, in.name, len(got), len(want))
			}
			if got2, err := other.ConvertFormat(in.data, cs.format); err != nil || !bytes.Equal(got2, want) {
				t.Errorf("%s/%s/%s: ConvertFormat differs (%v)", cs.name, flag, in.name, err)
			}
		}
	}
	if _, err := mustConverter(t, Config{}).ConvertFormat(nil, Format(9)); !errors.Is(err, ErrArgument) {
		t.Errorf("format 9: %v, want ErrArgument", err)
	}
}

// JSON of a cumulative stream: one line per request, the state carried.
func TestJSONStreamMatchesCLI(t *testing.T) {
	inputs(t)
	cfg := configCumulative()
	cfg.Format = FormatJSON
	conv := mustConverter(t, cfg)
	want := cliConvert(t, k8sStream, "--input-format", "otlp-stream", "-c", cumulYAML, "-f", "json")
	var got []byte
	for i, f := range frames(t, k8sStream) {
		line, err := conv.Convert(f)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		got = append(append(got, line...), '\n')
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%d bytes, p2m wrote %d different ones", len(got), len(want))
	}
}

// A stream converted request by request, as p2m --input-format otlp-stream
// does: delta, and cumulative with the state carried between requests.
func TestStreamMatchesCLI(t *testing.T) {
	inputs(t)
	for _, cs := range []struct {
		name string
		cfg  Config
		yaml string
		args []string
	}{{"full", configFull(), fullYAML, nil}, {"cumulative", configCumulative(), cumulYAML, nil},
		{"cumulative-resource-attrs", func() Config {
			c := configCumulative()
			c.ResourceAttributes = configResourceAttrs().ResourceAttributes
			return c
		}(), cumulYAML, resourceAttrArgs}} {
		conv := mustConverter(t, cs.cfg)
		want := cliConvert(t, k8sStream, append([]string{"--input-format", "otlp-stream", "-c", cs.yaml}, cs.args...)...)
		var got []byte
		for i, f := range frames(t, k8sStream) {
			out, err := conv.Convert(f)
			if err != nil {
				t.Fatalf("%s: message %d: %v", cs.name, i+1, err)
			}
			got = binary.BigEndian.AppendUint32(got, uint32(len(out)))
			got = append(got, out...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: stream of %d bytes, p2m wrote %d different ones", cs.name, len(got), len(want))
		}
	}
}

// The statistics are p2m --stats' numbers, with the full configuration and
// with the stack filter (dropped_stack).
func TestStatsMatchCLI(t *testing.T) {
	droppedStack := uint64(0)
	for _, cs := range []struct {
		name string
		cfg  Config
		yaml string
	}{{"full", configFull(), fullYAML}, {"frames", configFrames(), framesYAML}} {
		conv := mustConverter(t, cs.cfg)
		for _, in := range inputs(t) {
			droppedStack += statsMatchCLI(t, conv, cs.yaml, cs.name+"/"+in.name, in.data)
		}
	}
	if droppedStack == 0 {
		t.Errorf("the stack filter dropped no sample of any input: dropped_stack is not checked")
	}
}

func statsMatchCLI(t *testing.T, conv *Converter, yaml, name string, data []byte) uint64 {
	t.Helper()
	_, stderr, code := runP2M(t, data, "convert", "-q", "--now", strconv.FormatUint(now, 10),
		"-c", yaml, "--stats", "-o", os.DevNull, "-")
	if code != 0 {
		t.Fatalf("%s: p2m exit %d: %s", name, code, stderr)
	}
	var want map[string]any
	dec := json.NewDecoder(strings.NewReader(stderr))
	dec.UseNumber() // integers as written, not as float64
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%s: p2m --stats: %v: %q", name, err, stderr)
	}
	_, s, err := conv.ConvertStats(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got := map[string]any{
		"bytes_in": s.BytesIn, "bytes_out": s.BytesOut, "layout": s.Layout.String(),
		"resources": s.Resources, "profiles": s.Profiles, "profiles_unclassified": s.ProfilesUnclassified,
		"samples": s.Samples, "samples_kept": s.SamplesKept, "dropped_process": s.DroppedProcess,
		"dropped_thread": s.DroppedThread, "dropped_pattern": s.DroppedPattern,
		"dropped_stack": s.DroppedStack,
		"empty_samples": s.EmptySamples, "invalid_references": s.InvalidReferences,
		"series": s.Series, "overflow_samples": s.OverflowSamples, "work_used": s.WorkUsed,
		"regex_searches": s.RegexSearches, "profiles_unfed": s.ProfilesUnfed,
		"samples_unfed": s.SamplesUnfed,
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: p2m --stats has %q, the binding's Stats has no such field", name, k)
			continue
		}
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s: %s = %v, p2m says %v", name, k, g, w)
		}
	}
	if len(want) < 20 {
		t.Errorf("%s: p2m --stats printed only %d keys", name, len(want))
	}
	return s.DroppedStack
}

var malformedRE = regexp.MustCompile(`^p2m: (malformed input|invalid reference) at byte (\d+): (.*)`)

// checkErrorLikeCLI: err must be the *Error whose status, offset and
// message p2m prints for the same input (p2m may add "; truncated: ..." and
// "; in FIELD" after the library's message).
func checkErrorLikeCLI(t *testing.T, name string, in []byte, err error, args ...string) {
	t.Helper()
	_, stderr, code := runP2M(t, in, append([]string{"convert", "-q", "--now",
		strconv.FormatUint(now, 10), "-o", os.DevNull}, append(args, "-")...)...)
	if err == nil {
		if code != 0 {
			t.Errorf("%s: converted, p2m exits %d: %s", name, code, stderr)
		}
		return
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Errorf("%s: error %v is not an *Error", name, err)
		return
	}
	m := malformedRE.FindStringSubmatch(stderr)
	if code != 1 || m == nil {
		t.Errorf("%s: binding: %v; p2m exit %d: %s", name, err, code, stderr)
		return
	}
	if pe.Status.String() != m[1] || strconv.Itoa(pe.Offset) != m[2] || !strings.HasPrefix(m[3], pe.Message) || pe.Message == "" {
		t.Errorf("%s: binding: %s at byte %d: %q; p2m: %s", name, pe.Status, pe.Offset, pe.Message, stderr)
	}
}

// Truncated captures: the offset and message of p2m.
func TestTruncatedMatchesCLI(t *testing.T) {
	conv := mustConverter(t, Config{NowUnixNano: now})
	n := 0
	for _, in := range inputs(t) {
		for _, cut := range []int{1, 10, 1000, len(in.data) / 2, len(in.data) - 1} {
			if cut <= 0 || cut >= len(in.data) {
				continue
			}
			part := in.data[:cut]
			_, err := conv.Convert(part)
			if err == nil {
				continue // a cut at a field boundary is a valid, shorter request
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s cut at %d: %v is not ErrMalformed", in.name, cut, err)
			}
			if errors.Is(err, ErrConfig) {
				t.Errorf("%s: errors.Is matches a status it does not have", in.name)
			}
			checkErrorLikeCLI(t, fmt.Sprintf("%s[:%d]", in.name, cut), part, err)
			n++
		}
	}
	if n < 10 {
		t.Errorf("only %d truncated inputs failed; the check proves little", n)
	}
}

// The strict mode's invalid reference, and a bad configuration.
func TestConfigErrorMatchesCLI(t *testing.T) {
	cfg := Config{ProcessFilter: Filter{Enabled: true, Pattern: "ab(c"}}
	_, err := NewConverter(cfg)
	var pe *Error
	if !errors.As(err, &pe) || !errors.Is(err, ErrConfig) {
		t.Fatalf("bad pattern: %v, want an *Error of StatusConfig", err)
	}
	yaml := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(yaml, []byte("process_filter: {enabled: true, pattern: \"ab(c\"}\n"), 0o644)
	_, stderr, code := runP2M(t, nil, "validate", "-c", yaml)
	want := fmt.Sprintf("p2m: config: %s: %s", pe.Field, pe.Message)
	if code != 2 || !strings.HasPrefix(stderr, want) || pe.Field != "process_filter.pattern" {
		t.Errorf("binding: %v (field %q); p2m validate exit %d: %s", err, pe.Field, code, stderr)
	}
	if !strings.Contains(err.Error(), "process_filter.pattern") {
		t.Errorf("Error() %q does not name the field", err.Error())
	}
	// the stack settings: a frame rule's property, the stack filter's keys
	// (none) and a declared metric's stack pattern, checked by the library
	for _, cs := range []struct {
		cfg   Config
		field string
	}{
		{Config{Attributes: []Rule{{Key: "k", Type: RuleFrame, From: "runtime"}}}, "attributes[0].from"},
		{Config{Attributes: []Rule{{Key: "k", Type: RuleFrame}}}, "attributes[0].from"},
		{Config{StackFilter: Filter{Enabled: true, Pattern: "x", Keys: []string{"thread.name"}}}, "stack_filter.keys"},
		{Config{StackFilter: Filter{Enabled: true}}, "stack_filter.pattern"},
	} {
		_, err := NewConverter(cs.cfg)
		if !errors.As(err, &pe) || !errors.Is(err, ErrConfig) || pe.Field != cs.field {
			t.Errorf("%+v: %v, want an *Error of StatusConfig for %s", cs.cfg, err, cs.field)
		}
	}
	_, err = NewConverter(Config{Extra: []ExtraMetric{{Name: "gc", SampleTypes: []string{"cpu/nanoseconds"}, StackPattern: "ab(c"}}})
	os.WriteFile(yaml, []byte("metrics:\n  extra:\n    - {metric_name: gc, sample_types: [cpu/nanoseconds], stack_pattern: \"ab(c\"}\n"), 0o644)
	_, stderr, code = runP2M(t, nil, "validate", "-c", yaml)
	if !errors.As(err, &pe) || pe.Field != "metrics.extra[0].stack_pattern" || code != 2 ||
		!strings.HasPrefix(stderr, fmt.Sprintf("p2m: config: %s: %s", pe.Field, pe.Message)) {
		t.Errorf("bad stack pattern: binding %v; p2m validate exit %d: %s", err, code, stderr)
	}
	// a metric with no name is the library's error too, not a panic
	if _, err := NewConverter(Config{Extra: []ExtraMetric{{Name: "x"}}}); !errors.Is(err, ErrConfig) {
		t.Errorf("declared metric without sample types: %v, want ErrConfig", err)
	}
}

// Bit flips, cuts and garbage: an error or an output, the same verdict as
// p2m for a sample of them, never a crash.
func TestMalformedNeverCrashes(t *testing.T) {
	conv := mustConverter(t, configFull())
	rnd := rand.New(rand.NewSource(7))
	ins := inputs(t)
	checked, failed := 0, 0
	for i := 0; i < 3000; i++ {
		src := ins[i%len(ins)].data
		if len(src) > 200000 {
			src = src[:200000] // keeps the test fast; the cut is malformed itself
		}
		d := append([]byte(nil), src...)
		switch i % 4 {
		case 0:
			for k := 0; k < 1+rnd.Intn(8); k++ {
				d[rnd.Intn(len(d))] ^= byte(1 << rnd.Intn(8))
			}
		case 1:
			d = d[:rnd.Intn(len(d))]
		case 2:
			p := rnd.Intn(len(d))
			rnd.Read(d[p:min(len(d), p+1+rnd.Intn(64))])
		case 3:
			d = make([]byte, rnd.Intn(512))
			rnd.Read(d)
		}
		_, err := conv.Convert(d)
		if err != nil {
			failed++
			var pe *Error
			if !errors.As(err, &pe) || (pe.Status != StatusMalformed && pe.Status != StatusInvalidReference) {
				t.Errorf("input %d: %v", i, err)
			}
		}
		if i%100 == 0 && len(d) > 0 {
			checkErrorLikeCLI(t, fmt.Sprintf("mutation %d", i), d, err, "-c", fullYAML)
			checked++
		}
	}
	if failed < 1000 {
		t.Errorf("only %d of 3000 mutated inputs failed: the mutations are too mild", failed)
	}
	t.Logf("%d of 3000 failed, %d compared with p2m", failed, checked)
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// One converter, many goroutines: the bytes of sequential use.
func TestConcurrentSameAsSequential(t *testing.T) {
	conv := mustConverter(t, configFull())
	ins := inputs(t)
	want := make([][]byte, len(ins))
	for i, in := range ins {
		var err error
		if want[i], err = conv.Convert(in.data); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				for k := range ins {
					i := (k + g + r) % len(ins)
					got, err := conv.Convert(ins[i].data)
					if err != nil || !bytes.Equal(got, want[i]) {
						errs <- fmt.Sprintf("goroutine %d: %s differs (%v)", g, ins[i].name, err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A cumulative converter shared by goroutines: the calls take turns, so
// after N calls with the same input the totals are those of N sequential
// calls, whatever the interleaving.
func TestCumulativeConcurrent(t *testing.T) {
	in := inputs(t)[1].data
	seq := mustConverter(t, configCumulative())
	par := mustConverter(t, configCumulative())
	const g, per = 6, 5
	for i := 0; i < g*per; i++ {
		if _, err := seq.Convert(in); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < per; k++ {
				if _, err := par.Convert(in); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	a, _ := seq.Convert(in)
	b, _ := par.Convert(in)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("after %d calls: sequential %d bytes, concurrent %d different ones", g*per+1, len(a), len(b))
	}
	first, _ := mustConverter(t, configCumulative()).Convert(in)
	if bytes.Equal(first, a) {
		t.Errorf("the cumulative totals did not grow")
	}
	if err := par.Reset(); err != nil {
		t.Fatal(err)
	}
	if again, _ := par.Convert(in); !bytes.Equal(again, first) {
		t.Errorf("after Reset the output is not that of a new converter")
	}
}

// Strict mode: an index outside its table is an *Error of
// StatusInvalidReference at p2m's offset; without strict the sample's
// stack is skipped and the output is p2m's.
func TestInvalidReferenceMatchesCLI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.otlp")
	if out, err := exec.Command("/usr/bin/python3", filepath.Join(testdata, "gen_request.py"),
		"--invalid-reference", path).CombinedOutput(); err != nil {
		t.Fatalf("gen_request.py: %v: %s", err, out)
	}
	bad := readFile(t, path)
	strict := mustConverter(t, Config{Function: &Metric{Enabled: true}, Strict: true, NowUnixNano: now})
	_, err := strict.Convert(bad)
	var pe *Error
	if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidReference) || errors.Is(err, ErrMalformed) {
		t.Fatalf("strict: %v, want an *Error of StatusInvalidReference", err)
	}
	checkErrorLikeCLI(t, "strict", bad, err, "-c", filepath.Join(testdata, "strict.yaml"))
	lax := mustConverter(t, Config{Function: &Metric{Enabled: true}, NowUnixNano: now})
	got, s, err := lax.ConvertStats(bad)
	yaml := filepath.Join(t.TempDir(), "lax.yaml")
	os.WriteFile(yaml, []byte("metrics: {function: {enabled: true}}\n"), 0o644)
	if want := cliConvert(t, bad, "-c", yaml); err != nil || !bytes.Equal(got, want) || s.InvalidReferences != 1 {
		t.Errorf("not strict: %v, %d invalid references, same as p2m: %v", err, s.InvalidReferences, bytes.Equal(got, want))
	}
}

// Stats.Unfed lists what p2m's note lists (the generated request's
// off_cpu and inuse_space profiles feed nothing by default).
func TestUnfedMatchesCLI(t *testing.T) {
	conv := mustConverter(t, Config{NowUnixNano: now})
	for _, in := range inputs(t) {
		_, stderr, code := runP2M(t, in.data, "convert", "--now", strconv.FormatUint(now, 10), "-o", os.DevNull, "-")
		if code != 0 {
			t.Fatalf("%s: p2m exit %d: %s", in.name, code, stderr)
		}
		_, s, err := conv.ConvertStats(in.data)
		if err != nil {
			t.Fatal(err)
		}
		plural := func(n uint64, w string) string {
			if n == 1 {
				return fmt.Sprintf("%d %s", n, w)
			}
			return fmt.Sprintf("%d %ss", n, w)
		}
		var parts []string
		for _, u := range s.Unfed {
			parts = append(parts, fmt.Sprintf("%s/%s (%s, %s)", u.Type, u.Unit, plural(u.Profiles, "profile"), plural(u.Samples, "sample")))
		}
		if len(parts) == 0 {
			if strings.Contains(stderr, "fed no metric") {
				t.Errorf("%s: no unfed types, p2m: %s", in.name, stderr)
			}
			continue
		}
		want := fmt.Sprintf("p2m: note: %s fed no metric: %s;", plural(uint64(len(parts)), "sample type"), strings.Join(parts, ", "))
		if !strings.Contains(stderr, want) {
			t.Errorf("%s: ours %q; p2m: %s", in.name, want, stderr)
		}
		if in.name == "generated" && len(s.Unfed) != 2 {
			t.Errorf("generated: %d unfed types, want off_cpu and inuse_space", len(s.Unfed))
		}
	}
}

// ConvertAppend: the same bytes after what dst holds; dst untouched on error.
func TestConvertAppend(t *testing.T) {
	conv := mustConverter(t, configFull())
	buf := []byte("prefix")
	for _, in := range inputs(t) {
		want, err := conv.Convert(in.data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := conv.ConvertAppend(buf[:6], in.data)
		if err != nil || string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) {
			t.Errorf("%s: ConvertAppend gave %d bytes (%v), Convert %d", in.name, len(got)-6, err, len(want))
		}
		buf = got
	}
	bad := inputs(t)[0].data[:100]
	got, err := conv.ConvertAppend(buf[:6], bad)
	if !errors.Is(err, ErrMalformed) || len(got) != 6 || string(got) != "prefix" {
		t.Errorf("malformed input: %q, %v; want dst back unchanged and ErrMalformed", got, err)
	}
}

// The output goes to one of four places: a new slice or the caller's spare
// capacity when the expected size (the last output's) fits, the converter's
// own buffer when dst is short or overlaps the input, C memory when the
// output is larger than expected. Inputs whose outputs grow and shrink, in
// both orders, through Convert and through ConvertAppend with short,
// roomy and input-overlapping buffers, all give p2m's bytes.
func TestOutputPaths(t *testing.T) {
	ins := inputs(t)
	want := make([][]byte, len(ins))
	for i, in := range ins {
		want[i] = cliConvert(t, in.data, "-f", "otlp", "-c", fullYAML)
	}
	order := make([]int, 0, 4*len(ins))
	for i := range ins {
		order = append(order, i, i) // the second call meets its own size
	}
	for i := len(ins) - 1; i >= 0; i-- {
		order = append(order, i)
	}
	conv := mustConverter(t, configFull())
	roomy := make([]byte, 0, 1<<22)
	for step, i := range order {
		in, name := ins[i].data, ins[i].name
		got, err := conv.Convert(in)
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Errorf("step %d %s: Convert gave %d bytes (%v), p2m %d", step, name, len(got), err, len(want[i]))
		}
		got, err = conv.ConvertAppend(roomy[:3], in)
		if err != nil || !bytes.Equal(got[3:], want[i]) || &got[0] != &roomy[:1][0] {
			t.Errorf("step %d %s: ConvertAppend into spare capacity gave %d bytes (%v), p2m %d", step, name, len(got)-3, err, len(want[i]))
		}
		got, err = conv.ConvertAppend([]byte{1, 2, 3}, in)
		if err != nil || !bytes.Equal(got[3:], want[i]) || !bytes.Equal(got[:3], []byte{1, 2, 3}) {
			t.Errorf("step %d %s: ConvertAppend into a short slice gave %d bytes (%v), p2m %d", step, name, len(got)-3, err, len(want[i]))
		}
		// the input inside dst's spare capacity: the output must not be
		// written over it while the library reads it
		mem := make([]byte, 64+len(in)+len(want[i])+1<<16)
		copy(mem[64:], in)
		got, err = conv.ConvertAppend(mem[:8], mem[64:64+len(in)])
		if err != nil || !bytes.Equal(got[8:], want[i]) {
			t.Errorf("step %d %s: ConvertAppend with the input in dst's capacity gave %d bytes (%v), p2m %d", step, name, len(got)-8, err, len(want[i]))
		}
	}
}

func TestCloseAndEmpty(t *testing.T) {
	conv, err := NewConverter(Config{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := conv.Convert(nil)
	if err != nil || len(out) != 0 {
		t.Errorf("empty input: %d bytes, %v; want an empty request, no error", len(out), err)
	}
	conv.Close()
	conv.Close()
	if _, err := conv.Convert([]byte{}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// pprofRef is what tests/bindings/pprof_ref.py writes: Go's CPU and heap
// profiles (plain, gzip'd, one damaged) and the totals Google protobuf
// reads from them.
type pprofRef struct {
	dir string
	CPU struct {
		Total, Samples uint64
	} `json:"cpu"`
	Heap struct {
		Total, Samples uint64
		Unfed          [][2]string
	} `json:"heap"`
	BadOffset int `json:"bad_offset"`
}

func loadPprofRef(t *testing.T) *pprofRef {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("/usr/bin/python3", filepath.Join(root, "tests", "bindings", "pprof_ref.py"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pprof_ref.py: %v: %s", err, out)
	}
	ref := &pprofRef{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "pprof.json"))
	if err == nil {
		err = json.Unmarshal(b, ref)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (r *pprofRef) read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metricTotal sums the data points of one metric of an OTLP/JSON text.
func metricTotal(t *testing.T, text []byte, name string) (total uint64, points int) {
	t.Helper()
	var doc struct {
		ResourceMetrics []struct {
			ScopeMetrics []struct {
				Metrics []struct {
					Name string
					Sum  struct {
						DataPoints []struct {
							AsInt string
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(text, &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	for _, rm := range doc.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				for _, p := range m.Sum.DataPoints {
					v, err := strconv.ParseUint(p.AsInt, 10, 64)
					if err != nil {
						t.Fatalf("%s: asInt %q", name, p.AsInt)
					}
					total += v
					points++
				}
			}
		}
	}
	return total, points
}

// InputPprof: Go's CPU and heap profiles give the totals of their columns
// (cpu/nanoseconds, alloc_space/bytes) as Google protobuf reads them, gzip'd
// or not; the heap profile's other sample types are listed with their
// names (strings the library keeps in the working memory for pprof).
func TestPprofInput(t *testing.T) {
	ref := loadPprofRef(t)
	conv := mustConverter(t, Config{NowUnixNano: now, Input: InputPprof, Format: FormatJSON})
	for _, c := range []struct {
		file, metric   string
		total, samples uint64
	}{
		{"cpu.pprof", "cpu_time", ref.CPU.Total, ref.CPU.Samples},
		{"heap.pprof", "memory_allocation", ref.Heap.Total, ref.Heap.Samples},
	} {
		out, s, err := conv.ConvertStats(ref.read(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if total, n := metricTotal(t, out, c.metric); n == 0 || total != c.total {
			t.Errorf("%s: %s total %d in %d points, protobuf says %d", c.file, c.metric, total, n, c.total)
		}
		if s.Layout != LayoutPprof || s.Layout.String() != "pprof" || s.SamplesKept != c.samples {
			t.Errorf("%s: stats layout %v samples kept %d, want pprof and %d", c.file, s.Layout, s.SamplesKept, c.samples)
		}
		gz, _, err := conv.ConvertStats(ref.read(t, c.file+".gz"))
		if err != nil || !bytes.Equal(gz, out) {
			t.Errorf("%s.gz: err %v, same output %v", c.file, err, bytes.Equal(gz, out))
		}
		if c.file == "heap.pprof" {
			var got [][2]string
			for _, u := range s.Unfed {
				got = append(got, [2]string{u.Type, u.Unit})
				if u.Profiles != 1 || u.Samples != c.samples {
					t.Errorf("heap: unfed %s/%s: %d profiles, %d samples", u.Type, u.Unit, u.Profiles, u.Samples)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(ref.Heap.Unfed) {
				t.Errorf("heap: unfed types %v, the profile's other types %v", got, ref.Heap.Unfed)
			}
		}
	}
	// the protobuf output is a request of the same size stats.BytesOut says
	otlp := mustConverter(t, Config{NowUnixNano: now, Input: InputPprof})
	pb, s, err := otlp.ConvertStats(ref.read(t, "cpu.pprof"))
	if err != nil || len(pb) == 0 || s.BytesOut != len(pb) {
		t.Errorf("cpu.pprof as otlp: %d bytes, stats %d, err %v", len(pb), s.BytesOut, err)
	}
}

// InputPprof errors: a damaged profile at its offset, a gzip stream that does
// not inflate, an OTLP request read as pprof; InputOTLP does not inflate.
func TestPprofErrors(t *testing.T) {
	ref := loadPprofRef(t)
	conv := mustConverter(t, Config{NowUnixNano: now, Input: InputPprof})
	_, err := conv.Convert(ref.read(t, "bad.pprof"))
	var e *Error
	if !errors.Is(err, ErrMalformed) || !errors.As(err, &e) || e.Offset != ref.BadOffset {
		t.Errorf("bad.pprof: %v, want malformed at byte %d", err, ref.BadOffset)
	}
	_, err = conv.Convert(ref.read(t, "cpu.pprof.gz")[:20])
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "does not inflate") {
		t.Errorf("truncated gzip: %v", err)
	}
	in := inputs(t)[0]
	_, err = conv.Convert(in.data)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "pprof") {
		t.Errorf("%s with InputPprof: %v, want a malformed pprof error", in.name, err)
	}
	plain := mustConverter(t, Config{NowUnixNano: now})
	if _, err = plain.Convert(ref.read(t, "cpu.pprof.gz")); !errors.Is(err, ErrMalformed) {
		t.Errorf("gzip'd pprof with InputOTLP: %v, want malformed", err)
	}
	if _, err = NewConverter(Config{Input: 7}); !errors.Is(err, ErrConfig) {
		t.Errorf("Input 7: %v, want a configuration error", err)
	}
}
