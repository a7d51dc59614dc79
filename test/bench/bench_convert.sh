#!/usr/bin/env bash
# b4k-convert throughput on a random GPT-2 124M (~500 MB f32) state dict saved
# by torch (generated into /tmp at bench time, removed afterwards, never
# committed), measured side by side with the peers in the same run.
#
# b4k-convert's output is durable when it exits: written to a temporary
# name, fsync'd, renamed.  A peer that leaves its output in the page cache
# does less work (the disk write happens after it exits), so the targets
# compare against the peers doing the same durable write:
#   raw f32      vs  cp + sync -f of the same bytes (target: within 1.5x)
#   zstd -3      b4k-convert -z 3 --threads 1 vs zstd -3 -T1 + sync -f
#                (target: within 1.2x), and both with every CPU (b4k's
#                default, zstd -T0)
# Plain cp and zstd (page cache only) are printed too, for information: the
# gap to them is mostly the disk write that both durable runs wait for.
#   f16, bf16, int8, and a .b4k re-encoded raw (no transposes)
#   mmap load    time to the first tensor of the raw .b4k (lazy checksum, or
#                none), then what touching all its pages costs (page faults)
#                and the XXH64 rate over the mapped tensor once it is paged in
# Each peer and the b4k-convert run it is compared with are timed in turn,
# round after round (best of B4K_BENCH_ROUNDS, default 3), so both see the
# same load on a shared machine.  The ratios to the page-cache-only peers
# are printed on a last line too.
# Prints figures, ratios and whether each target is met on this run; never
# fails on timings (a loaded machine distorts wall times: see the cpu column
# and the load average printed with the figures).  Needs /usr/bin/python3
# with torch (SKIP otherwise).  Usage: bash test/bench/bench_convert.sh [--small]
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${BIN:-$TOP/bin}
PATH="$BIN:$PATH"
PY=/usr/bin/python3
LAYERS=12; EMBD=768; VOCAB=50257
[ "$1" = "--small" ] && { LAYERS=2; VOCAB=5000; }
if ! $PY -c 'import torch' 2>/dev/null; then echo "SKIP: bench_convert: python3-torch missing"; exit 0; fi
command -v b4k-convert >/dev/null || { echo "SKIP: bench_convert: b4k-convert not built"; exit 0; }
W=$(mktemp -d /tmp/b4k-bench-convert.XXXXXX); trap 'rm -rf "$W"' EXIT
$PY - "$W/gpt2.pt" $LAYERS $EMBD $VOCAB <<'PY' || exit 1
import collections, sys, torch
out, L, C, V = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
g = torch.Generator().manual_seed(0)
r = lambda *s: torch.randn(*s, generator=g) * 0.02
sd = collections.OrderedDict()
sd["transformer.wte.weight"], sd["transformer.wpe.weight"] = r(V, C), r(1024, C)
for l in range(L):
    p = "transformer.h.%d." % l
    sd[p + "ln_1.weight"], sd[p + "ln_1.bias"] = torch.ones(C), torch.zeros(C)
    sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"] = r(C, 3 * C), r(3 * C)
    sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"] = r(C, C), r(C)
    sd[p + "ln_2.weight"], sd[p + "ln_2.bias"] = torch.ones(C), torch.zeros(C)
    sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"] = r(C, 4 * C), r(4 * C)
    sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"] = r(4 * C, C), r(C)
sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = torch.ones(C), torch.zeros(C)
torch.save(sd, out)
PY
echo '{"n_head": 12}' > "$W/config.json"
SIZE=$(stat -c %s "$W/gpt2.pt"); MB=$(awk -v s=$SIZE 'BEGIN{printf "%.1f", s/1e6}')
cat "$W/gpt2.pt" > /dev/null   # warm the page cache for everyone
# best of 3 wall-clock seconds and the CPU seconds (user+sys) of that run
t() { /usr/bin/time -f '%e %U %S' -o "$W/time" "$@" > /dev/null 2>&1 || { echo "FAILED: $*" >&2; echo "0 0"; return; }; awk '{printf "%.3f %.3f", $1, $2+$3}' "$W/time"; }
best() { local b=999999 c=0 x; for i in 1 2 3; do x=$(t "$@"); if awk -v a=$b -v x="${x% *}" 'BEGIN{exit !(x<a)}'; then b=${x% *}; c=${x#* }; fi; rm -f "$W"/out*; done; echo "$b $c"; }
# race NAME 'CMD' NAME 'CMD' ...: ROUNDS rounds, each running every command
# once in turn, so a peer and b4k-convert see the same load (the machine
# may be shared); R[NAME] is the best wall time and the CPU of that run
declare -A R
race() {
  local -a n c; local x
  while [ $# -gt 0 ]; do n+=("$1"); c+=("$2"); R[$1]="999999 0"; shift 2; done
  for r in $(seq $ROUNDS); do for i in "${!n[@]}"; do
    x=$(t sh -c "${c[$i]}")
    if awk -v a="${R[${n[$i]}]% *}" -v x="${x% *}" 'BEGIN{exit !(x<a)}'; then R[${n[$i]}]=$x; fi
    rm -f "$W"/out*
  done; done
}
rate() { awk -v s=$SIZE -v t=$1 'BEGIN{ if (t>0) printf "%.0f MB/s", s/1e6/t; else print "n/a" }'; }
ratio() { awk -v a=$1 -v b=$2 'BEGIN{ if (b>0) printf "%.2fx", a/b; else print "n/a" }'; }
show() { # label "wall cpu" [extra]
  local w=${2% *} c=${2#* }; printf '  %-22s %6.2f s  %-10s cpu %5.2f s  %s\n' "$1" "$w" "$(rate $w)" "$c" "$3"; }
ROUNDS=${B4K_BENCH_ROUNDS:-3}
export W
echo "bench_convert: GPT-2 ($LAYERS layers, vocab $VOCAB) torch.save zip, $MB MB f32; $(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  (best of $ROUNDS rounds, peers and b4k-convert in turn in each round; wall seconds, and the CPU seconds user+sys of that run, which a loaded machine distorts less)"
CV="b4k-convert --config \"\$W/config.json\" -o \"\$W/out.b4k\""
race cp 'cp "$W/gpt2.pt" "$W/out.cp"' \
     cps 'cp "$W/gpt2.pt" "$W/out.cp" && sync -f "$W/out.cp"' \
     dds 'dd if="$W/gpt2.pt" of="$W/out.dd" bs=256K status=none && sync -f "$W/out.dd"' \
     raw "$CV \"\$W/gpt2.pt\""
T_CP=${R[cp]} T_CPS=${R[cps]} T_CAT=${R[dds]} T_RAW=${R[raw]}
show "cp + sync" "$T_CPS" "(the durable peer of raw)"
show "dd bs=256K + sync" "$T_CAT" "(user-space read/write, as b4k must to hash every byte; cp and cat use copy_file_range)"
show "cp" "$T_CP" "(information: page cache only, no disk write)"
show "b4k raw f32" "$T_RAW" "wall vs cp+sync $(ratio ${T_RAW% *} ${T_CPS% *}) (target <= 1.5x), vs dd+sync $(ratio ${T_RAW% *} ${T_CAT% *}), vs cp $(ratio ${T_RAW% *} ${T_CP% *}); cpu vs dd+sync $(ratio ${T_RAW#* } ${T_CAT#* })"
R_RAW=$(ratio ${T_RAW% *} ${T_CPS% *}) R_RAWP=$(ratio ${T_RAW% *} ${T_CP% *})
if command -v zstd >/dev/null; then
  race zs 'zstd -q -3 -T1 -f "$W/gpt2.pt" -o "$W/out.zst" && sync -f "$W/out.zst"' \
       z 'zstd -q -3 -T1 -f "$W/gpt2.pt" -o "$W/out.zst"' \
       bz "$CV -z 3 --threads 1 \"\$W/gpt2.pt\""
  T_ZS=${R[zs]} T_Z=${R[z]} T_BZ=${R[bz]}
  show "zstd -3 -T1 + sync" "$T_ZS" "(the durable peer of -z 3)"
  show "zstd -3 -T1" "$T_Z" "(information: page cache only)"
  show "b4k -z 3 --threads 1" "$T_BZ" "wall vs zstd -T1+sync $(ratio ${T_BZ% *} ${T_ZS% *}) (target <= 1.2x), vs zstd -T1 $(ratio ${T_BZ% *} ${T_Z% *}); cpu vs zstd -T1+sync $(ratio ${T_BZ#* } ${T_ZS#* })"
  R_Z=$(ratio ${T_BZ% *} ${T_ZS% *}) R_ZP=$(ratio ${T_BZ% *} ${T_Z% *})
  race zsa 'zstd -q -3 -T0 -f "$W/gpt2.pt" -o "$W/out.zst" && sync -f "$W/out.zst"' \
       bza "$CV -z 3 \"\$W/gpt2.pt\""
  T_ZSA=${R[zsa]} T_BZA=${R[bza]}
  show "zstd -3 -T0 + sync" "$T_ZSA" "(all $(nproc) CPUs)"
  show "b4k -z 3 (all CPUs)" "$T_BZA" "wall vs zstd -T0+sync $(ratio ${T_BZA% *} ${T_ZSA% *}), cpu $(ratio ${T_BZA#* } ${T_ZSA#* })"
else
  echo "  zstd CLI not installed: zstd comparison skipped"
fi
# the same bytes already in canonical layout: a .b4k re-encoded raw (read +
# verify + hash + write, no transposes) -- the part of raw f32 that is a copy
b4k-convert --config "$W/config.json" -o "$W/m.b4k" "$W/gpt2.pt" >/dev/null
T_PT=$(best b4k-convert -o "$W/out.b4k" "$W/m.b4k")
show "b4k .b4k->.b4k raw" "$T_PT" "no transposes: wall vs cp+sync $(ratio ${T_PT% *} ${T_CPS% *}), vs dd+sync $(ratio ${T_PT% *} ${T_CAT% *}); cpu vs dd+sync $(ratio ${T_PT#* } ${T_CAT#* })"
for dt in f16 bf16 int8; do
  T=$(best b4k-convert -t $dt --config "$W/config.json" -o "$W/out.b4k" "$W/gpt2.pt")
  show "b4k $dt" "$T" "wall vs cp+sync $(ratio ${T% *} ${T_CPS% *}) (input MB/s; output is smaller)"
done
# time to first tensor: open (mmap + header validation) and get wte.weight;
# then the cost of touching every page of it (page faults, which a first
# use pays whatever the checksum does) and XXH64 over it once mapped
cat > "$W/ttft.c" <<'C'
#include <stdio.h>
#include <time.h>
#include "model/model.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    b4k_err e; b4k_model *m; b4k_tensor_view v; volatile unsigned char s = 0; volatile uint64_t h;
    double t0 = now();
    if (b4k_model_open_ex(&m, argv[1], argv[2][0] == 'n' ? B4K_MODEL_NO_VERIFY : 0, &e)) return 1;
    double t1 = now();
    if (b4k_model_get(m, "wte.weight", &v, &e)) return 1;
    volatile float x = ((const float *)v.data)[0]; (void)x;
    double t2 = now();
    for (size_t i = 0; i < v.nbytes; i += 4096) s += ((const unsigned char *)v.data)[i];
    double t3 = now();
    h = b4k_xxh64(v.data, v.nbytes, 0); (void)h;
    double t4 = now();
    printf("open %.1f ms, first tensor (%zu MB) %.1f ms; then touching its pages %.1f ms, XXH64 of it mapped %.1f GB/s\n",
           (t1 - t0) * 1e3, v.nbytes >> 20, (t2 - t0) * 1e3, (t3 - t2) * 1e3, v.nbytes / (t4 - t3) / 1e9);
    b4k_model_free(m); return 0; }
C
LIBA="$TOP/lib/libb4k.a"; [ -n "$B4K_BUILD" ] && [ "$B4K_BUILD" != build ] && LIBA="$B4K_BUILD/libb4k.a"
if cc -O2 -I"$TOP/lib" -D_GNU_SOURCE "$W/ttft.c" "$LIBA" -lzstd -ljansson -lopenblas -lpthread -lm -o "$W/ttft" 2>/dev/null; then
  echo "  mmap load, lazy checksum of the tensor:  $("$W/ttft" "$W/m.b4k" lazy)"
  echo "  mmap load, B4K_MODEL_NO_VERIFY:          $("$W/ttft" "$W/m.b4k" noverify)"
else
  echo "  time to first tensor: could not build the probe against $LIBA"
fi
met() { awk -v r="${1%x}" -v t=$2 'BEGIN{ if (r == "n/a" || r == "") print "n/a"; else if (r + 0 <= t) print "met"; else print "NOT met" }'; }
echo "  loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  targets on this run (wall, against the peer's durable write): raw f32 ${R_RAW} of cp + sync (<= 1.5x: $(met "$R_RAW" 1.5))${R_Z:+, zstd -3 ${R_Z} of zstd -3 -T1 + sync (<= 1.2x: $(met "$R_Z" 1.2))}"
echo "  (against the peers' page-cache-only runs, which leave their disk write for after they exit: raw f32 ${R_RAWP} of cp${R_ZP:+, zstd -3 ${R_ZP} of zstd -3 -T1 (<= 1.2x: $(met "$R_ZP" 1.2))})"
