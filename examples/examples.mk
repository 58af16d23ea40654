# SPDX-License-Identifier: MIT
# make examples: the programs under examples/, built into build/examples/.

EXAMPLES := $(BUILD)/examples/minimal

.PHONY: examples

examples: $(EXAMPLES)

$(BUILD)/examples/minimal: examples/minimal.c profile2metrics.h
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c99 $(CFLAGS) $(WARN) -Werror -I. -o $@ examples/minimal.c

# ---- firmware (issue 7): examples/firmware/, build/firmware/ ----------------
# make firmware       the Cortex-M4 image (QEMU mps2-an386) and its host twin
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
FW_QEMU     := qemu-system-arm -M mps2-an386 -display none -monitor none -serial none
FW_TIMEOUT  ?= 60

.PHONY: firmware test-firmware firmware-size

firmware: $(FW_DIR)/fw.elf $(FW_DIR)/fw-host

$(FW_DIR)/gen/requests.h: $(FW_SRC)/gen_requests.py tools/gen_profiles.py $(wildcard proto/*.proto)
	@mkdir -p $(FW_DIR)/gen
	/usr/bin/python3 $(FW_SRC)/gen_requests.py $(FW_DIR)/gen

# -fstack-usage and -fcallgraph-info=su leave app.su/app.ci beside the object
# for the stack bound (stack_bound.py).
$(FW_DIR)/app.o: $(FW_SRC)/app.c $(FW_SRC)/fw.h profile2metrics.h $(FW_DIR)/gen/requests.h
	$(FW_CC) $(FW_CFLAGS) $(FW_INC) -fstack-usage -fcallgraph-info=su -c $< -o $@

$(FW_DIR)/target.o: $(FW_SRC)/target.c $(FW_SRC)/fw.h
	@mkdir -p $(FW_DIR)
	$(FW_CC) $(FW_CFLAGS) $(FW_INC) -fstack-usage -fcallgraph-info=su -c $< -o $@

$(FW_DIR)/fw.elf: $(FW_DIR)/app.o $(FW_DIR)/target.o $(FW_SRC)/fw.ld
	$(FW_CC) $(FW_LDFLAGS) -o $@ $(FW_DIR)/app.o $(FW_DIR)/target.o
	arm-none-eabi-size $@

# The same program logic for the host, for the byte-for-byte comparison.
$(FW_DIR)/fw-host: $(FW_SRC)/app.c $(FW_SRC)/host.c $(FW_SRC)/fw.h profile2metrics.h \
                   $(FW_DIR)/gen/requests.h
	$(CC) -std=c99 -O2 -g $(WARN) -Werror $(FW_INC) -o $@ $(FW_SRC)/app.c $(FW_SRC)/host.c

$(FW_DIR)/run.out: $(FW_DIR)/fw.elf
	rm -f $@.tmp
	timeout $(FW_TIMEOUT) $(FW_QEMU) -chardev file,id=semi,path=$@.tmp \
	    -semihosting-config enable=on,target=native,chardev=semi -kernel $<
	mv $@.tmp $@

$(FW_DIR)/stack.json: $(FW_DIR)/fw.elf $(FW_SRC)/stack_bound.py
	/usr/bin/python3 $(FW_SRC)/stack_bound.py --elf $< --indirect fw_symbolize \
	    --root p2m_engine_compile --root p2m_work_size --root p2m_convert \
	    --root fw_main --root Reset_Handler --json $@ $(FW_DIR)/app.ci $(FW_DIR)/target.ci

test-firmware:
	sh tests/suite-firmware.sh

firmware-size: $(FW_DIR)/run.out $(FW_DIR)/stack.json
	/usr/bin/python3 $(FW_SRC)/size_report.py --cc $(FW_CC) --out $(FW_DIR)/size \
	    --json $(BUILD)/firmware-size.json --run $(FW_DIR)/run.out --fw-stack $(FW_DIR)/stack.json
# ---- end firmware -------------------------------------------------------------
