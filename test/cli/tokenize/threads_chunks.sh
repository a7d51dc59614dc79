# chunks of whole lines: lines longer than a chunk (64 KB), empty lines, CRLF,
# empty files and a last line without '\n', over several files and stdin;
# the output equals that of every line on its own (each its own file), for
# any --threads/--batch, and line numbers in messages count across chunks
V=$TOP/data/zh-char-vocab.txt
long() { head -c "$1" /dev/zero | tr '\0' "$2"; }
{
  for i in $(seq 1 3000); do
    case $((i % 500)) in
      7) long 100000 a; echo ;;
      9) echo ;;
      11) printf '第%d行\r\n' "$i" ;;
      13) yes 中 | tr -d '\n' | head -c 300000; echo ;;
      *) echo "第${i}行 line $i 测试" ;;
    esac
  done
  printf 'the last line, no newline'
} > a.txt
: > empty.txt
{ for i in $(seq 1 700); do echo "b $i 你好"; done; long 70000 b; } > b.txt
mkdir parts && (cd parts && split -a 5 -l 1 ../a.txt a. && split -a 5 -l 1 ../b.txt b.) || exit 3
[ "$(ls parts | wc -l)" = 3702 ] || exit 4
b4k-tokenize -v "$V" parts/a.* parts/b.* > want.jsonl || exit 5
[ "$(wc -l < want.jsonl)" = 3702 ] || exit 6
for args in "" "-t 2" "-t 3 --batch 7" "-t 2 --batch 1" "--batch 2"; do
  b4k-tokenize -v "$V" $args a.txt empty.txt b.txt > got.jsonl || exit 7
  cmp want.jsonl got.jsonl >&2 || { echo "differs with '$args'" >&2; exit 8; }
done
cat a.txt b.txt | b4k-tokenize -v "$V" -t 2 > stdin.jsonl || exit 9
# on stdin "no newline" and "b 1" are one line
[ "$(wc -l < stdin.jsonl)" = 3701 ] || exit 10
head -3000 want.jsonl | cmp - <(head -3000 stdin.jsonl) || exit 11
# a bad line deep in the second file: named by file and line, every line
# before it written
{ head -650 b.txt; printf 'bad \377\n'; tail -n +651 b.txt; } > bad.txt
for args in "" "-t 2" "-t 3 --batch 5"; do
  b4k-tokenize -v "$V" --strict $args a.txt bad.txt > part.jsonl 2> err.txt
  [ $? = 1 ] || exit 12
  grep -q '^b4k-tokenize: bad.txt:651: invalid UTF-8' err.txt || { cat err.txt >&2; exit 13; }
  head -3651 want.jsonl | cmp - part.jsonl >&2 || exit 14
done
