// HF tokenizers (Rust core via @anush008/tokenizers) as a peer for b4k.
// Test and bench tooling only.  Reads text lines on stdin.
//   node hf_tok.js wordpiece VOCAB LOWER(0|1) [opts]   -> {"ids","segment_ids","offsets"}
//   node hf_tok.js bpe ENCODER.json VOCAB.bpe [opts]   -> {"ids"}
//   node hf_tok.js wpdecode VOCAB SKIP(0|1)            (stdin: b4k JSONL with "ids") -> {"text"}
// --quiet prints {"bytes","tokens","seconds","cpu"} (cpu: user+sys seconds of
// all threads during encoding) on stderr instead of the records.
// opts: --no-special  --batch N (encodeBatch size, default 1000)
//       --pairs (stdin: compact JSONL records with string members "a" and "b";
//                output: the record with ids/segment_ids/offsets appended,
//                as b4k-tokenize -f a --pair-field b writes it)
//       --max-len N (truncation, LongestFirst)
//       --quiet (no output; prints {"bytes","tokens","seconds"} on stderr)
'use strict';
const t = require('@anush008/tokenizers');
const {readLines} = require('./lines.js');

async function main() {
  const a = process.argv.slice(2);
  const kind = a[0];
  const special = !a.includes('--no-special');
  const quiet = a.includes('--quiet');
  const bi = a.indexOf('--batch');
  const batch = bi >= 0 ? parseInt(a[bi + 1], 10) : 1000;
  let tok;
  if (kind === 'wordpiece' || kind === 'wpdecode') {
    const lower = a[2] === '1';
    const model = await t.WordPiece.fromFile(a[1], {unkToken: '[UNK]', continuingSubwordPrefix: '##',
                                                    maxInputCharsPerWord: 100});
    tok = new t.Tokenizer(model);
    tok.setNormalizer(t.bertNormalizer({cleanText: true, handleChineseChars: true,
                                        stripAccents: lower, lowercase: lower}));
    tok.setPreTokenizer(t.bertPreTokenizer());
    tok.setPostProcessor(t.bertProcessing(['[SEP]', tok.tokenToId('[SEP]')],
                                          ['[CLS]', tok.tokenToId('[CLS]')]));
    tok.setDecoder(t.wordPieceDecoder('##', true));
  } else if (kind === 'bpe') {
    const model = await t.BPE.fromFile(a[1], a[2], {});
    tok = new t.Tokenizer(model);
    tok.setPreTokenizer(t.byteLevelPreTokenizer(false, true));
    if (t.byteLevelDecoder) tok.setDecoder(t.byteLevelDecoder());
  } else {
    throw new Error('unknown kind ' + kind);
  }
  const pairs = a.includes('--pairs');
  const mi = a.indexOf('--max-len');
  if (mi >= 0) tok.setTruncation(parseInt(a[mi + 1], 10));
  const {lines, bytes} = readLines();
  const out = [];
  let ntok = 0;
  const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
  if (kind === 'wpdecode') {
    // decode with the special tokens registered, as BertWordPieceTokenizer does
    tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    const skip = a[2] === '1';
    for (const line of lines) {
      const ids = JSON.parse(line).ids;
      out.push(JSON.stringify({text: await tok.decode(ids, skip)}));
    }
  } else {
    for (let s = 0; s < lines.length; s += batch) {
      const chunk = lines.slice(s, s + batch);
      let encs;
      if (pairs) { // this binding's encodeBatch takes single texts only
        encs = [];
        for (const l of chunk) { const r = JSON.parse(l); encs.push(await tok.encode(r.a, r.b, {addSpecialTokens: special})); }
      } else {
        encs = await tok.encodeBatch(chunk, {addSpecialTokens: special});
      }
      for (let i = 0; i < encs.length; i++) {
        const e = encs[i];
        const ids = e.getIds();
        ntok += ids.length;
        if (quiet) continue;
        if (kind === 'bpe') out.push(JSON.stringify({ids}));
        else {
          const rec = JSON.stringify({ids, segment_ids: e.getTypeIds(), offsets: e.getOffsets()});
          out.push(pairs ? chunk[i].replace(/}\s*$/, ',' + rec.slice(1)) : rec);
        }
      }
      if (out.length > 10000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
    }
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0), cpu = (cu.user + cu.system) / 1e6; // all threads
  if (quiet) process.stderr.write(JSON.stringify({bytes, tokens: ntok, seconds: dt, cpu}) + '\n');
}
main().catch(e => { console.error(String(e)); process.exit(1); });
