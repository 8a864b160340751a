#!/usr/bin/env bash
# `make install` honours PREFIX, and what it installs is usable: every public
# header compiles on its own, and a program built with nothing but
# `pkg-config --cflags --libs keel` reads a CSV through the shared library.
#   tests/install_test.sh BUILD_DIR
set -eu
build=$(readlink -f "$1")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
for f in "$prefix/bin/keel" "$prefix/include/keel/keel.h" "$prefix/include/keel/version.h"; do
    [ -e "$f" ] || { echo "not installed: $f"; exit 1; }
done
libdir=$(dirname "$(find "$prefix" -name keel.pc | head -1)")/..
ls "$libdir"/libkeel.a "$libdir"/libkeel.so > /dev/null
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# the installed keel.pc points into this prefix
[ "$(readlink -f "$(pkg-config --variable=includedir keel)")" = "$(readlink -f "$prefix/include")" ]
for h in "$prefix"/include/keel/*.h; do
    printf '#include "keel/%s"\n' "$(basename "$h")" > "$tmp/h.c"
    cc -std=c11 -Wall -Werror -fsyntax-only $(pkg-config --cflags keel) "$tmp/h.c" \
        || { echo "header does not compile on its own: $h"; exit 1; }
done
cat > "$tmp/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <keel/keel.h>
int main(void)
{
    const char *csv = "a,b\n1,x\n2,y\n";
    kl_frame *f = NULL;
    kl_err err = {0};
    if (kl_csv_read_buffer(csv, strlen(csv), "mem.csv", NULL, &f, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%zu %zu %s\n", kl_frame_row_count(f), kl_frame_col_count(f),
           kl_type_name(kl_frame_col_type(f, 0)));
    kl_frame_free(f);
    return 0;
}
C
cc -std=c11 -Wall -Werror "$tmp/prog.c" -o "$tmp/prog" $(pkg-config --cflags --libs keel)
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/prog")
[ "$out" = "2 2 int" ] || { echo "installed library gave '$out', expected '2 2 int'"; exit 1; }
"$prefix/bin/keel" --version | grep -q '^keel '
echo "install: ok ($prefix)"
