# make install PREFIX=... DESTDIR=...: programs, man pages in man1/5/7, the
# jieba data; a man page that cannot be installed fails the target (no
# "; true" hiding it).  Uses the build tree the tests run from; skipped if
# installing would have to build anything.
command -v make > /dev/null || { echo "make not installed"; exit 77; }
W=$(pwd)
B=${B4K_BUILD#$TOP/}; Bn=${BIN#$TOP/}
mk() { make -C "$TOP" --no-print-directory BUILD="$B" BIN="$Bn" PREFIX=/usr DESTDIR="$W/$1" install; }
if make -C "$TOP" -n --no-print-directory BUILD="$B" BIN="$Bn" PREFIX=/usr DESTDIR="$W/d" install |
   grep -qE '^(cc|gcc|clang|ar) '; then echo "build tree $B is not up to date"; exit 77; fi
mk d > log 2>&1 || { cat log >&2; exit 3; }
for p in "$TOP"/cmd/b4k-*.c; do n=$(basename "$p" .c); [ -x "d/usr/bin/$n" ] || { echo "no $n" >&2; exit 4; }; done
for m in "$TOP"/man/*.[157]; do s=${m##*.}; cmp -s "$m" "d/usr/share/man/man$s/$(basename "$m")" || { echo "no $m" >&2; exit 5; }; done
# a directory where a man page goes: install fails, and so must make
mkdir -p bad/usr/share/man/man7/b4k.7
if mk bad > log 2>&1; then echo "make install succeeded although b4k.7 could not be installed" >&2; exit 6; fi
grep -q 'b4k.7' log || { cat log >&2; exit 7; }
