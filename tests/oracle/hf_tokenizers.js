// Hugging Face's tokenizers library as the reference polysweep's tokenizers
// are compared with (tests/unit/tokenizer_oracle_test.cc, bench/run tokenize).
//
//   node hf_tokenizers.js train-wordpiece TEXTS LOWERCASE OUT_DIR
//       trains a WordPiece vocabulary on TEXTS (one JSON string per line) with
//       the library's trainer, and writes a BERT-style tokenizer directory:
//       vocab.txt, tokenizer_config.json and the library's tokenizer.json
//   node hf_tokenizers.js train-bpe TEXTS OUT_DIR
//       trains a byte-level BPE (GPT-2's pre-tokenizer) on TEXTS with the
//       library's trainer, and writes a RoBERTa-style tokenizer directory:
//       vocab.json, merges.txt, tokenizer_config.json and the library's
//       tokenizer.json (<s>=0, <pad>=1, </s>=2, <unk>=3, every byte's
//       stand-in, the learned tokens, <mask> last, taking the space before it)
//   node hf_tokenizers.js encode TOKENIZER_JSON TEXTS OUT
//       writes the ids of each text (special tokens added), one line each
//   node hf_tokenizers.js encode-pair TOKENIZER_JSON PAIRS MAX_LENGTH OUT
//       encodes each pair of PAIRS (one JSON array [a, b] per line) as a text
//       pair, truncated to MAX_LENGTH ids in all (the library's default
//       strategy, longest first), and writes {"ids": [...], "type_ids":
//       [...], "sequence_ids": [...]} for each (the sequence of each id: 0,
//       1, or null for the special tokens the pair is framed with), one line
//       each
//   node hf_tokenizers.js time TOKENIZER_JSON TEXTS ROUNDS
//       encodes the texts ROUNDS times, in batches of 1,000 (one call each,
//       so the time is the library's, not the calls'; RAYON_NUM_THREADS=1
//       keeps it on one thread), and prints {"texts": N, "ids": I,
//       "seconds": S} for the fastest round
const fs = require('fs');
const path = require('path');
const os = require('os');
const tk = require('tokenizers');

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function readTexts(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

function bertTokenizer(vocab, lowercase) {
  const t = new tk.Tokenizer(tk.WordPiece.init(vocab, { unkToken: '[UNK]' }));
  t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  return t;
}

function trainWordPiece(textsFile, lowercase, outDir) {
  const plain = path.join(os.tmpdir(), `wordpiece-train-${process.pid}.txt`);
  fs.writeFileSync(plain, readTexts(textsFile).join('\n') + '\n');
  const trainer = bertTokenizer({}, lowercase);
  trainer.train([plain]);
  fs.unlinkSync(plain);
  const learned = Object.entries(trainer.getVocab()).sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  const tokens = SPECIALS.concat(learned.filter((t) => !SPECIALS.includes(t)));
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const t = bertTokenizer(vocab, lowercase);
  t.setPostProcessor(tk.bertProcessing(['[SEP]', vocab['[SEP]']], ['[CLS]', vocab['[CLS]']]));
  t.addSpecialTokens(SPECIALS);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'vocab.txt'), tokens.join('\n') + '\n');
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'),
                   JSON.stringify({ do_lower_case: lowercase, tokenizer_class: 'BertTokenizer' }, null, 2) + '\n');
  t.save(path.join(outDir, 'tokenizer.json'), true);
}

function trainBpe(textsFile, outDir) {
  const plain = path.join(os.tmpdir(), `bpe-train-${process.pid}.txt`);
  fs.writeFileSync(plain, readTexts(textsFile).join('\n') + '\n');
  const trainer = new tk.Tokenizer(tk.BPE.empty());
  trainer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  trainer.train([plain]);
  fs.unlinkSync(plain);
  const saved = path.join(os.tmpdir(), `bpe-trained-${process.pid}.json`);
  trainer.save(saved);
  const model = JSON.parse(fs.readFileSync(saved, 'utf8')).model;
  fs.unlinkSync(saved);
  const learned = Object.entries(model.vocab).sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  const tokens = [];
  for (const t of specials.concat(tk.byteLevelAlphabet().sort(), learned)) if (!tokens.includes(t)) tokens.push(t);
  tokens.push('<mask>');
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const merges = model.merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));
  const t = new tk.Tokenizer(tk.BPE.init(vocab, merges));
  t.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  t.setPostProcessor(tk.robertaProcessing(['</s>', vocab['</s>']], ['<s>', vocab['<s>']], true, false));
  t.addAddedTokens(specials.map((s) => new tk.AddedToken(s, true)).concat(
      [new tk.AddedToken('<mask>', true, { leftStrip: true })]));
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'vocab.json'), JSON.stringify(vocab));
  fs.writeFileSync(path.join(outDir, 'merges.txt'), '#version: 0.2\n' + merges.map((m) => m.join(' ')).join('\n') + '\n');
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'),
                   JSON.stringify({ add_prefix_space: false, tokenizer_class: 'RobertaTokenizer' }, null, 2) + '\n');
  t.save(path.join(outDir, 'tokenizer.json'), true);
}

async function encode(tokenizerJson, textsFile, out) {
  const t = tk.Tokenizer.fromFile(tokenizerJson);
  const lines = [];
  for (const text of readTexts(textsFile)) lines.push((await t.encode(text)).getIds().join(' '));
  fs.writeFileSync(out, lines.join('\n') + '\n');
}

async function encodePair(tokenizerJson, pairsFile, maxLength, out) {
  const t = tk.Tokenizer.fromFile(tokenizerJson);
  t.setTruncation(maxLength);
  const lines = [];
  for (const [a, b] of readTexts(pairsFile)) {
    const e = await t.encode(a, b);
    lines.push(JSON.stringify({ ids: e.getIds(), type_ids: e.getTypeIds(), sequence_ids: e.getSequenceIds() }));
  }
  fs.writeFileSync(out, lines.join('\n') + '\n');
}

async function time(tokenizerJson, textsFile, rounds) {
  const t = tk.Tokenizer.fromFile(tokenizerJson);
  const texts = readTexts(textsFile);
  let best = Infinity;
  let ids = 0;
  for (let r = 0; r < rounds; ++r) {
    ids = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < texts.length; i += 1000) {
      for (const e of await t.encodeBatch(texts.slice(i, i + 1000))) ids += e.getIds().length;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  console.log(JSON.stringify({ texts: texts.length, ids, seconds: best }));
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'train-wordpiece' && args.length === 3) return trainWordPiece(args[0], args[1] === 'true', args[2]);
  if (mode === 'train-bpe' && args.length === 2) return trainBpe(args[0], args[1]);
  if (mode === 'encode' && args.length === 3) return encode(args[0], args[1], args[2]);
  if (mode === 'encode-pair' && args.length === 4) return encodePair(args[0], args[1], Number(args[2]), args[3]);
  if (mode === 'time' && args.length === 3) return time(args[0], args[1], Number(args[2]));
  console.error('usage: hf_tokenizers.js train-wordpiece TEXTS LOWERCASE OUT_DIR | train-bpe TEXTS OUT_DIR |' +
                ' encode TOKENIZER_JSON TEXTS OUT | encode-pair TOKENIZER_JSON PAIRS MAX_LENGTH OUT |' +
                ' time TOKENIZER_JSON TEXTS ROUNDS');
  process.exit(2);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
