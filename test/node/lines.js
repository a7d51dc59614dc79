// Read all of stdin and split it into lines exactly as b4k does: on '\n'
// only (a '\r' stays in the line), no empty line after a final '\n', and
// invalid UTF-8 replaced by U+FFFD per maximal subpart (WHATWG decoder), and
// a leading U+FEFF kept (TextDecoder would drop it: ignoreBOM).
'use strict';
function readLines() {
  const fs = require('fs');
  const chunks = [];
  const buf = Buffer.alloc(1 << 20);
  for (;;) {
    let n;
    try { n = fs.readSync(0, buf, 0, buf.length, null); }
    catch (e) { if (e.code === 'EAGAIN') continue; if (e.code === 'EOF') break; throw e; }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  const all = Buffer.concat(chunks);
  const dec = new TextDecoder('utf-8', {fatal: false, ignoreBOM: true});
  const lines = [];
  let s = 0;
  for (;;) {
    const e = all.indexOf(10, s);
    if (e < 0) { if (s < all.length) lines.push(dec.decode(all.subarray(s))); break; }
    lines.push(dec.decode(all.subarray(s, e)));
    s = e + 1;
  }
  return {lines, bytes: all.length};
}
module.exports = {readLines};
