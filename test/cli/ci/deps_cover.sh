# .ci/deps.sh installs the Debian package of every tool that Makefile and
# the scripts under test/ run outside Debian's essential set (or the script
# guards the tool with a SKIP).  Table: tool, package, how its use is found.
cd "$TOP"
scripts=$(ls Makefile .ci/run test/*.sh test/*/*.sh test/cli/*/*.sh test/corrupt/*/CMD 2>/dev/null)
pkgs=$(sed -n '/^pkgs=(/,/^)/p' .ci/deps.sh | sed 's/#.*//' | tr -s ' \t' '\n' | grep -E '^[a-z0-9.+-]+$')
bad=0
while read -r tool pkg re; do
  users=$(grep -lE -- "$re" $scripts 2>/dev/null | grep -v '^test/cli/ci/' | tr '\n' ' ')
  [ -z "$users" ] && continue
  if ! printf '%s\n' $pkgs | grep -qx "$pkg"; then
    echo "$tool (package $pkg) is used by $users but .ci/deps.sh does not install it" >&2
    bad=1
  fi
done <<'T'
/usr/bin/time time /usr/bin/time
clang clang CC=clang|(^|[ ;&|])clang 
zstd zstd (^|[ ;&|(])zstd 
cmp diffutils (^|[ ;&|(!])cmp 
bc bc \| *bc( |$)
perl perl (^|[ ;&|(])perl 
python3 python3 /usr/bin/python3|(^|[ ;&|(])python3 
spm_train sentencepiece spm_train
spm_encode sentencepiece spm_encode
T
# tools that are not installed must not be used at all
for t in xxd hexdump; do
  u=$(grep -lE "(^|[ ;&|(])$t " $scripts | grep -v '^test/cli/ci/' | tr '\n' ' ')
  [ -n "$u" ] && { echo "$t is used by $u (not in Debian base): use od or python3" >&2; bad=1; }
done
exit $bad
