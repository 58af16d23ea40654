// SPDX-License-Identifier: MIT

// Command gen writes two real Go profiles for tests/suite-pprof-go.sh:
// cpu.pb.gz, a CPU profile of busy goroutines labelled with pprof.Do
// (worker=a/b/c, kind=hash/sort), and heap.pb.gz, a heap profile taken
// after allocations, with runtime.MemProfileRate low so that its totals
// are far from zero. Both are gzip-compressed, as runtime/pprof writes them.
// Standard library only: it builds offline.
//
//	gen [-cpu DURATION] [-memrate N] OUTDIR
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"time"
)

// sink keeps the busy loops' results alive, so the compiler cannot drop them.
var sink uint64

// hashWork hashes a buffer again and again until the deadline.
func hashWork(deadline time.Time) uint64 {
	var sum [32]byte
	n := uint64(0)
	for time.Now().Before(deadline) {
		for i := 0; i < 200; i++ {
			sum = sha256.Sum256(sum[:])
		}
		n += uint64(sum[0])
	}
	return n
}

// sortWork sorts a shuffled slice again and again until the deadline.
func sortWork(deadline time.Time) uint64 {
	xs := make([]int, 4096)
	n := uint64(0)
	seed := uint32(1)
	for time.Now().Before(deadline) {
		for i := range xs {
			seed = seed*1664525 + 1013904223
			xs[i] = int(seed >> 8)
		}
		sort.Ints(xs)
		n += uint64(xs[0])
	}
	return n
}

// busy runs three labelled workers at once for d: a and c hash, b sorts;
// a runs the whole time, b two thirds of it, c one third, so the three
// workers' CPU times differ.
func busy(d time.Duration) {
	start := time.Now()
	type worker struct {
		name, kind string
		share      int // thirds of d
	}
	workers := []worker{{"a", "hash", 3}, {"b", "sort", 2}, {"c", "hash", 1}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, w := range workers {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := start.Add(d * time.Duration(w.share) / 3)
			labels := pprof.Labels("worker", w.name, "kind", w.kind)
			pprof.Do(context.Background(), labels, func(context.Context) {
				var n uint64
				if w.kind == "hash" {
					n = hashWork(deadline)
				} else {
					n = sortWork(deadline)
				}
				mu.Lock()
				sink += n
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
}

// retained holds what the heap profile shows in use.
var retained [][]byte

// allocate makes allocations of a few sizes; every fourth one is kept, the
// rest become garbage, so inuse_space is a part of alloc_space.
func allocate() {
	sizes := []int{64, 1024, 16 << 10, 256 << 10}
	for round := 0; round < 200; round++ {
		for _, sz := range sizes {
			b := make([]byte, sz)
			b[0] = byte(round)
			if round%4 == 0 {
				retained = append(retained, b)
			}
		}
	}
}

func write(path string, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(out string, cpu time.Duration) error {
	f, err := os.Create(filepath.Join(out, "cpu.pb.gz"))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	busy(cpu)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return err
	}

	allocate()
	// The heap profile shows the state as of the last completed collection.
	runtime.GC()
	if err := write(filepath.Join(out, "heap.pb.gz"), "heap"); err != nil {
		return err
	}
	runtime.KeepAlive(retained)
	return nil
}

func main() {
	cpu := flag.Duration("cpu", 3*time.Second, "how long the labelled workers run")
	memrate := flag.Int("memrate", 512, "runtime.MemProfileRate: one sample per this many bytes")
	flag.Parse()
	runtime.MemProfileRate = *memrate
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [-cpu DURATION] [-memrate N] OUTDIR")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *cpu); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
