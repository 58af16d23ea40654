// SPDX-License-Identifier: MIT

// The Go side of `make bench-bindings` (bench/bindings.sh): one round of
// Converter.Convert on one request with the default configuration, as
// bench/bindings_c.c does with p2m_convert.
//
// Usage: bench FILE MIN_MS
// Prints "cpu_ns_per_op N wall_ns_per_op W calls C bytes_out B" (CPU time
// of all the process's threads, garbage collector included).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"profile2metrics"
)

// cpuNS is the CPU time of every thread of the process so far, in ns (the
// first field of each /proc/self/task/*/schedstat).
func cpuNS() float64 {
	paths, _ := filepath.Glob("/proc/self/task/*/schedstat")
	sum := 0.0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			sum += v
		}
	}
	return sum
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: bench FILE MIN_MS")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	minMS, _ := strconv.ParseFloat(os.Args[2], 64)
	conv, err := profile2metrics.NewConverter(profile2metrics.Config{NowUnixNano: 1700000000000000000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// "append": ConvertAppend into one reused buffer instead of a new
	// slice per call
	appendMode := os.Getenv("P2M_BENCH_GO_APPEND") == "1"
	var out []byte
	for i := 0; i < 2; i++ { // warm-up: pool, buffers
		if out, err = conv.Convert(in); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	calls := 0
	c0 := cpuNS()
	start := time.Now()
	var elapsed time.Duration
	for {
		if appendMode {
			out, _ = conv.ConvertAppend(out[:0], in)
		} else {
			out, _ = conv.Convert(in)
		}
		calls++
		if elapsed = time.Since(start); elapsed.Seconds()*1e3 >= minMS {
			break
		}
	}
	fmt.Printf("cpu_ns_per_op %.0f wall_ns_per_op %.0f calls %d bytes_out %d\n",
		(cpuNS()-c0)/float64(calls), float64(elapsed.Nanoseconds())/float64(calls), calls, len(out))
}
