#!/usr/bin/env bash
# b4k test runner.  Runs, in order: unit tests, fuzz-corpus replay, corrupt
# input cases, CLI cases, man-page checks and examples, and data tests.
# Every test reports PASS/FAIL/SKIP; the last line is "N passed, N failed,
# N skipped" and the exit status is non-zero if anything failed.
#
#   B4K_BUILD  build tree with test/ and fuzz/ binaries (default: build)
#   B4K_BIN    directory with the b4k-* programs       (default: bin)
#   --quick    unit, fuzz, corrupt and CLI cases only (used by make asan)
#   --only P   run only tests whose name contains P
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
BUILD=${B4K_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
BIN=$(cd "${B4K_BIN:-bin}" 2>/dev/null && pwd || echo "$TOP/bin")
QUICK=0
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
DATA=
[ -d "$TOP/../shared/data" ] && DATA=$(cd "$TOP/../shared/data" && pwd)
export TOP BIN DATA B4K_BUILD=$BUILD
export PATH="$BIN:$PATH"
export LC_ALL=C.UTF-8
WORK=$(mktemp -d "${TMPDIR:-/tmp}/b4k-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

pass=0 fail=0 skip=0
failed_names=()
want() { [ -z "$ONLY" ] || [[ "$1" == *"$ONLY"* ]]; }
ok()   { pass=$((pass+1)); echo "PASS: $1"; }
bad()  { fail=$((fail+1)); failed_names+=("$1"); echo "FAIL: $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/  | /' | head -40; }
skp()  { skip=$((skip+1)); echo "SKIP: $1${2:+: $2}"; }

# Count PASS/FAIL/SKIP lines produced by a test program or script.
absorb() { # name logfile rc
  local name=$1 log=$2 rc=$3 p f s
  p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
  grep -E '^(PASS|FAIL|SKIP): |^  ' "$log"
  pass=$((pass+p)); fail=$((fail+f)); skip=$((skip+s))
  if [ "$f" -gt 0 ]; then failed_names+=("$name"); fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    bad "$name (exit $rc without a FAIL line)" "$(tail -20 "$log")"
  fi
  if [ "$rc" -eq 0 ] && [ "$p$f$s" = "000" ]; then
    bad "$name (reported no test)" "$(tail -5 "$log")"
  fi
}

# 1. unit tests.  Those of CPU-dispatched kernels (matvec, dot, axpy, GELU,
#    dtype casts, the GPT-2/CPM golden tests, the bf16 linear layers) run
#    once per kernel level, B4K_CPU=scalar, avx2, avx512 (with VNNI) and
#    avx512bf16, as unit/test_x[level]; a level this CPU lacks is a SKIP.
CPU_LEVELS="scalar avx2 avx512 avx512bf16"
PER_LEVEL=" test_ops_matvec test_nn_gpt2 test_dtype test_linear_bf16 "
for t in "$BUILD"/test/test_*; do
  [ -x "$t" ] || continue
  b=$(basename "$t")
  levels=-; [[ "$PER_LEVEL" == *" $b "* ]] && levels=$CPU_LEVELS
  for lvl in $levels; do
    n=unit/$b; [ "$lvl" = - ] || n="$n[$lvl]"
    want "$n" || continue
    if [ "$lvl" = - ]; then
      (cd "$WORK" && timeout 600 "$t") > "$WORK/log" 2>&1; rc=$?
    else
      (cd "$WORK" && B4K_CPU=$lvl timeout 600 "$t") > "$WORK/log" 2>&1; rc=$?
    fi
    absorb "$n" "$WORK/log" $rc
  done
done

# 2. fuzz corpus replay
for r in "$BUILD"/fuzz/fuzz_*-replay; do
  [ -x "$r" ] || continue
  name=$(basename "$r" -replay); name=${name#fuzz_}
  n=fuzz/$name; want "$n" || continue
  if [ ! -d "test/fuzz/corpus/$name" ]; then bad "$n (no corpus test/fuzz/corpus/$name)"; continue; fi
  out=$(timeout 600 "$r" "test/fuzz/corpus/$name" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then ok "$n ($(echo "$out" | tail -1))"; else bad "$n" "$(echo "$out" | tail -30)"; fi
done

# 3. corrupt inputs: test/corrupt/<group>/CMD runs each other file in the
#    folder as $F, in a fresh empty folder (so a CMD can check that nothing
#    is left behind); each must exit 1 with a "prog: ..." message, never crash.
for d in test/corrupt/*/; do
  [ -f "$d/CMD" ] || continue
  cmd=$(cat "$d/CMD")
  for f in "$d"*; do
    b=$(basename "$f"); [ "$b" = CMD ] && continue; [ "${b%.md}" != "$b" ] && continue
    n=corrupt/$(basename "$d")/$b; want "$n" || continue
    cw="$WORK/case"; rm -rf "$cw"; mkdir -p "$cw"
    (cd "$cw" && F="$TOP/$f" timeout 120 bash -c "$cmd") > "$WORK/out" 2> "$WORK/err"; rc=$?
    if [ $rc -eq 1 ] && grep -qE '^b4k-[a-z0-9]+( [a-z]+)?: .+' "$WORK/err" && ! grep -q 'Sanitizer' "$WORK/err"; then
      ok "$n"
    else
      bad "$n (exit $rc)" "$(head -c 2000 "$WORK/err")"
    fi
  done
done

# 4. CLI cases: test/cli/<tool>/<case>.sh with optional <case>.rc (exit code,
#    default 0), <case>.out (exact stdout) and <case>.err (ERE on stderr).
#    A case that exits 77 is skipped (it prints why).
for c in test/cli/*/*.sh; do
  [ -f "$c" ] || continue
  base=${c%.sh}; n=cli/${base#test/cli/}; want "$n" || continue
  cw="$WORK/case"; rm -rf "$cw"; mkdir -p "$cw"
  (cd "$cw" && timeout 600 bash "$TOP/$c") > "$WORK/out" 2> "$WORK/err"; rc=$?
  if [ $rc -eq 77 ]; then skp "$n" "$(head -1 "$WORK/out")"; continue; fi
  erc=0; [ -f "$base.rc" ] && erc=$(cat "$base.rc")
  why=
  [ "$rc" = "$erc" ] || why="exit $rc, expected $erc"
  if [ -z "$why" ] && [ -f "$base.out" ] && ! cmp -s "$base.out" "$WORK/out"; then
    why="stdout differs"; diff "$base.out" "$WORK/out" | head -20 > "$WORK/diff"
  fi
  if [ -z "$why" ] && [ -f "$base.err" ] && ! grep -qE -f "$base.err" "$WORK/err"; then why="stderr does not match $(basename "$base").err"; fi
  if [ -z "$why" ] && grep -q 'Sanitizer' "$WORK/err"; then why="sanitizer report"; fi
  if [ -z "$why" ]; then ok "$n"; else
    bad "$n ($why)" "$(cat "$WORK/diff" 2>/dev/null; head -c 1500 "$WORK/err")"; rm -f "$WORK/diff"
  fi
done

if [ $QUICK -eq 0 ]; then
  # 5. man pages: options match --help, EXAMPLES run
  if want man; then
    bash test/man.sh > "$WORK/log" 2>&1; rc=$?
    absorb man "$WORK/log" $rc
  fi
  # 6. data tests (print SKIP when ../shared/data or a peer is absent)
  for t in test/data/*.sh; do
    [ -f "$t" ] || continue
    n=data/$(basename "$t" .sh); want "$n" || continue
    (cd "$WORK" && timeout 900 bash "$TOP/$t") > "$WORK/log" 2>&1; rc=$?
    absorb "$n" "$WORK/log" $rc
  done
fi

if [ ${#failed_names[@]} -gt 0 ]; then
  echo "failed:"; printf '  %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
