#!/bin/sh
# Build bench/linear/linear_bench against a keel build's libkeel.a.
# Usage: build.sh BUILD_DIR OUT
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$1
out=$2
gcc -std=c11 -O2 -fopenmp -D_GNU_SOURCE -Wall -Wextra -Werror -I"$root/include" -I"$build/include" \
    $(pkg-config --cflags openblas lapacke) "$here/linear_bench.c" "$build/libkeel.a" \
    $(pkg-config --libs openblas lapacke jansson yaml-0.1 libcrypto sqlite3 libpq libzstd) -lm \
    -o "$out"
