// Round-trip check: node cmp_text.js DECODED.jsonl ORIGINAL.txt
// Counts lines whose "text" field differs from the original line (read as
// b4k reads it: split on '\n', invalid UTF-8 -> U+FFFD).  Prints the count.
'use strict';
const fs = require('fs');
const dec = new TextDecoder('utf-8', {ignoreBOM: true});
function split(buf) {
  const out = []; let s = 0;
  for (;;) { const e = buf.indexOf(10, s); if (e < 0) { if (s < buf.length) out.push(buf.subarray(s)); break; }
             out.push(buf.subarray(s, e)); s = e + 1; }
  return out;
}
const got = split(fs.readFileSync(process.argv[2]));
const want = split(fs.readFileSync(process.argv[3]));
let bad = 0, shown = 0;
const n = Math.max(got.length, want.length);
for (let i = 0; i < n; i++) {
  const g = i < got.length ? JSON.parse(dec.decode(got[i])).text : undefined;
  const w = i < want.length ? dec.decode(want[i]) : undefined;
  if (g !== w) { bad++; if (shown++ < 3) process.stderr.write(`line ${i + 1}: ${JSON.stringify(g)} != ${JSON.stringify(w)}\n`); }
}
console.log(bad);
