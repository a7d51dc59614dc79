// HF tokenizers (Rust, via @anush008/tokenizers) BertWordPiece as a peer:
// reads text lines on stdin, writes {"ids":[...],"offsets":[[s,e],...]}
// per line (offsets in code points, as the binding returns them, like b4k).  Test/bench tooling only.
//   node hf_wordpiece.js VOCAB LOWER(0|1) [--no-special] [--batch N] [--quiet]
'use strict';
const fs = require('fs');
const readline = require('readline');
const t = require('@anush008/tokenizers');

async function main() {
  const args = process.argv.slice(2);
  const vocab = args[0], lower = args[1] === '1';
  const special = !args.includes('--no-special');
  const quiet = args.includes('--quiet');
  const bi = args.indexOf('--batch');
  const batch = bi >= 0 ? parseInt(args[bi + 1], 10) : 1000;
  const model = await t.WordPiece.fromFile(vocab, {unkToken: '[UNK]', continuingSubwordPrefix: '##',
                                                   maxInputCharsPerWord: 100});
  const tok = new t.Tokenizer(model);
  tok.setNormalizer(t.bertNormalizer({cleanText: true, handleChineseChars: true,
                                      stripAccents: lower, lowercase: lower}));
  tok.setPreTokenizer(t.bertPreTokenizer());
  tok.setPostProcessor(t.bertProcessing(['[SEP]', tok.tokenToId('[SEP]')],
                                        ['[CLS]', tok.tokenToId('[CLS]')]));
  const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
  let lines = [], ntok = 0, nbytes = 0;
  const out = [];
  const flush = async () => {
    if (!lines.length) return;
    const encs = await tok.encodeBatch(lines, {addSpecialTokens: special});
    for (let i = 0; i < encs.length; i++) {
      const ids = encs[i].getIds();
      ntok += ids.length;
      if (quiet) continue;
      const offs = encs[i].getOffsets();
      // the binding already gives offsets in code points
      const o = offs;
      out.push(JSON.stringify({ids, offsets: o}));
    }
    if (out.length) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
    lines = [];
  };
  const t0 = process.hrtime.bigint();
  for await (const line of rl) {
    lines.push(line);
    nbytes += Buffer.byteLength(line) + 1;
    if (lines.length >= batch) await flush();
  }
  await flush();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (quiet) process.stderr.write(JSON.stringify({bytes: nbytes, tokens: ntok, seconds: dt}) + '\n');
}
main().catch(e => { console.error(e); process.exit(1); });
