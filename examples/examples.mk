# SPDX-License-Identifier: MIT
# make examples: the programs under examples/, built into build/examples/.

EXAMPLES := $(BUILD)/examples/minimal

.PHONY: examples

examples: $(EXAMPLES)

$(BUILD)/examples/minimal: examples/minimal.c profile2metrics.h
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c99 $(CFLAGS) $(WARN) -Werror -I. -o $@ examples/minimal.c

# ---- firmware (issues 7, 21): examples/firmware/, build/firmware/ ------------
# make firmware       the Cortex-M4 image (QEMU mps2-an386), its host twin and
#                     the host stream test (nanopb)
# make test-firmware  tests/suite-firmware.sh: QEMU run vs host, decoded values
# make firmware-size  flash/RAM/stack report, writes build/firmware-size.json
FW_DIR      := $(BUILD)/firmware
FW_SRC      := examples/firmware
FW_CC       ?= arm-none-eabi-gcc
FW_ARCH     := -mcpu=cortex-m4 -mthumb
FW_CFLAGS   := -std=c99 -Os -g -ffreestanding $(FW_ARCH) -ffunction-sections -fdata-sections \
               $(WARN) -Werror
FW_LDFLAGS  := $(FW_ARCH) --specs=nano.specs -nostartfiles -Wl,--gc-sections \
               -T $(FW_SRC)/fw.ld -Wl,-Map=$(FW_DIR)/fw.map
FW_INC      := -I. -I$(FW_SRC) -I$(FW_DIR)/gen
# Debian's nanopb headers (libnanopb-dev), copied beside the build so that
# the cross compiler sees them and none of the host's other headers.
FW_NPB_INC  := $(FW_DIR)/nanopb
FW_NPB_HDRS := $(FW_NPB_INC)/pb.h $(FW_NPB_INC)/pb_encode.h
FW_LIB_HDRS := $(FW_SRC)/p2m_nanopb.h $(FW_SRC)/fw_symbolize.h profile2metrics.h \
               $(FW_DIR)/gen/requests.h
FW_HDRS     := $(FW_SRC)/fw.h $(FW_LIB_HDRS) $(FW_DIR)/gen/engines.h
FW_QEMU     := qemu-system-arm -M mps2-an386 -display none -monitor none -serial none
FW_TIMEOUT  ?= 60

.PHONY: firmware test-firmware firmware-size

firmware: $(FW_DIR)/fw.elf $(FW_DIR)/fw-host $(FW_DIR)/stream-test $(FW_DIR)/stream-test-16

FW_REQ_DEPS := $(FW_SRC)/gen_requests.py tools/gen_profiles.py $(wildcard proto/*.proto) \
               examples/demo.otlp tests/data/real/sig-profiling-profile.otlp
$(FW_DIR)/gen/requests.h: $(FW_REQ_DEPS)
	@mkdir -p $(FW_DIR)/gen
	/usr/bin/python3 $(FW_SRC)/gen_requests.py $(FW_DIR)/gen

# The engines, compiled on the host into images (the firmware has no
# configuration compiler: P2M_NO_COMPILE).
$(FW_DIR)/mkimage: $(FW_SRC)/mkimage.c $(FW_SRC)/fw_configs.h profile2metrics.h
	@mkdir -p $(FW_DIR)
	$(CC) -std=c99 -O1 $(WARN) -Werror -I. -I$(FW_SRC) -o $@ $<

$(FW_DIR)/gen/engines.h: $(FW_DIR)/mkimage
	@mkdir -p $(FW_DIR)/gen
	$(FW_DIR)/mkimage $@

$(FW_NPB_HDRS):
	@test -f /usr/include/$(@F) || { echo "firmware: /usr/include/$(@F) missing:" \
	    "install libnanopb-dev (sh tools/install-deps.sh)" >&2; exit 2; }
	@mkdir -p $(@D)
	cp /usr/include/$(@F) $@

# -fstack-usage and -fcallgraph-info=su leave app.su/app.ci beside the object
# for the stack bound (stack_bound.py).
$(FW_DIR)/app.o: $(FW_SRC)/app.c $(FW_HDRS) $(FW_NPB_HDRS)
	$(FW_CC) $(FW_CFLAGS) $(FW_INC) -isystem $(FW_NPB_INC) -fstack-usage -fcallgraph-info=su \
	    -c $< -o $@

$(FW_DIR)/pb_write.o: $(FW_SRC)/pb_write.c $(FW_NPB_HDRS)
	$(FW_CC) $(FW_CFLAGS) -isystem $(FW_NPB_INC) -fstack-usage -fcallgraph-info=su -c $< -o $@

$(FW_DIR)/target.o: $(FW_SRC)/target.c $(FW_SRC)/fw.h
	@mkdir -p $(FW_DIR)
	$(FW_CC) $(FW_CFLAGS) $(FW_INC) -fstack-usage -fcallgraph-info=su -c $< -o $@

$(FW_DIR)/fw.elf: $(FW_DIR)/app.o $(FW_DIR)/pb_write.o $(FW_DIR)/target.o $(FW_SRC)/fw.ld
	$(FW_CC) $(FW_LDFLAGS) -o $@ $(FW_DIR)/app.o $(FW_DIR)/pb_write.o $(FW_DIR)/target.o
	arm-none-eabi-size $@

# The same program logic for the host, for the byte-for-byte comparison,
# with Debian's nanopb library.
$(FW_DIR)/fw-host: $(FW_SRC)/app.c $(FW_SRC)/host.c $(FW_HDRS)
	$(CC) -std=c99 -O2 -g $(WARN) -Werror $(FW_INC) -o $@ $(FW_SRC)/app.c $(FW_SRC)/host.c \
	    -lprotobuf-nanopb

# The host stream test: nanopb-generated decoder of proto/metrics.proto
# (pointer mode, PB_ENABLE_MALLOC as Debian's library is built), with the
# default stream buffer and with the smallest one.
FW_NPB_GEN  := $(FW_DIR)/npb
$(FW_NPB_GEN)/metrics.pb.c: proto/metrics.proto $(FW_SRC)/metrics.options
	@mkdir -p $(@D)
	nanopb_generator.py -q -f $(FW_SRC)/metrics.options -I proto -D $(@D) proto/metrics.proto

$(FW_NPB_GEN)/metrics.pb.o: $(FW_NPB_GEN)/metrics.pb.c
	$(CC) -std=c99 -O1 -DPB_ENABLE_MALLOC=1 -c -o $@ $<

FW_ST_DEPS  := $(FW_SRC)/stream_test.c $(FW_SRC)/fw_configs.h $(FW_LIB_HDRS) \
               $(FW_NPB_GEN)/metrics.pb.o
FW_ST_CC     = $(CC) -std=c99 -O1 -g $(WARN) -Werror -DPB_ENABLE_MALLOC=1 $(FW_INC) \
               -isystem $(FW_NPB_GEN)
$(FW_DIR)/stream-test: $(FW_ST_DEPS)
	$(FW_ST_CC) -o $@ $(FW_SRC)/stream_test.c $(FW_NPB_GEN)/metrics.pb.o -lprotobuf-nanopb
$(FW_DIR)/stream-test-16: $(FW_ST_DEPS)
	$(FW_ST_CC) -DP2M_STREAM_BUFFER=16 -o $@ $(FW_SRC)/stream_test.c $(FW_NPB_GEN)/metrics.pb.o \
	    -lprotobuf-nanopb

$(FW_DIR)/run.out: $(FW_DIR)/fw.elf
	rm -f $@.tmp
	timeout $(FW_TIMEOUT) $(FW_QEMU) -chardev file,id=semi,path=$@.tmp \
	    -semihosting-config enable=on,target=native,chardev=semi -kernel $<
	mv $@.tmp $@

# Calls through pointers: the library's reach the symboliser and the nanopb
# adapter; nanopb's pb_write reaches the stream's callback only.
$(FW_DIR)/stack.json: $(FW_DIR)/fw.elf $(FW_SRC)/stack_bound.py
	/usr/bin/python3 $(FW_SRC)/stack_bound.py --elf $< \
	    --indirect fw_symbolize --indirect p2m_nanopb_write --indirect pb_write=fw_stream_out \
	    --root p2m_nanopb_write \
	    --root p2m_engine_load --root p2m_work_size --root p2m_convert \
	    --root p2m_convert_stream --root p2m_encode_otlp_stream \
	    --root fw_main --root Reset_Handler --json $@ \
	    $(FW_DIR)/app.ci $(FW_DIR)/pb_write.ci $(FW_DIR)/target.ci

test-firmware:
	sh tests/suite-firmware.sh

firmware-size: $(FW_DIR)/run.out $(FW_DIR)/stack.json
	/usr/bin/python3 $(FW_SRC)/size_report.py --cc $(FW_CC) --out $(FW_DIR)/size \
	    --json $(BUILD)/firmware-size.json --run $(FW_DIR)/run.out --fw-stack $(FW_DIR)/stack.json
# ---- end firmware -------------------------------------------------------------
