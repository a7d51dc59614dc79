#!/usr/bin/env bash
# Man-page checks, run by test/run.sh:
#  - every program (and subcommand) has short options that are unique;
#  - the OPTIONS section of man/<prog>.1 names exactly the long options that
#    --help lists (for subcommand tools: the union over subcommands);
#  - and the same short options: every "-X, --long" pair of --help (which
#    the program's option table generates) is written "-X, --long" in the
#    man page, the page pairs no short option with another long one, and
#    every short option the page mentions exists;
#  - every command in an EXAMPLES section (".EX" block lines starting "$ ")
#    runs and exits 0; a page's examples run in order in one scratch folder
#    where data/ is the repo's data/.
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
BIN=${BIN:-$TOP/bin}
export PATH="$BIN:$PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/b4k-man.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

deroff() { sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' \
  -e 's/\\&//g' -e 's/\\f[BIRP]//g' -e 's/\\\\/\\/g'; }

help_opts() { # prog [sub]: long options in the Options section of --help
  "$@" --help 2>/dev/null | awk '/^Options:/{o=1;next} /^[A-Z][a-z]*:/{o=0} o' |
    grep -oE '^ +(-[A-Za-z0-9], )?--[a-z0-9][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sort -u
}
help_shorts() {
  "$@" --help 2>/dev/null | awk '/^Options:/{o=1;next} /^[A-Z][a-z]*:/{o=0} o' |
    grep -oE '^ +-[A-Za-z0-9],' | tr -d ' ,' | sort
}
help_pairs() { # "-X --long" for each option with a short form
  "$@" --help 2>/dev/null | awk '/^Options:/{o=1;next} /^[A-Z][a-z]*:/{o=0} o' |
    grep -oE '^ +-[A-Za-z0-9], --[a-z0-9][a-z0-9-]*' | sed -E 's/^ +//; s/,//'
}
man_opts() { awk '/^\.SH OPTIONS/{o=1;next} /^\.SH /{o=0} o' "$1" | deroff; }
man_pairs() { # "-X, --long" (or .BR's "-X ", " --long") in OPTIONS
  man_opts "$1" | grep -oE -- '(^|[^-A-Za-z0-9])-[A-Za-z0-9][ ,"]+--[a-z0-9][a-z0-9-]*' |
    sed -E 's/^[^-]*//; s/^(-[A-Za-z0-9])[ ,"]+/\1 /' | sort -u
}
man_shorts() { # every short option token in OPTIONS
  man_opts "$1" | grep -oE -- '(^|[^-A-Za-z0-9])-[A-Za-z0-9]([^A-Za-z0-9-]|$)' |
    grep -oE -- '-[A-Za-z0-9]' | sort -u
}
subcommands() {
  "$1" --help 2>/dev/null | awk '/^Commands:/{c=1;next} /^[A-Z][a-z]*:/{c=0} c' |
    grep -oE '^  [a-z][a-z0-9-]*' | tr -d ' '
}

for p in "$BIN"/b4k-*; do
  [ -x "$p" ] || continue
  prog=$(basename "$p")
  man="man/$prog.1"
  if [ ! -f "$man" ]; then echo "FAIL: man/$prog: no $man"; continue; fi
  subs=$(subcommands "$p")
  : > "$WORK/help"
  : > "$WORK/hpairs"
  dup=
  for s in "" $subs; do
    help_opts "$p" $s >> "$WORK/help"
    help_pairs "$p" $s >> "$WORK/hpairs"
    d=$(help_shorts "$p" $s | uniq -d)
    [ -n "$d" ] && dup="$dup ${s:-main}:$d"
  done
  sort -u -o "$WORK/help" "$WORK/help"
  if [ -n "$dup" ]; then echo "FAIL: man/$prog: duplicate short options:$dup"; else echo "PASS: man/$prog: short options unique"; fi
  awk '/^\.SH OPTIONS/{o=1;next} /^\.SH /{o=0} o' "$man" | deroff |
    grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u > "$WORK/man"
  sort -u -o "$WORK/hpairs" "$WORK/hpairs"
  man_pairs "$man" > "$WORK/mpairs"
  cut -d' ' -f1 "$WORK/hpairs" | sort -u > "$WORK/hshorts"
  bad_s=$(man_shorts "$man" | comm -23 - "$WORK/hshorts" | tr '\n' ' ')
  if ! cmp -s "$WORK/hpairs" "$WORK/mpairs" || [ -n "$bad_s" ]; then
    echo "FAIL: man/$prog: short options differ from --help (< help only, > man only)"
    diff "$WORK/hpairs" "$WORK/mpairs" | grep '^[<>]' | sed 's/^/  /'
    [ -n "$bad_s" ] && echo "  man mentions short options --help does not have: $bad_s"
  else
    echo "PASS: man/$prog: short options match --help"
  fi
  if [ ! -s "$WORK/help" ]; then echo "FAIL: man/$prog: --help lists no options"; continue; fi
  if cmp -s "$WORK/help" "$WORK/man"; then
    echo "PASS: man/$prog: OPTIONS match --help"
  else
    echo "FAIL: man/$prog: OPTIONS differ from --help (< help only, > man only)"
    diff "$WORK/help" "$WORK/man" | grep '^[<>]' | sed 's/^/  /'
  fi
done

# EXAMPLES (every page has some: a page without is a FAIL, not a silence)
for man in man/*.[157]; do
  [ -f "$man" ] || continue
  awk '/^\.SH EXAMPLES/{e=1;next} /^\.SH /{e=0} e' "$man" |
    awk '/^\.EX/{x=1;next} /^\.EE/{x=0} x' | deroff > "$WORK/ex"
  # join continuation lines; commands start with "$ "; records end with \036
  awk '{ if (cont) { buf = buf "\n" $0 } else { buf = $0 }
         cont = ($0 ~ /\\$/); if (!cont && buf ~ /^\$ /) printf "%s\036", substr(buf, 3) }' \
    "$WORK/ex" > "$WORK/cmds"
  # the examples of one page run in order in one scratch folder, so a later
  # example may use a file an earlier one wrote
  if [ ! -s "$WORK/cmds" ]; then echo "FAIL: $man: no EXAMPLES with runnable '\$ ' commands"; continue; fi
  i=0
  d="$WORK/ex-$(basename "$man")"; mkdir -p "$d"; ln -s "$TOP/data" "$d/data"
  while IFS= read -r -d $'\036' cmd; do
    i=$((i+1))
    if (cd "$d" && printf '%s\n' "$cmd" > cmd.sh && timeout 300 bash -o pipefail cmd.sh) > "$WORK/out" 2>&1 </dev/null; then
      echo "PASS: $man example $i"
    else
      echo "FAIL: $man example $i: $(printf '%s' "$cmd" | head -c 200)"
      tail -5 "$WORK/out" | sed 's/^/  /'
    fi
  done < "$WORK/cmds"
done
ls man/*.[157] >/dev/null 2>&1 || echo "SKIP: man: no pages yet"
exit 0
