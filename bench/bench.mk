# SPDX-License-Identifier: MIT
# make bench: profile2metrics against protobuf-c, nanopb, Google protobuf C++
# (arena) and a protozero full walk; method in docs/performance.md.
# Everything lands in build/bench/ (peer code generated from proto/, never
# committed); the figures in build/bench.json. Not part of `make test`
# (tests/suite-bench.sh only checks that the bench builds and runs).

BENCH_DIR   := $(BUILD)/bench
BENCH_GEN   := $(BENCH_DIR)/gen
CXX         ?= c++
# x86-64-v3, not -march=native: valgrind (callgrind) must run the same code.
BENCH_ARCH  ?= -march=x86-64-v3
BENCH_OPT   := -O2 -g $(BENCH_ARCH)
# nanopb and protoc --cpp_out both write profiles_v1_10.pb.h: C sees the
# protobuf-c and nanopb headers, C++ only its own.
# BENCH_HDR: where profile2metrics.h is taken from (default: the tree), e.g.
# a snapshot of one commit for a documented run.
BENCH_HDR   ?= .
# The header's directory is a system directory here: its warnings are the
# compile tests' business, and a header mid-edit must not stop a benchmark.
BENCH_INC   := -isystem $(BENCH_HDR) -Ibench -isystem $(BENCH_GEN)/pbc -isystem $(BENCH_GEN)/npb
BENCH_INCXX := -isystem $(BENCH_HDR) -Ibench -isystem $(BENCH_GEN)/cpp
BENCH_CF    := -std=c99 $(BENCH_OPT) $(WARN) -Werror $(BENCH_INC) -DPB_ENABLE_MALLOC=1
BENCH_CXXF  := -std=c++17 $(BENCH_OPT) -DNDEBUG -Wall -Wextra -Werror $(BENCH_INCXX)
BENCH_LIBS  := -lprotobuf-c -lprotobuf-nanopb -lprotobuf -lpthread
BENCH_REAL  ?= tests/data/real
BENCH_ROUNDS ?= 7
BENCH_MIN_MS ?= 40
# Deterministic workloads (generator seeds) and the real captures
# (tests/data/real; a missing one stops `make bench` with make's "No rule to
# make target" naming it).
BENCH_SEED  := 1
BENCH_SHAPES := small typical huge
BENCH_REAL_FILES := $(BENCH_REAL)/sig-profiling-profile.otlp $(BENCH_REAL)/sig-profiling-k8s.otlp
BENCH_WL    := $(foreach s,$(BENCH_SHAPES),$(s)=$(BENCH_DIR)/$(s).otlp)
BENCH_WL    += real-profile=$(BENCH_REAL)/sig-profiling-profile.otlp:v1.8
BENCH_WL    += real-k8s=$(BENCH_REAL)/sig-profiling-k8s.otlp:stream:v1.8
# typical with a profile.frame.type on every location, as the eBPF profiler
# writes them (typical types every fifth): the frame scenario's other case.
# The other workloads' bytes do not change.
BENCH_WL    += typical-frames=$(BENCH_DIR)/typical-frames.otlp
# pprof (issue 17): a large Go-shaped CPU profile and heap profile
# (tools/gen_pprof.py), converted by p2m_pprof_convert against the
# protozero walk of the pprof schema.
BENCH_PPROF := go-cpu go-heap
BENCH_WL    += $(foreach p,$(BENCH_PPROF),$(p)=$(BENCH_DIR)/$(p).pprof:pprof)

# Issue 20's workload families (docs/performance.md, "Workload families"):
# each NAME below is made by tools/gen_profiles.py with BENCH_GEN_NAME (plus
# --layout v1.10 --seed $(BENCH_SEED)); a :stream one is converted request by
# request, as an agent's requests arrive. requests: agent-sized requests
# shaped like tests/data/real (about 8, 25 and 115 KB each, about 230 KB a
# workload); shared: the same sizes, samples sharing stacks and differing in
# thread attributes; hicard: the high-cardinality window at three sizes;
# cardinality: hicard's size at four thread counts (about 200 to 7 900
# series); window: the typical shape at three scales.
BENCH_GEN_req-8k       := --shape request --scale 0.33 --stream 30
BENCH_GEN_req-25k      := --shape request --scale 1 --stream 10
BENCH_GEN_req-115k     := --shape request --scale 4.6 --stream 2
BENCH_GEN_shared-8k    := --shape shared --scale 0.33 --stream 30
BENCH_GEN_shared-25k   := --shape shared --scale 1 --stream 10
BENCH_GEN_shared-115k  := --shape shared --scale 4.2 --stream 2
BENCH_GEN_hicard-s0.25 := --shape hicard --scale 0.25
BENCH_GEN_hicard-s0.5  := --shape hicard --scale 0.5
BENCH_GEN_hicard       := --shape hicard --scale 1
BENCH_GEN_hicard-t5    := --shape hicard --scale 1 --threads 5
BENCH_GEN_hicard-t25   := --shape hicard --scale 1 --threads 25
BENCH_GEN_hicard-tmax  := --shape hicard --scale 1 --threads 100000
BENCH_GEN_typical-s0.25 := --shape typical --scale 0.25
BENCH_GEN_typical-s4   := --shape typical --scale 4
BENCH_FAM_STREAM := req-8k req-25k req-115k shared-8k shared-25k shared-115k
BENCH_FAM_ONE    := hicard-s0.25 hicard-s0.5 hicard hicard-t5 hicard-t25 hicard-tmax \
                    typical-s0.25 typical-s4
BENCH_WL    += $(foreach w,$(BENCH_FAM_STREAM),$(w)=$(BENCH_DIR)/$(w).otlp:stream)
BENCH_WL    += $(foreach w,$(BENCH_FAM_ONE),$(w)=$(BENCH_DIR)/$(w).otlp)
BENCH_FAM_FILES := $(foreach w,$(BENCH_FAM_STREAM) $(BENCH_FAM_ONE),$(BENCH_DIR)/$(w).otlp)
# The families, smallest member first (the flatness targets compare the
# first with the last); bench/report.py evaluates issue 20's targets on each.
BENCH_FAMILIES := requests=req-8k,req-25k,req-115k shared=shared-8k,shared-25k,shared-115k \
    hicard=hicard-s0.25,hicard-s0.5,hicard cardinality=hicard-t5,hicard-t25,hicard,hicard-tmax \
    window=typical-s0.25,typical,typical-s4 real=real-profile,real-k8s

PROTOS_PEER := proto/profiles_v1_10.proto proto/profiles_v1_8.proto
BENCH_PBC_C := $(BENCH_GEN)/pbc/profiles_v1_10.pb-c.c $(BENCH_GEN)/pbc/profiles_v1_8.pb-c.c
BENCH_NPB_C := $(BENCH_GEN)/npb/profiles_v1_10.pb.c $(BENCH_GEN)/npb/profiles_v1_8.pb.c
BENCH_CPP_C := $(BENCH_GEN)/cpp/profiles_v1_10.pb.cc $(BENCH_GEN)/cpp/profiles_v1_8.pb.cc
BENCH_OBJ   := $(BENCH_DIR)/bench.o $(BENCH_DIR)/agg.o $(BENCH_DIR)/p2m_side.o $(BENCH_DIR)/malloc_count.o \
               $(BENCH_DIR)/peer_pbc.o $(BENCH_DIR)/peer_npb.o $(BENCH_DIR)/peer_cpp.o $(BENCH_DIR)/peer_pz.o \
               $(BENCH_DIR)/gen/pbc_v1_10.o $(BENCH_DIR)/gen/pbc_v1_8.o \
               $(BENCH_DIR)/gen/npb_v1_10.o $(BENCH_DIR)/gen/npb_v1_8.o \
               $(BENCH_DIR)/gen/cpp_v1_10.o $(BENCH_DIR)/gen/cpp_v1_8.o

.PHONY: bench bench-bin bench-workloads bench-smoke bench-force bench-doc

# Copies the table of the last `make bench` into docs/performance.md
# (between its bench-table markers); the prose around it is written by hand.
bench-doc: $(BENCH_DIR)/table.md
	awk -v t=$(BENCH_DIR)/table.md '/<!-- bench-table:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next } \
	    /<!-- bench-table:end -->/ { skip = 0 } !skip' docs/performance.md > $(BENCH_DIR)/performance.md.tmp
	mv $(BENCH_DIR)/performance.md.tmp docs/performance.md

# Changes whenever the header's content (or BENCH_HDR) changes: objects that
# compile the header depend on it, not on a path make cannot compare.
$(BENCH_DIR)/header.sha: bench-force
	@mkdir -p $(@D)
	@h=$$(sha1sum < $(BENCH_HDR)/profile2metrics.h | cut -c1-40); \
	    [ "$$(cat $@ 2>/dev/null)" = "$$h" ] || echo "$$h" > $@

bench: deps bench-bin bench-workloads
	sh bench/instr.sh $(BENCH_DIR)/p2m_iter $(BENCH_DIR) $(BENCH_WL)
	$(BENCH_DIR)/bench --rounds $(BENCH_ROUNDS) --min-ms $(BENCH_MIN_MS) --instr $(BENCH_DIR)/instr.txt \
	    --header-id $$(cut -c1-12 $(BENCH_DIR)/header.sha) --json $(BUILD)/bench.json --md $(BENCH_DIR)/table.md $(BENCH_WL)
	/usr/bin/python3 bench/report.py --json $(BUILD)/bench.json --dir $(BENCH_DIR) \
	    --header $(BENCH_HDR)/profile2metrics.h --md $(BENCH_DIR)/table.md $(BENCH_FAMILIES)
	@echo "bench: wrote $(BUILD)/bench.json, $(BENCH_DIR)/table.md, $(BENCH_DIR)/annotate-*.txt"

bench-bin: $(BENCH_DIR)/bench $(BENCH_DIR)/p2m_iter $(BENCH_DIR)/header.sha

bench-workloads: $(foreach s,$(BENCH_SHAPES),$(BENCH_DIR)/$(s).otlp) $(BENCH_REAL_FILES) \
    $(BENCH_DIR)/typical-frames.otlp $(foreach p,$(BENCH_PPROF),$(BENCH_DIR)/$(p).pprof) \
    $(BENCH_FAM_FILES)

# One very short round on the small workload and the pprof heap profile,
# the small workload's instructions counted, and the families' report over
# it (tests/suite-bench.sh).
bench-smoke: bench-bin $(BENCH_DIR)/small.otlp $(BENCH_DIR)/go-heap.pprof
	sh bench/instr.sh $(BENCH_DIR)/p2m_iter $(BENCH_DIR)/smoke small=$(BENCH_DIR)/small.otlp \
	    > $(BENCH_DIR)/smoke-instr.log
	$(BENCH_DIR)/bench --rounds 1 --min-ms 1 --instr $(BENCH_DIR)/smoke/instr.txt \
	    --json $(BENCH_DIR)/smoke.json small=$(BENCH_DIR)/small.otlp \
	    go-heap=$(BENCH_DIR)/go-heap.pprof:pprof
	/usr/bin/python3 bench/report.py --json $(BENCH_DIR)/smoke.json --dir $(BENCH_DIR)/smoke \
	    --header $(BENCH_HDR)/profile2metrics.h smoke=small

$(BENCH_DIR)/typical-frames.otlp: tools/gen_profiles.py $(wildcard proto/*.proto)
	@mkdir -p $(BENCH_DIR)
	/usr/bin/python3 tools/gen_profiles.py --shape typical --frame-types all --layout v1.10 \
	    --seed $(BENCH_SEED) -o $@.tmp
	mv $@.tmp $@

$(BENCH_FAM_FILES): $(BENCH_DIR)/%.otlp: tools/gen_profiles.py $(wildcard proto/*.proto)
	@mkdir -p $(BENCH_DIR)
	/usr/bin/python3 tools/gen_profiles.py $(BENCH_GEN_$*) --layout v1.10 --seed $(BENCH_SEED) \
	    -o $@.tmp
	mv $@.tmp $@

$(BENCH_DIR)/%.pprof: tools/gen_pprof.py
	@mkdir -p $(BENCH_DIR)
	/usr/bin/python3 tools/gen_pprof.py --shape $* --seed $(BENCH_SEED) -o $@.tmp
	mv $@.tmp $@

$(BENCH_DIR)/%.otlp: tools/gen_profiles.py $(wildcard proto/*.proto)
	@mkdir -p $(BENCH_DIR)
	/usr/bin/python3 tools/gen_profiles.py --shape $* --layout v1.10 --seed $(BENCH_SEED) -o $@.tmp
	mv $@.tmp $@

# ---- peer code, generated from proto/ ----
$(BENCH_GEN)/pbc/.done: $(PROTOS_PEER)
	@mkdir -p $(@D)
	protoc-c -Iproto --c_out=$(@D) $(PROTOS_PEER)
	touch $@
$(BENCH_GEN)/npb/.done: $(PROTOS_PEER) bench/nanopb.options
	@mkdir -p $(@D)
	nanopb_generator.py -q -f bench/nanopb.options -I proto -D $(@D) $(PROTOS_PEER)
	touch $@
$(BENCH_GEN)/cpp/.done: $(PROTOS_PEER)
	@mkdir -p $(@D)
	protoc -Iproto --cpp_out=$(@D) $(PROTOS_PEER)
	touch $@
$(BENCH_PBC_C): $(BENCH_GEN)/pbc/.done
$(BENCH_NPB_C): $(BENCH_GEN)/npb/.done
$(BENCH_CPP_C): $(BENCH_GEN)/cpp/.done

# Generated code is not ours: built without our warning set.
$(BENCH_DIR)/gen/pbc_%.o: $(BENCH_GEN)/pbc/.done
	$(CC) -std=c99 $(BENCH_OPT) $(BENCH_INC) -c -o $@ $(BENCH_GEN)/pbc/profiles_$*.pb-c.c
$(BENCH_DIR)/gen/npb_%.o: $(BENCH_GEN)/npb/.done
	$(CC) -std=c99 $(BENCH_OPT) $(BENCH_INC) -DPB_ENABLE_MALLOC=1 -c -o $@ $(BENCH_GEN)/npb/profiles_$*.pb.c
$(BENCH_DIR)/gen/cpp_%.o: $(BENCH_GEN)/cpp/.done
	$(CXX) -std=c++17 $(BENCH_OPT) -DNDEBUG $(BENCH_INCXX) -c -o $@ $(BENCH_GEN)/cpp/profiles_$*.pb.cc

# ---- our objects ----
$(BENCH_DIR)/p2m_side.o: bench/p2m_side.c bench/p2m_side.h $(BENCH_DIR)/header.sha
	@mkdir -p $(@D)
	$(CC) $(BENCH_CF) -c -o $@ $<
$(BENCH_DIR)/bench.o $(BENCH_DIR)/p2m_iter.o $(BENCH_DIR)/agg.o $(BENCH_DIR)/malloc_count.o: \
    $(BENCH_DIR)/%.o: bench/%.c bench/bench.h bench/p2m_side.h $(BENCH_DIR)/header.sha
	@mkdir -p $(@D)
	$(CC) $(BENCH_CF) -c -o $@ $<
$(BENCH_DIR)/peer_pbc.o: bench/peer_pbc.c bench/peer_pbc.inc bench/bench.h $(BENCH_GEN)/pbc/.done
	$(CC) $(BENCH_CF) -c -o $@ $<
$(BENCH_DIR)/peer_npb.o: bench/peer_npb.c bench/peer_npb.inc bench/bench.h $(BENCH_GEN)/npb/.done
	$(CC) $(BENCH_CF) -c -o $@ $<
$(BENCH_DIR)/peer_cpp.o: bench/peer_cpp.cc bench/bench.h $(BENCH_GEN)/cpp/.done
	$(CXX) $(BENCH_CXXF) -c -o $@ $<
$(BENCH_DIR)/peer_pz.o: bench/peer_pz.cc bench/bench.h
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXF) -c -o $@ $<

$(BENCH_DIR)/bench: $(BENCH_OBJ)
	$(CXX) $(BENCH_OPT) -o $@ $(BENCH_OBJ) $(BENCH_LIBS)
$(BENCH_DIR)/p2m_iter: $(BENCH_DIR)/p2m_iter.o $(BENCH_DIR)/p2m_side.o $(BENCH_DIR)/malloc_count.o \
                       $(BENCH_DIR)/peer_pz.o $(BENCH_DIR)/peer_pbc.o $(BENCH_DIR)/peer_cpp.o \
                       $(BENCH_DIR)/agg.o \
                       $(BENCH_DIR)/gen/pbc_v1_10.o $(BENCH_DIR)/gen/pbc_v1_8.o \
                       $(BENCH_DIR)/gen/cpp_v1_10.o $(BENCH_DIR)/gen/cpp_v1_8.o
	$(CXX) $(BENCH_OPT) -o $@ $^ -lprotobuf-c -lprotobuf -lpthread

# ---- bindings (issue 18): bench/bindings.sh ---------------------------------
# make bench-bindings: the typical workload through the C call, the Go
# binding and the Rust crate; medians and ratios to C, build/bench-bindings.json.
# Part of make bench; not a timed test.
BENCH_BIND_ROUNDS ?= 7
BENCH_BIND_MIN_MS ?= 200
.PHONY: bench-bindings
bench-bindings: $(BENCH_DIR)/typical.otlp
	sh bench/bindings.sh $(BENCH_DIR)/typical.otlp $(BENCH_BIND_ROUNDS) $(BENCH_BIND_MIN_MS)
bench: bench-bindings
# ---- end of bindings ----------------------------------------------------------
# ---- p2m serve (issue 19): bench/serve.sh, h2load over loopback ----------------
.PHONY: bench-serve
bench-serve: $(BUILD)/p2m
	sh bench/serve.sh
bench: bench-serve
# ---- end of p2m serve -----------------------------------------------------------
