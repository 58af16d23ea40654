# SPDX-License-Identifier: MIT
# make examples: the programs under examples/, built into build/examples/.

EXAMPLES := $(BUILD)/examples/minimal

.PHONY: examples

examples: $(EXAMPLES)

$(BUILD)/examples/minimal: examples/minimal.c profile2metrics.h
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c99 $(CFLAGS) $(WARN) -Werror -I. -o $@ examples/minimal.c
