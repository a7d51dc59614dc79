#!/usr/bin/env bash
# Install the Debian packages b4k builds and tests with, if any are missing.
# Run as root (CI) or with sudo available.
set -eu
pkgs=(
  gcc make                       # toolchain (binutils' ar comes with gcc)
  libopenblas-dev libzstd-dev libjansson-dev   # build + runtime
  clang                          # make fuzz (libFuzzer targets)
  zstd                           # tests compress fixtures
  diffutils                      # cmp, diff in test/run.sh and the CLI cases
  time                           # /usr/bin/time: test/demo.sh (under set -e), make bench
  bc perl                        # make bench (bench_crf.sh, bench_w2v.sh's \p{L})
  unicode-data                   # regenerating the Unicode tables
  fortunes-zh                    # demo text
  python3                        # CLI cases check JSON output with /usr/bin/python3
  python3-numpy python3-jieba python3-sentencepiece   # reference checks (skip if absent)
  sentencepiece                  # spm_train (test/ref/spm_models.sh), spm_encode (make bench peer)
)
# Not listed (SKIP without them): python3-torch (golden/parity scripts and
# the data tests that need torch), node + npm (below).
# node + npm run the HF tokenizers / gpt-3-encoder peers (test tooling only);
# the machine image may already have them from elsewhere than Debian.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Node peers for parity tests, kept out of the runtime (test/node/).
if command -v npm >/dev/null 2>&1 && [ ! -d test/node/node_modules/@anush008/tokenizers ]; then
  (cd test/node && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
    echo "deps: npm install failed; node parity tests will SKIP" >&2
fi
exit 0
