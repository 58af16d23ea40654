// SPDX-License-Identifier: MIT

package profile2metrics

import "fmt"

// Config is the library's p2m_config, with Go's zero values meaning "the
// library's default" wherever the YAML configuration's absent keys do
// (docs/configuration.md names every setting; the YAML key is given for
// each field).
type Config struct {
	// metrics.cpu, metrics.memory, metrics.function. nil: the default (cpu
	// and memory on, function off); non-nil: Enabled as given, and each
	// empty string the default name, unit or description.
	CPU, Memory, Function *Metric
	// metrics.function.mode: FunctionSelf (default) or FunctionInclusive.
	FunctionMode FunctionMode
	// metrics.function.attribute_key; "" = "function.name".
	FunctionAttributeKey string
	// metrics.extra: declared metrics (at most 8 in this build).
	Extra []ExtraMetric

	// attributes: nil = the default rules (process.executable.name,
	// thread.name); an empty non-nil slice = no attributes.
	Attributes []Rule

	ProcessFilter, ThreadFilter, PatternFilter Filter
	// stack_filter: keeps the samples with a function name on their stack
	// that matches (Keys must stay empty).
	StackFilter Filter

	ProcessKey string // process_key; "" = "process.executable.name"
	ThreadKey  string // thread_key; "" = "thread.name"

	// type_rules: sample types mapped before the built-in table.
	TypeRules []TypeRule

	Temporality    Temporality // temporality; zero = Delta
	MaxSeries      uint32      // max_series per metric per resource; 0 = 2000
	Layout         Layout      // layout; zero = LayoutAuto
	Strict         bool        // strict
	StateMaxSeries uint32      // state_max_series (cumulative); 0 = 8192
	StateBytes     uint64      // state_bytes (cumulative); 0 = 1 MiB

	// Input is what Convert, ConvertFormat, ConvertAppend and ConvertStats
	// read: InputOTLP (default, an ExportProfilesServiceRequest) or
	// InputPprof (one pprof Profile, as Go's runtime/pprof writes it,
	// gzip'd or not: p2m_pprof_aggregate).
	Input Input

	// Format is the output of Convert, ConvertAppend and ConvertStats:
	// FormatOTLP (default, protobuf), FormatJSON (OTLP/JSON, one line
	// without a newline) or FormatProm (Prometheus text exposition), as
	// p2m convert -f otlp|json|prom writes one request.
	Format Format
	// PromPromoteAll and PromPromoteKeys: FormatProm only, resource
	// attributes (all, or those keys) as labels on every sample (p2m
	// convert --promote-resource-attrs all|KEY,...).
	PromPromoteAll  bool
	PromPromoteKeys []string

	// ResourceAttributes are string attributes added to every resource of
	// the output, replacing one of the same key (p2m convert
	// --resource-attr KEY=VALUE); of a key given twice the last wins.
	ResourceAttributes []Attribute

	// NowUnixNano is the time given to profiles that carry no time of
	// their own (p2m convert --now); 0 = the current time at each call.
	NowUnixNano uint64
}

// Format is an output format.
type Format int

const (
	FormatOTLP Format = 0 // ExportMetricsServiceRequest, protobuf
	FormatJSON Format = 1 // the same in the OTLP JSON encoding, one line
	FormatProm Format = 2 // Prometheus text exposition format 0.0.4
)

// String is the name p2m convert -f takes: otlp, json, prom.
func (f Format) String() string {
	switch f {
	case FormatOTLP:
		return "otlp"
	case FormatJSON:
		return "json"
	case FormatProm:
		return "prom"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Attribute is a string attribute: a key and its value.
type Attribute struct {
	Key, Value string
}

// Metric is one of metrics.cpu / memory / function.
type Metric struct {
	Enabled     bool
	Name        string // metric_name
	Unit        string // unit: ns, us, ms, s (cpu, function); By, KiBy, MiBy (memory)
	Description string
}

// ExtraMetric is one entry of metrics.extra.
type ExtraMetric struct {
	Name        string   // metric_name
	Unit        string   // "" = from the first sample type
	Description string   // "" = a generated one
	SampleTypes []string // each "type/unit", e.g. "off_cpu/nanoseconds"
	// StackPattern is stack_pattern: "" = every sample of the sample
	// types; else only samples with a function name on their stack that
	// matches it feed this metric.
	StackPattern string
}

// RuleType is an attribute rule's type.
type RuleType int

const (
	RuleLiteral     RuleType = 0 // Value
	RuleAttribute   RuleType = 1 // From
	RuleRegex       RuleType = 2 // Value is the pattern, Source the subject
	RuleStringTable RuleType = 3 // Index
	RuleFrame       RuleType = 4 // From: FrameType, FrameKind, FrameLibrary, FrameFunction or FrameSyscall
)

// The properties of the stack a RuleFrame reads (its From).
const (
	FrameType     = "type"     // the leaf frame's type (profile.frame.type)
	FrameKind     = "kind"     // "kernel" or "user"
	FrameLibrary  = "library"  // the file name of a native leaf frame's mapping
	FrameFunction = "function" // the leaf function
	FrameSyscall  = "syscall"  // the system call of a kernel stack
)

// Rule is one data point attribute rule (attributes[i]).
type Rule struct {
	Key     string
	Type    RuleType
	Value   string
	From    string // attribute: the attribute key; frame: a Frame* property
	Source  string // regex: an attribute key, "function" or "string_table" ("" = string_table)
	Index   uint32
	Default string // "" = none
}

// Filter is process_filter, thread_filter, pattern_filter or stack_filter.
type Filter struct {
	Enabled  bool
	Pattern  string
	Patterns []string
	Keys     []string // pattern_filter only
}

// MetricKind is the metric a type rule feeds.
type MetricKind int

const (
	MetricNone   MetricKind = 0
	MetricCPU    MetricKind = 1
	MetricMemory MetricKind = 2
)

// TypeRule is one entry of type_rules.
type TypeRule struct {
	Type, Unit string
	Metric     MetricKind
	Scale      float64 // 0 = 1
}

// FunctionMode is metrics.function.mode.
type FunctionMode int

const (
	FunctionSelf      FunctionMode = 0
	FunctionInclusive FunctionMode = 1
)

// Temporality is temporality; the values are OTLP's.
type Temporality int

const (
	Delta      Temporality = 1
	Cumulative Temporality = 2
)

// Input is the kind of input a Converter reads.
type Input int

const (
	InputOTLP  Input = 0 // an OTLP ExportProfilesServiceRequest (protobuf)
	InputPprof Input = 1 // a pprof Profile (profile.proto), gzip'd or not
)

// String is "otlp" or "pprof".
func (i Input) String() string {
	switch i {
	case InputOTLP:
		return "otlp"
	case InputPprof:
		return "pprof"
	}
	return fmt.Sprintf("Input(%d)", int(i))
}

// Layout is the OTLP profiles wire layout of the input.
type Layout int

const (
	LayoutAuto  Layout = 0
	LayoutPprof Layout = 1 // in Stats only: the input was a pprof Profile (InputPprof)
	LayoutV1_8  Layout = 8
	LayoutV1_9  Layout = 9
	LayoutV1_10 Layout = 10
)

// String is the library's p2m_layout_name.
func (l Layout) String() string {
	switch l {
	case LayoutAuto:
		return "auto"
	case LayoutPprof:
		return "pprof"
	case LayoutV1_8:
		return "v1.8"
	case LayoutV1_9:
		return "v1.9"
	case LayoutV1_10:
		return "v1.10"
	}
	return "unknown"
}

// Stats is the library's p2m_stats for one call (docs/api.md, Statistics).
type Stats struct {
	BytesIn, BytesOut    int
	Layout               Layout // the layout used
	Resources            uint64
	Profiles             uint64
	ProfilesUnclassified uint64
	Samples              uint64
	SamplesKept          uint64
	DroppedProcess       uint64
	DroppedThread        uint64
	DroppedPattern       uint64
	DroppedStack         uint64 // samples the stack filter dropped
	EmptySamples         uint64
	InvalidReferences    uint64
	Series               uint64
	OverflowSamples      uint64
	WorkUsed             int
	RegexSearches        uint64
	ProfilesUnfed        uint64
	SamplesUnfed         uint64
	LayoutEvidence       Layout
	LayoutConflict       bool
	// Unfed lists the sample types that fed no metric, in first-seen order
	// (at most 32; ProfilesUnfed and SamplesUnfed count all of them), as
	// p2m's note does. Filled by ConvertStats only.
	Unfed []TypeCount
}

// TypeCount is a sample type that fed no metric, and how many profiles and
// samples had it.
type TypeCount struct {
	Type, Unit        string
	Profiles, Samples uint64
}
