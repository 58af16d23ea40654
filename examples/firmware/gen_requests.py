#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Build-time inputs of the firmware example (run with /usr/bin/python3).

Writes into OUTDIR:
  small.otlp     the eBPF-shaped small request (tools/gen_profiles.py
                 --shape small --layout v1.10, seed 1)
  firmware.otlp  a firmware-shaped request: one RTOS image, unsymbolised
                 locations (address + mapping, no Line), cpu samples taken
                 by a 1 kHz timer interrupt, tasks as thread names
  symbols.json   the symbol table the firmware's symboliser holds (address
                 ranges -> names) and the build id it expects
  requests.h     all of the above as const arrays for the firmware's flash,
                 and two of the repository's inputs (examples/demo.otlp and
                 tests/data/real/sig-profiling-profile.otlp) for the
                 firmware's RAM-per-request measurement

The program (examples/firmware/app.c) includes requests.h; the test
(tests/fw_check.py) reads the .otlp files and symbols.json to compute what
the metrics must say, independently of the C code.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gen_profiles as gp  # noqa: E402

# The image: flash at 0x08000000 as on most Cortex-M parts.
IMAGE = "/build/sensor-node/firmware.elf"
BUILD_ID = "5e1f0c2a9b7d4e3f8a6c1b0d2e4f6a8c"
FLASH_START = 0x08000000
FLASH_LIMIT = 0x08040000
# (start, end, name): what the linker map of the image says, sorted.
SYMBOLS = [
    (0x08000400, 0x08000520, "Reset_Handler"),
    (0x08000520, 0x080008f0, "SysTick_Handler"),
    (0x080008f0, 0x08001200, "vTaskSwitchContext"),
    (0x08001200, 0x08001a40, "xQueueReceive"),
    (0x08001a40, 0x08002000, "prvIdleTask"),
    (0x08002000, 0x08002c80, "sensor_task"),
    (0x08002c80, 0x08003100, "bme280_read"),
    (0x08003100, 0x08003400, "i2c_transfer"),
    (0x08003400, 0x08003f00, "radio_task"),
    (0x08003f00, 0x08004800, "lora_send"),
    (0x08004800, 0x08004c00, "spi_write"),
    (0x08004c00, 0x08005600, "aes128_encrypt"),
    (0x08005600, 0x08005a00, "crc16_ccitt"),
    (0x08005a00, 0x08006000, "__WFI_sleep"),
]
NOW = gp.BASE_TIME + 3600 * 1_000_000_000  # the caller's clock for both runs
PERIOD_NS = 1_000_000                       # 1 kHz sampling timer


def firmware_request():
    """The firmware-shaped request as bytes (layout v1.10)."""
    b = gp.Builder("v1.10")
    img = b.mapping(IMAGE, FLASH_START, FLASH_LIMIT, 0)
    b.d.mapping_table[img].attribute_indices.append(
        b.attr("process.executable.build_id.gnu", BUILD_ID))
    by_name = {name: (lo, hi) for lo, hi, name in SYMBOLS}

    def loc(name, off, mapping=img):
        lo, hi = by_name[name]
        assert lo + off < hi
        return b.location((), mapping, lo + off)

    # Frames: innermost first. Two locations point into one function at
    # different addresses (both must give the same name), one address lies
    # outside every symbol (the symboliser says nothing: mapping base name),
    # one location has no mapping at all (still symbolised by address).
    stacks = {
        "idle": b.stack([loc("__WFI_sleep", 0x10), loc("prvIdleTask", 0x24)]),
        "sensor_i2c": b.stack([loc("i2c_transfer", 0x40), loc("bme280_read", 0x1c),
                               loc("sensor_task", 0x88)]),
        "sensor_i2c2": b.stack([loc("i2c_transfer", 0x1f2), loc("bme280_read", 0x1c),
                                loc("sensor_task", 0x88)]),
        "sensor_crc": b.stack([loc("crc16_ccitt", 0x30), loc("sensor_task", 0x100)]),
        "radio_aes": b.stack([loc("aes128_encrypt", 0x2e0), loc("lora_send", 0x60),
                              loc("radio_task", 0x44)]),
        "radio_spi": b.stack([loc("spi_write", 0x12), loc("lora_send", 0x90),
                              loc("radio_task", 0x44)]),
        "radio_queue": b.stack([loc("xQueueReceive", 0x200), loc("radio_task", 0x20)]),
        "outside": b.stack([b.location((), img, 0x0803f000), loc("sensor_task", 0x88)]),
        "nomap": b.stack([loc("SysTick_Handler", 0x08, mapping=0)]),
        "switch": b.stack([loc("vTaskSwitchContext", 0x50), loc("SysTick_Handler", 0x30)]),
    }
    # Nested values (an array, a key-value list inside a key-value list)
    # exercise the encoder's explicit stacks on the target.
    rp = b.resource([("service.name", "sensor-node"), ("host.name", "node-0042"),
                     ("process.executable.name", "firmware.elf"),
                     ("device.sensors", ["bme280", "sx1276"]),
                     ("device.config", {"rate_hz": 1000, "radio": {"sf": 7, "bw_khz": 125}})])
    sp = b.scope(rp, name="example.com/mcu-sampler", version="1.0.0")
    t0 = gp.BASE_TIME + 1800 * 1_000_000_000
    prof = b.cpu_profile(sp, time=t0, duration=10_000_000_000, period_ns=PERIOD_NS)
    # (task, stack, samples): values are sample counts of the 1 kHz timer.
    plan = [
        ("IDLE", "idle", 6120), ("sensor", "sensor_i2c", 812), ("sensor", "sensor_i2c2", 97),
        ("sensor", "sensor_crc", 145), ("radio", "radio_aes", 1530), ("radio", "radio_spi", 402),
        ("radio", "radio_queue", 33), ("sensor", "outside", 7), ("IDLE", "nomap", 51),
        ("Tmr Svc", "switch", 260), ("radio", "radio_aes", 300), ("IDLE", "idle", 4),
    ]
    for task, st, n in plan:
        b.sample(prof, stacks[st], values=[n], attrs=[("thread.name", task)])
    return b.to_bytes()


def c_array(name, data):
    lines = ["static const unsigned char %s[%d] = {" % (name, len(data))]
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join("0x%02x" % x for x in data[i:i + 16]) + ",")
    lines.append("};")
    return "\n".join(lines)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_requests.py OUTDIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    small = gp.generate("small", "v1.10", 1).to_bytes()
    fw = firmware_request()
    for name, data in (("small.otlp", small), ("firmware.otlp", fw)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "symbols.json"), "w") as f:
        json.dump({"image": IMAGE, "build_id": BUILD_ID, "now": NOW,
                   "symbols": [[lo, hi, n] for lo, hi, n in SYMBOLS]}, f, indent=1)
    h = ["/* SPDX-License-Identifier: MIT */",
         "/* Generated by examples/firmware/gen_requests.py: do not edit. */",
         "#ifndef FW_REQUESTS_H", "#define FW_REQUESTS_H", "",
         "#define FW_NOW_UNIX_NANO UINT64_C(%d)" % NOW,
         "#define FW_BUILD_ID %s" % c_string(BUILD_ID), "",
         c_array("fw_small_request", small), "",
         c_array("fw_firmware_request", fw), "",
         c_array("fw_demo_request", read(os.path.join(ROOT, "examples", "demo.otlp"))), "",
         c_array("fw_real_profile_request",
                 read(os.path.join(ROOT, "tests", "data", "real", "sig-profiling-profile.otlp"))),
         "",
         "typedef struct fw_symbol { uint32_t start, end; const char *name; } fw_symbol;",
         "static const fw_symbol fw_symbols[%d] = {" % len(SYMBOLS)]
    for lo, hi, n in SYMBOLS:
        h.append("    {0x%08xu, 0x%08xu, %s}," % (lo, hi, c_string(n)))
    h += ["};", "", "#endif", ""]
    tmp = os.path.join(out, "requests.h.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(h))
    os.replace(tmp, os.path.join(out, "requests.h"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
