#!/bin/sh
# SPDX-License-Identifier: MIT
# The Python binding (bindings/python): installed offline into a fresh
# virtual environment (pip --no-index: the in-tree build backend needs no
# package), then tests/bindings/test_python.py run by that environment's
# interpreter with an empty environment, against what build/p2m writes for
# the cases of tests/bindings/cases.py. PASS/FAIL lines.
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
OUT=build/bindings-python
VENV=$OUT/pyvenv
mkdir -p "$OUT"
if [ ! -x build/p2m ]; then
    make -s build/p2m >/dev/null 2>&1 || true
fi
if ! $PY -c 'import venv, ensurepip' 2>/dev/null; then
    echo "FAIL py-install-offline: $PY has no venv/ensurepip (Debian: python3-venv)"
    exit 1
fi
if ! $PY tests/bindings/cases.py "$OUT/cases" > "$OUT/cases.log" 2>&1; then
    echo "FAIL py-cases: tests/bindings/cases.py failed: $(tail -n 5 "$OUT/cases.log")"
    exit 1
fi
rm -rf "$VENV"
if ! $PY -m venv "$VENV" > "$OUT/pyvenv.log" 2>&1; then
    echo "FAIL py-install-offline: python3 -m venv failed: $(tail -n 3 "$OUT/pyvenv.log")"
    exit 1
fi
# --no-index: nothing may come from a package index; no build isolation
# packages are needed either (build-system.requires is empty)
if env PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install --no-index \
        --no-cache-dir bindings/python > "$OUT/pip.log" 2>&1; then
    echo "PASS py-install-offline"
else
    echo "FAIL py-install-offline: pip install --no-index bindings/python:" \
         "$(tail -n 5 "$OUT/pip.log")"
    exit 1
fi
root=$PWD
# an sdist built by the backend installs without the repository around it
rm -rf "$OUT/sdist" && mkdir -p "$OUT/sdist"
sdist='import sys; sys.path.insert(0, "_backend"); import p2m_build
print(p2m_build.build_sdist(sys.argv[1]))'
if (cd bindings/python && $PY -c "$sdist" "../../$OUT/sdist") > "$OUT/sdist.log" 2>&1 &&
   (cd "$OUT/sdist" && tar xzf profile2metrics-*.tar.gz) &&
   "$VENV/bin/pip" install --no-index --no-cache-dir --target "$OUT/sdist/target" \
        "$OUT"/sdist/profile2metrics-*/ >> "$OUT/sdist.log" 2>&1 &&
   (cd / && env -i PYTHONPATH="$root/$OUT/sdist/target" "$root/$VENV/bin/python" -c \
        'import profile2metrics as p; p.Converter()') >> "$OUT/sdist.log" 2>&1; then
    echo "PASS py-sdist-builds-without-repository"
else
    echo "FAIL py-sdist-builds-without-repository: $(tail -n 5 "$OUT/sdist.log")"
fi
cd / && exec env -i PATH=/usr/bin:/bin "$root/$VENV/bin/python" \
    "$root/tests/bindings/test_python.py" \
    "$root/$OUT/cases" "$root/profile2metrics.h"
