// gpt-3-encoder (OpenAI's GPT-2 encoder.py ported to JS) as a peer for b4k's
// --kind bpe.  Reads text lines on stdin, writes {"ids":[...]} per line; with
// --decode reads b4k JSONL records with "ids" and writes {"text":...}.
// Test and bench tooling only.  [--quiet] prints {"bytes","tokens","seconds"}.
'use strict';
const {encode, decode} = require('gpt-3-encoder');
const {readLines} = require('./lines.js');
const a = process.argv.slice(2);
const quiet = a.includes('--quiet');
const {lines, bytes} = readLines();
const out = [];
let ntok = 0;
const t0 = process.hrtime.bigint();
for (const line of lines) {
  if (a.includes('--decode')) { out.push(JSON.stringify({text: decode(JSON.parse(line).ids)})); continue; }
  const ids = encode(line);
  ntok += ids.length;
  if (!quiet) out.push(JSON.stringify({ids}));
  if (out.length > 10000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
const dt = Number(process.hrtime.bigint() - t0) / 1e9;
if (quiet) process.stderr.write(JSON.stringify({bytes, tokens: ntok, seconds: dt}) + '\n');
