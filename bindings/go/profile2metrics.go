// SPDX-License-Identifier: MIT

// Package profile2metrics converts OpenTelemetry profiles (an OTLP
// ExportProfilesServiceRequest, protobuf) into OpenTelemetry metrics (an
// OTLP ExportMetricsServiceRequest, protobuf) in-process, with the C
// library profile2metrics.h compiled into the package by cgo.
//
//	conv, err := profile2metrics.NewConverter(profile2metrics.Config{})
//	if err != nil { ... }
//	defer conv.Close()
//	metrics, err := conv.Convert(profiles)
//
// Config.Format (or ConvertFormat) gives OTLP/JSON or Prometheus text
// instead, the text p2m convert -f json / -f prom writes for one request.
//
// A Converter is safe for use by many goroutines at once. With delta
// temporality (the default) the calls run in parallel, each with working
// memory of its own; with cumulative temporality the running totals are
// shared state and the calls take turns.
package profile2metrics

/*
#cgo CFLAGS: -I${SRCDIR}/../.. -std=c99 -O2
#include <stdlib.h>
#include "bindings/shim/p2m_shim.h"
*/
import "C"

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Version is the version of the library compiled into the package.
func Version() string { return C.GoString(C.p2m_version()) }

// Converter is a compiled configuration (the library's engine) and, for
// cumulative temporality, its state. Create it with NewConverter and
// release its C memory with Close (a finalizer does it otherwise).
type Converter struct {
	mu         sync.RWMutex // read: a call; write: Close (and every cumulative call)
	engine     *C.p2m_engine
	engineMem  unsafe.Pointer
	state      *C.p2m_state
	stateMem   unsafe.Pointer
	cumulative bool
	now        uint64
	rattrs     *C.p2m_attribute // Config.ResourceAttributes in C memory
	nRattrs    int
	format     Format
	input      Input
	prom       *C.p2m_prom_options // Config.PromPromote* in C memory
	cMem       []unsafe.Pointer    // C memory to free on Close
	// Scratch memory of finished calls, for the next ones. A buffered
	// channel, not a sync.Pool: the pool is emptied at every garbage
	// collection, and re-growing half a megabyte of working memory after
	// each one made the collections more frequent still.
	work    chan *scratch
	outHint int64 // the size of the last output (the next call's guess)
}

// scratch is what one call writes into; reused through c.work.
type scratch struct {
	call    *callMem
	work    []byte
	out     []byte
	writers []byte // scratch of the JSON and Prometheus writers
}

// callMem is the options and the result of one call, in Go memory that
// holds no Go pointer (as cgo requires of memory passed to C).
type callMem struct {
	opt C.p2m_options
	res C.p2mb_result
}

// cArena holds the C copies of a configuration's strings and arrays until
// the engine is compiled (the library copies what it keeps).
type cArena struct{ ptrs []unsafe.Pointer }

func (a *cArena) alloc(n uintptr) unsafe.Pointer {
	if n == 0 {
		n = 1
	}
	p := C.calloc(1, C.size_t(n))
	if p == nil {
		panic("profile2metrics: out of C memory")
	}
	a.ptrs = append(a.ptrs, p)
	return p
}

// str is s as a C string; "" is NULL (the library's "absent").
func (a *cArena) str(s string) *C.char {
	if s == "" {
		return nil
	}
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// strs is a C array of C strings (an empty list: NULL, 0).
func (a *cArena) strs(list []string) (**C.char, C.size_t) {
	if len(list) == 0 {
		return nil, 0
	}
	arr := (*[1 << 28]*C.char)(a.alloc(uintptr(len(list)) * unsafe.Sizeof((*C.char)(nil))))[:len(list):len(list)]
	for i, s := range list {
		p := C.CString(s) // "" stays "", not NULL, inside a list
		a.ptrs = append(a.ptrs, unsafe.Pointer(p))
		arr[i] = p
	}
	return &arr[0], C.size_t(len(list))
}

func (a *cArena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func (a *cArena) metric(m *Metric, dst *C.p2m_metric_config) {
	if m == nil {
		return
	}
	dst.enabled = cBool(m.Enabled)
	if m.Name != "" {
		dst.name = a.str(m.Name)
	}
	if m.Unit != "" {
		dst.unit = a.str(m.Unit)
	}
	if m.Description != "" {
		dst.description = a.str(m.Description)
	}
}

func (a *cArena) filter(f *Filter, dst *C.p2m_filter) {
	dst.enabled = cBool(f.Enabled)
	dst.pattern = a.str(f.Pattern)
	dst.patterns, dst.n_patterns = a.strs(f.Patterns)
	dst.keys, dst.n_keys = a.strs(f.Keys)
}

// fill writes cfg over the library's defaults in dst.
func (a *cArena) fill(cfg *Config, dst *C.p2m_config) {
	C.p2m_config_init_size(dst, C.sizeof_p2m_config)
	a.metric(cfg.CPU, &dst.cpu)
	a.metric(cfg.Memory, &dst.memory)
	a.metric(cfg.Function, &dst.function)
	dst.function_mode = C.p2m_function_mode(cfg.FunctionMode)
	if cfg.FunctionAttributeKey != "" {
		dst.function_attribute_key = a.str(cfg.FunctionAttributeKey)
	}
	if cfg.Attributes != nil {
		// non-NULL even when empty: the library reads "no attributes"
		n := len(cfg.Attributes)
		mem := a.alloc(uintptr(n) * C.sizeof_p2m_rule)
		rules := (*[1 << 20]C.p2m_rule)(mem)[:n:n]
		for i := range cfg.Attributes {
			r := &cfg.Attributes[i]
			rules[i].key = a.str(r.Key)
			rules[i]._type = C.p2m_rule_type(r.Type)
			rules[i].value = a.str(r.Value)
			rules[i].from = a.str(r.From)
			rules[i].source = a.str(r.Source)
			rules[i].index = C.uint32_t(r.Index)
			rules[i].default_value = a.str(r.Default)
		}
		dst.attributes = (*C.p2m_rule)(mem)
		dst.n_attributes = C.size_t(n)
	}
	a.filter(&cfg.ProcessFilter, &dst.process_filter)
	a.filter(&cfg.ThreadFilter, &dst.thread_filter)
	a.filter(&cfg.PatternFilter, &dst.pattern_filter)
	a.filter(&cfg.StackFilter, &dst.stack_filter)
	if cfg.ProcessKey != "" {
		dst.process_key = a.str(cfg.ProcessKey)
	}
	if cfg.ThreadKey != "" {
		dst.thread_key = a.str(cfg.ThreadKey)
	}
	if n := len(cfg.TypeRules); n > 0 {
		rules := (*[1 << 20]C.p2m_type_rule)(a.alloc(uintptr(n) * C.sizeof_p2m_type_rule))[:n:n]
		for i, r := range cfg.TypeRules {
			rules[i]._type = a.str(r.Type)
			rules[i].unit = a.str(r.Unit)
			rules[i].metric = C.p2m_metric_kind(r.Metric)
			rules[i].scale = C.double(r.Scale)
			if r.Scale == 0 {
				rules[i].scale = 1
			}
		}
		dst.type_rules = &rules[0]
		dst.n_type_rules = C.size_t(n)
	}
	if n := len(cfg.Extra); n > 0 {
		ex := (*[1 << 16]C.p2m_extra_metric)(a.alloc(uintptr(n) * C.sizeof_p2m_extra_metric))[:n:n]
		for i, e := range cfg.Extra {
			ex[i].name = a.str(e.Name)
			ex[i].unit = a.str(e.Unit)
			ex[i].description = a.str(e.Description)
			ex[i].sample_types, ex[i].n_sample_types = a.strs(e.SampleTypes)
			ex[i].stack_pattern = a.str(e.StackPattern)
		}
		dst.extra = &ex[0]
		dst.n_extra = C.size_t(n)
	}
	if cfg.Temporality != 0 {
		dst.temporality = C.p2m_temporality(cfg.Temporality)
	}
	if cfg.MaxSeries != 0 {
		dst.max_series = C.uint32_t(cfg.MaxSeries)
	}
	dst.layout = C.p2m_layout(cfg.Layout)
	dst.strict = cBool(cfg.Strict)
	if cfg.StateMaxSeries != 0 {
		dst.state_max_series = C.uint32_t(cfg.StateMaxSeries)
	}
	if cfg.StateBytes != 0 {
		dst.state_bytes = C.size_t(cfg.StateBytes)
	}
}

// goError turns a p2m_error into an *Error.
func goError(st C.p2m_status, e *C.p2m_error) *Error {
	return &Error{
		Status:  Status(st),
		Offset:  int(e.offset),
		Needed:  int(e.needed),
		Field:   C.GoString(&e.field[0]),
		Message: C.GoString(&e.message[0]),
	}
}

// NewConverter validates and compiles cfg. A configuration the library
// rejects gives an *Error of StatusConfig (or StatusUnsupported) naming the
// field, as p2m validate does.
func NewConverter(cfg Config) (*Converter, error) {
	if cfg.Input != InputOTLP && cfg.Input != InputPprof {
		return nil, &Error{Status: StatusConfig, Field: "Input", Message: fmt.Sprintf("unknown input kind %d: InputOTLP or InputPprof", int(cfg.Input))}
	}
	var arena cArena
	defer arena.free()
	var ccfg C.p2m_config
	arena.fill(&cfg, &ccfg)

	var cerr C.p2m_error
	var eng *C.p2m_engine
	st := C.p2m_engine_compile(&ccfg, nil, 0, &eng, &cerr)
	if st != C.P2M_ERR_MEMORY {
		return nil, goError(st, &cerr)
	}
	mem := C.malloc(C.size_t(cerr.needed))
	if mem == nil {
		return nil, &Error{Status: StatusMemory, Needed: int(cerr.needed), Message: "out of C memory for the engine"}
	}
	st = C.p2m_engine_compile(&ccfg, mem, cerr.needed, &eng, &cerr)
	if st != C.P2M_OK {
		C.free(mem)
		return nil, goError(st, &cerr)
	}
	c := &Converter{engine: eng, engineMem: mem, now: cfg.NowUnixNano}
	if n := C.p2m_state_size(eng); n > 0 {
		c.cumulative = true
		c.stateMem = C.malloc(n)
		if c.stateMem == nil {
			C.free(mem)
			return nil, &Error{Status: StatusMemory, Needed: int(n), Message: "out of C memory for the cumulative state"}
		}
		if st = C.p2m_state_init(eng, c.stateMem, n, &c.state, &cerr); st != C.P2M_OK {
			C.free(c.stateMem)
			C.free(mem)
			return nil, goError(st, &cerr)
		}
	}
	if n := len(cfg.ResourceAttributes); n > 0 {
		// C memory for the whole life of the converter: every call reads it
		arr := C.calloc(C.size_t(n), C.sizeof_p2m_attribute)
		c.cMem = append(c.cMem, arr)
		list := (*[1 << 20]C.p2m_attribute)(arr)[:n:n]
		for i, a := range cfg.ResourceAttributes {
			k, v := C.CBytes([]byte(a.Key)), C.CBytes([]byte(a.Value))
			c.cMem = append(c.cMem, k, v)
			list[i].key = C.p2m_str{ptr: (*C.char)(k), len: C.size_t(len(a.Key))}
			list[i].value._type = C.P2M_VALUE_STRING
			list[i].value.str = C.p2m_str{ptr: (*C.char)(v), len: C.size_t(len(a.Value))}
		}
		c.rattrs, c.nRattrs = (*C.p2m_attribute)(arr), n
	}
	c.format = cfg.Format
	c.input = cfg.Input
	// p2m_prom_options, with the keys as C strings, for the whole life of
	// the converter
	po := (*C.p2m_prom_options)(C.calloc(1, C.sizeof_p2m_prom_options))
	c.cMem = append(c.cMem, unsafe.Pointer(po))
	po.promote_all = cBool(cfg.PromPromoteAll)
	if n := len(cfg.PromPromoteKeys); n > 0 {
		arr := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil))))
		c.cMem = append(c.cMem, arr)
		keys := (*[1 << 20]*C.char)(arr)[:n:n]
		for i, k := range cfg.PromPromoteKeys {
			keys[i] = C.CString(k)
			c.cMem = append(c.cMem, unsafe.Pointer(keys[i]))
		}
		po.promote_keys = (**C.char)(arr)
		po.n_promote_keys = C.size_t(n)
	}
	c.prom = po
	c.work = make(chan *scratch, 2*runtime.GOMAXPROCS(0)+2)
	runtime.SetFinalizer(c, (*Converter).Close)
	return c, nil
}

// Close releases the converter's C memory. Calls after Close return
// ErrClosed; Close itself may be called more than once.
func (c *Converter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engineMem != nil {
		C.free(c.engineMem)
		c.engineMem, c.engine = nil, nil
	}
	if c.stateMem != nil {
		C.free(c.stateMem)
		c.stateMem, c.state = nil, nil
	}
	for _, p := range c.cMem {
		C.free(p)
	}
	c.cMem, c.rattrs, c.nRattrs, c.prom = nil, nil, 0, nil
	runtime.SetFinalizer(c, nil)
	return nil
}

// Reset empties a cumulative converter's state (the running totals start
// over, as after NewConverter). It does nothing for delta temporality.
func (c *Converter) Reset() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine == nil {
		return ErrClosed
	}
	if !c.cumulative {
		return nil
	}
	var cerr C.p2m_error
	if st := C.p2m_state_init(c.engine, c.stateMem, C.p2m_state_size(c.engine), &c.state, &cerr); st != C.P2M_OK {
		return goError(st, &cerr)
	}
	return nil
}

// Convert turns one ExportProfilesServiceRequest into one
// ExportMetricsServiceRequest (protobuf bytes, those of p2m convert -f
// otlp). Malformed input gives an *Error of StatusMalformed with the byte
// offset. The returned slice is the caller's.
func (c *Converter) Convert(in []byte) ([]byte, error) {
	out, _, err := c.convert(nil, in, c.format, false)
	return out, err
}

// ConvertFormat is Convert with the output format given for this call
// instead of Config.Format.
func (c *Converter) ConvertFormat(in []byte, f Format) ([]byte, error) {
	out, _, err := c.convert(nil, in, f, false)
	return out, err
}

// ConvertAppend is Convert that appends the output to dst and returns the
// extended slice (as strconv.AppendInt does), so that a caller converting
// request after request can reuse one buffer: ConvertAppend(buf[:0], in).
// On error dst is returned unchanged.
func (c *Converter) ConvertAppend(dst, in []byte) ([]byte, error) {
	out, _, err := c.convert(dst, in, c.format, false)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// ConvertStats is Convert that also returns the statistics of the call.
func (c *Converter) ConvertStats(in []byte) ([]byte, Stats, error) {
	return c.convert(nil, in, c.format, true)
}

var oneByte [1]byte // the address given for an empty input

// convert appends the output to dst (nil: a new slice of its own).
func (c *Converter) convert(dst, in []byte, format Format, wantStats bool) ([]byte, Stats, error) {
	if format < FormatOTLP || format > FormatProm {
		return dst, Stats{}, &Error{Status: StatusArgument, Message: fmt.Sprintf("unknown output format %d", int(format))}
	}
	if c.cumulative {
		c.mu.Lock()
		defer c.mu.Unlock()
	} else {
		c.mu.RLock()
		defer c.mu.RUnlock()
	}
	if c.engine == nil {
		return nil, Stats{}, ErrClosed
	}
	if c.input == InputPprof && len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
		// Go writes its profiles gzip'd; the library reads profile.proto itself
		raw, err := gunzip(in)
		if err != nil {
			return dst, Stats{}, &Error{Status: StatusMalformed, Message: "InputPprof: the input starts like gzip (1f 8b) but does not inflate (" + err.Error() + "); give the profile as Go wrote it or uncompressed"}
		}
		in = raw
	}
	var s *scratch
	select {
	case s = <-c.work:
	default:
		s = &scratch{call: new(callMem)}
	}
	defer func() {
		select {
		case c.work <- s:
		default: // more calls at once than kept: this one is left to the GC
		}
	}()
	// the options and the result live in the scratch: as locals they would
	// be two heap allocations per call (cgo makes its arguments escape)
	opt, res := &s.call.opt, &s.call.res
	*opt = C.p2m_options{}
	opt.now_unix_nano = C.uint64_t(c.now)
	if c.now == 0 {
		opt.now_unix_nano = C.uint64_t(time.Now().UnixNano())
	}
	opt.state = c.state
	opt.resource_attributes = c.rattrs
	opt.n_resource_attributes = C.size_t(c.nRattrs)

	inPtr := unsafe.Pointer(&oneByte[0])
	if len(in) > 0 {
		inPtr = unsafe.Pointer(&in[0])
	}
	// Where the library writes the output: straight into the caller's slice
	// when it has room for the expected size (dst's spare capacity, or for
	// Convert a new slice of that size), so the bytes are not copied after
	// the call; else into the scratch's buffer. The expected size is the
	// last output's plus 1/16: a small margin, since every byte of a new
	// slice brings the next garbage collection closer. A larger output goes
	// to C memory inside the shim and is copied once.
	hint := int(atomic.LoadInt64(&c.outHint))
	guess := hint + hint/16 + 64
	var direct []byte // the caller's memory the output goes to, if any
	if dst == nil {
		direct = make([]byte, guess)
	} else if spare := dst[len(dst):cap(dst)]; len(spare) >= guess && !overlaps(spare, in) {
		direct = spare
	}
	target := direct
	if target == nil {
		if len(s.out) < guess {
			s.out = make([]byte, guess)
		}
		target = s.out
	}

	var st C.p2m_status
	want := C.int(0)
	if wantStats {
		want = 1
	}
	// A goroutine that converts request after request without ever being
	// rescheduled looks to the runtime's monitor (sysmon) like one running
	// for over 10 ms, and from then on the monitor takes its P away during
	// every C call longer than its tick (20 µs or more), even with idle Ps:
	// each call then ends by fetching an idle P, waking the monitor and
	// taking the scheduler's lock, one or two context switches per call.
	// Yielding here (well under a microsecond when nothing else is
	// runnable) counts as being rescheduled, so the C call keeps its P as
	// a short system call does.
	runtime.Gosched()
	// Grow the working memory to what the library says it needs and call
	// again (the aggregation changes nothing when it fails). The writers'
	// scratch and the output grow inside the shim, into C memory, so that
	// a successful aggregation is never repeated.
	for attempt := 0; attempt < 4; attempt++ {
		var workPtr, wsPtr unsafe.Pointer
		if len(s.work) > 0 {
			workPtr = unsafe.Pointer(&s.work[0])
		}
		if len(s.writers) > 0 {
			wsPtr = unsafe.Pointer(&s.writers[0])
		}
		st = C.p2mb_convert(c.engine, inPtr, C.size_t(len(in)), C.int(c.input), opt, C.int(format), c.prom,
			workPtr, C.size_t(len(s.work)), wsPtr, C.size_t(len(s.writers)),
			unsafe.Pointer(&target[0]), C.size_t(len(target)), want, res)
		if st == C.P2M_ERR_MEMORY && int(res.err.needed) > len(s.work) {
			s.work = make([]byte, int(res.err.needed))
		} else {
			break
		}
	}
	runtime.KeepAlive(in)
	if st != C.P2M_OK {
		return dst, Stats{}, goError(st, &res.err)
	}
	n := int(res.out_size)
	if res.scratch_needed > 0 && int(res.scratch_needed) > len(s.writers) {
		s.writers = make([]byte, int(res.scratch_needed))
	}
	if int64(n) != int64(hint) {
		atomic.StoreInt64(&c.outHint, int64(n))
	}
	var out []byte
	switch {
	case res.heap_out != nil: // the output did not fit: it is in C memory
		heap := unsafe.Slice((*byte)(res.heap_out), n)
		if dst == nil {
			out = make([]byte, n)
			copy(out, heap)
		} else {
			out = append(dst, heap...)
		}
		C.p2mb_free(res.heap_out)
	case direct != nil && dst == nil:
		out = direct[:n]
	case direct != nil:
		out = dst[:len(dst)+n]
	default:
		out = append(dst, s.out[:n]...)
	}
	var stats Stats
	if wantStats {
		stats = goStats(&res.stats)
		for i := 0; i < int(res.stats.n_unfed) && i < C.P2MB_MAX_UNFED; i++ {
			e := res.unfed[i*6 : i*6+6]
			stats.Unfed = append(stats.Unfed, TypeCount{
				Type:     spanText(in, s.work, uint64(e[0]), uint64(e[1])),
				Unit:     spanText(in, s.work, uint64(e[2]), uint64(e[3])),
				Profiles: uint64(e[4]), Samples: uint64(e[5]),
			})
		}
	}
	return out, stats, nil
}

// spanText is the text at an offset the shim gave: into the input, or with
// P2MB_IN_WORK into the working memory of the call (pprof input).
func spanText(in, work []byte, off, n uint64) string {
	const inWork = uint64(1) << 63
	if off&inWork != 0 {
		off &^= inWork
		return string(work[off : off+n])
	}
	return string(in[off : off+n])
}

// gunzip inflates a gzip stream (all of its members).
func gunzip(in []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// overlaps reports whether a and b share memory (writing the output into
// a must not overwrite the input b while the library reads it).
func overlaps(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+uintptr(len(b)) && b0 < a0+uintptr(len(a))
}

func goStats(s *C.p2m_stats) Stats {
	return Stats{
		BytesIn:              int(s.bytes_in),
		BytesOut:             int(s.bytes_out),
		Layout:               Layout(s.layout),
		Resources:            uint64(s.resources),
		Profiles:             uint64(s.profiles),
		ProfilesUnclassified: uint64(s.profiles_unclassified),
		Samples:              uint64(s.samples),
		SamplesKept:          uint64(s.samples_kept),
		DroppedProcess:       uint64(s.dropped_process),
		DroppedThread:        uint64(s.dropped_thread),
		DroppedPattern:       uint64(s.dropped_pattern),
		DroppedStack:         uint64(s.dropped_stack),
		EmptySamples:         uint64(s.empty_samples),
		InvalidReferences:    uint64(s.invalid_references),
		Series:               uint64(s.series),
		OverflowSamples:      uint64(s.overflow_samples),
		WorkUsed:             int(s.work_used),
		RegexSearches:        uint64(s.regex_searches),
		ProfilesUnfed:        uint64(s.profiles_unfed),
		SamplesUnfed:         uint64(s.samples_unfed),
		LayoutEvidence:       Layout(s.layout_evidence),
		LayoutConflict:       s.layout_conflict != 0,
	}
}
