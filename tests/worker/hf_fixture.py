#!/usr/bin/python3
"""Builds a tiny Hugging Face encoder checkpoint and its reference outputs.

  hf_fixture.py OUT_DIR FAMILY [--dtype f32|f16|bf16] [--sharded] [--no-pooler]
                [--spm-from JSONL [--spm-vocab N]]
                [--wordpiece-from JSONL [--wordpiece-vocab N] [--uncased]]
                [--bpe-from JSONL [--bpe-merges N]]
                [--size tiny|base]

FAMILY is bert, distilbert, roberta or xlm-roberta. OUT_DIR gets the
checkpoint in the Hugging Face layout (config.json, model.safetensors or a
sharded index) with random weights, and reference.safetensors: a batch of
input ids (with padding), the encoder's last hidden states and the logits of
a sequence classifier over them, computed here from the published equations
in plain PyTorch (no transformers), with the weights as stored (a bf16 or f16
checkpoint's weights rounded to that type, computed in float32).
"""
import argparse
import json
import math
import os
import struct
import subprocess
import tempfile

import torch

HIDDEN, LAYERS, HEADS, FFN, VOCAB, CLASSES = 32, 2, 4, 64, 120, 3
DTYPES = {"f32": (torch.float32, "F32"), "f16": (torch.float16, "F16"), "bf16": (torch.bfloat16, "BF16")}


def write_safetensors(path, tensors, names_dtype):
    """The format in a few lines: header length, JSON header, then the bytes."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": names_dtype[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def config_for(family):
    if family == "distilbert":
        return {"model_type": "distilbert", "vocab_size": VOCAB, "dim": HIDDEN, "n_layers": LAYERS, "n_heads": HEADS,
                "hidden_dim": FFN, "activation": "gelu", "max_position_embeddings": 40, "dropout": 0.1,
                "attention_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False, "pad_token_id": 0,
                "architectures": ["DistilBertForMaskedLM"]}
    roberta = family in ("roberta", "xlm-roberta")
    return {"model_type": family, "vocab_size": VOCAB, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS, "intermediate_size": FFN, "hidden_act": "gelu",
            "max_position_embeddings": 42 if roberta else 40, "type_vocab_size": 1 if roberta else 2,
            "layer_norm_eps": 1e-5 if roberta else 1e-12, "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "pad_token_id": 1 if roberta else 0,
            "position_embedding_type": "absolute", "classifier_dropout": None}


def layer_names(family, i):
    if family == "distilbert":
        b = f"transformer.layer.{i}."
        return {"q": b + "attention.q_lin", "k": b + "attention.k_lin", "v": b + "attention.v_lin",
                "o": b + "attention.out_lin", "n1": b + "sa_layer_norm", "f1": b + "ffn.lin1", "f2": b + "ffn.lin2",
                "n2": b + "output_layer_norm"}
    b = f"encoder.layer.{i}."
    return {"q": b + "attention.self.query", "k": b + "attention.self.key", "v": b + "attention.self.value",
            "o": b + "attention.output.dense", "n1": b + "attention.output.LayerNorm", "f1": b + "intermediate.dense",
            "f2": b + "output.dense", "n2": b + "output.LayerNorm"}


def random_weights(family, cfg, prefix, pooler):
    g = torch.Generator().manual_seed(20261206)
    w = {}

    def linear(name, n_out, n_in):
        w[prefix + name + ".weight"] = torch.randn(n_out, n_in, generator=g) * 0.2
        w[prefix + name + ".bias"] = torch.randn(n_out, generator=g) * 0.1

    def norm(name):
        w[prefix + name + ".weight"] = 1 + torch.randn(HIDDEN, generator=g) * 0.1
        w[prefix + name + ".bias"] = torch.randn(HIDDEN, generator=g) * 0.1

    w[prefix + "embeddings.word_embeddings.weight"] = torch.randn(VOCAB, HIDDEN, generator=g)
    w[prefix + "embeddings.position_embeddings.weight"] = torch.randn(cfg["max_position_embeddings"], HIDDEN, generator=g)
    if family != "distilbert":
        w[prefix + "embeddings.token_type_embeddings.weight"] = torch.randn(cfg["type_vocab_size"], HIDDEN, generator=g)
    norm("embeddings.LayerNorm")
    for i in range(LAYERS):
        n = layer_names(family, i)
        for k in ("q", "k", "v", "o"):
            linear(n[k], HIDDEN, HIDDEN)
        norm(n["n1"])
        linear(n["f1"], FFN, HIDDEN)
        linear(n["f2"], HIDDEN, FFN)
        norm(n["n2"])
    if pooler:
        linear("pooler.dense", HIDDEN, HIDDEN)
    return w


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def dims(cfg):
    """hidden, heads, layers of a config.json (DistilBERT names them its own way)."""
    if "dim" in cfg:
        return cfg["dim"], cfg["n_heads"], cfg["n_layers"]
    return cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]


def reference(family, cfg, w, prefix, ids, pad_id, types=None):
    """The encoder's last hidden states, from the papers' equations; `types`
    are the token types of text pairs (all 0 when None)."""
    eps = cfg.get("layer_norm_eps", 1e-12)
    hidden, heads, layers = dims(cfg)
    p = lambda name: w[prefix + name]
    mask = ids != pad_id
    if family in ("roberta", "xlm-roberta"):
        positions = torch.cumsum(mask.long(), 1) * mask.long() + pad_id
    else:
        positions = torch.arange(ids.shape[1]).expand_as(ids)
    x = p("embeddings.word_embeddings.weight")[ids] + p("embeddings.position_embeddings.weight")[positions]
    if family != "distilbert":
        x = x + p("embeddings.token_type_embeddings.weight")[torch.zeros_like(ids) if types is None else types]
    x = layer_norm(x, p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"), eps)
    lin = lambda name, t: t @ p(name + ".weight").T + p(name + ".bias")
    batch, length, d = ids.shape[0], ids.shape[1], hidden // heads
    split = lambda t: t.view(batch, length, heads, d).transpose(1, 2)
    for i in range(layers):
        n = layer_names(family, i)
        q, k, v = split(lin(n["q"], x)), split(lin(n["k"], x)), split(lin(n["v"], x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(torch.float32).min)
        context = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(batch, length, hidden)
        h = layer_norm(x + lin(n["o"], context), p(n["n1"] + ".weight"), p(n["n1"] + ".bias"), eps)
        x = layer_norm(h + lin(n["f2"], gelu(lin(n["f1"], h))), p(n["n2"] + ".weight"), p(n["n2"] + ".bias"), eps)
    return x


def train_sentencepiece(out, jsonl, vocab):
    """XLM-R's tokenizer layout, trained here; returns its number of pieces."""
    with tempfile.TemporaryDirectory() as tmp:
        texts = os.path.join(tmp, "texts.txt")
        with open(jsonl) as f, open(texts, "w") as t:
            for line in f:
                t.write(json.loads(line)["text"].replace("\n", " ") + "\n")
        subprocess.run(["spm_train", f"--input={texts}", f"--model_prefix={tmp}/spm", f"--vocab_size={vocab}",
                        "--model_type=unigram", "--hard_vocab_limit=false", "--minloglevel=2",
                        "--input_sentence_size=20000", "--shuffle_input_sentence=true",
                        "--character_coverage=0.9995"], check=True)
        os.replace(f"{tmp}/spm.model", os.path.join(out, "sentencepiece.bpe.model"))
        with open(f"{tmp}/spm.vocab") as v:
            return sum(1 for _ in v)


def write_wordpiece(out, jsonl, size, uncased):
    """BERT's tokenizer layout (vocab.txt + tokenizer_config.json): the
    special tokens, every character seen as a word start and as a "##"
    continuation, then the most frequent words; returns its size."""
    import collections
    import re
    import unicodedata
    chars, words = set(), collections.Counter()
    with open(jsonl) as f:
        for line in f:
            text = json.loads(line)["text"]
            if uncased:
                text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
            for word in re.findall(r"\w+|[^\w\s]", text):
                chars.update(word)
                words[word] += 1
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += sorted(chars) + ["##" + c for c in sorted(chars)]
    vocab += [w for w, _ in words.most_common(size) if len(w) > 1][: max(0, size - len(vocab))]
    with open(os.path.join(out, "vocab.txt"), "w") as v:
        v.write("\n".join(vocab) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as c:
        json.dump({"do_lower_case": uncased, "tokenizer_class": "BertTokenizer"}, c)
    return len(vocab)


def write_byte_bpe(out, jsonl, merges_wanted):
    """RoBERTa's tokenizer layout (vocab.json + merges.txt): the special
    tokens, GPT-2's 256 byte stand-ins, then merges learned here from the
    most frequent adjacent pairs of a sample's words; returns its size."""
    import collections
    import re
    printable = [b for b in range(256) if ord("!") <= b <= ord("~") or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    stand_in, extra = {}, 0
    for b in range(256):
        if b in printable:
            stand_in[b] = chr(b)
        else:
            stand_in[b] = chr(256 + extra)
            extra += 1
    split = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")
    words = collections.Counter()
    with open(jsonl) as f:
        for n, line in enumerate(f):
            if n >= 1500:
                break
            for w in split.findall(json.loads(line)["text"]):
                words[tuple(stand_in[b] for b in w.encode("utf-8"))] += 1
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + [stand_in[b] for b in range(256)]
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = pairs.most_common(1)[0]
        merges.append((a, b))
        vocab.append(a + b)
        merged = collections.Counter()
        for w, c in words.items():
            symbols, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == (a, b):
                    symbols.append(a + b)
                    i += 2
                else:
                    symbols.append(w[i])
                    i += 1
            merged[tuple(symbols)] += c
        words = merged
    vocab.append("<mask>")
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as v:
        json.dump({t: i for i, t in enumerate(vocab)}, v, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as m:
        m.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return len(vocab)


def main():
    global VOCAB, HIDDEN, LAYERS, HEADS, FFN
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("family", choices=["bert", "distilbert", "roberta", "xlm-roberta"])
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    ap.add_argument("--sharded", action="store_true")
    ap.add_argument("--no-pooler", action="store_true")
    ap.add_argument("--spm-from")
    ap.add_argument("--spm-vocab", type=int, default=2000)
    ap.add_argument("--wordpiece-from")
    ap.add_argument("--wordpiece-vocab", type=int, default=3000)
    ap.add_argument("--uncased", action="store_true")
    ap.add_argument("--bpe-from")
    ap.add_argument("--bpe-merges", type=int, default=150)
    ap.add_argument("--size", choices=["tiny", "base"], default="tiny",
                    help="base: the shape of bert-base, distilbert-base or xlm-roberta-base (12 x 768, their "
                         "vocabularies and positions; DistilBERT 6 layers), for measuring memory, not for tests")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.spm_from:
        VOCAB = train_sentencepiece(a.out, a.spm_from, a.spm_vocab) + 2
    if a.wordpiece_from:
        VOCAB = write_wordpiece(a.out, a.wordpiece_from, a.wordpiece_vocab, a.uncased)
    if a.bpe_from:
        VOCAB = write_byte_bpe(a.out, a.bpe_from, a.bpe_merges)
    if a.size == "base":
        HIDDEN, HEADS, FFN = 768, 12, 3072
        LAYERS = 6 if a.family == "distilbert" else 12
        VOCAB = {"bert": 30522, "distilbert": 30522, "roberta": 50265, "xlm-roberta": 250002}[a.family]
    cfg = config_for(a.family)
    if a.size == "base":
        cfg["max_position_embeddings"] = 514 if a.family in ("roberta", "xlm-roberta") else 512
    prefix = {"bert": "bert.", "distilbert": "distilbert.", "roberta": "", "xlm-roberta": "roberta."}[a.family]
    pooler = a.family == "bert" and not a.no_pooler
    dtype, _ = DTYPES[a.dtype]
    names_dtype = {t: n for t, n in DTYPES.values()}
    names_dtype[torch.int64] = "I64"
    w = {k: v.to(dtype) for k, v in random_weights(a.family, cfg, prefix, pooler).items()}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if a.sharded:
        names = sorted(w)
        halves = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
                  "model-00002-of-00002.safetensors": names[len(names) // 2:]}
        for file, part in halves.items():
            write_safetensors(os.path.join(a.out, file), {k: w[k] for k in part}, names_dtype)
        index = {"metadata": {}, "weight_map": {k: file for file, part in halves.items() for k in part}}
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f)
    else:
        write_safetensors(os.path.join(a.out, "model.safetensors"), w, names_dtype)

    wf = {k: v.float() for k, v in w.items()}
    pad_id = cfg["pad_token_id"]
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(3, VOCAB, (3, 9), generator=g)
    ids[0, 6:] = pad_id
    ids[1, 2:] = pad_id
    # Text pairs: where the checkpoint has two token types, the second text's are 1.
    types = torch.zeros_like(ids)
    if cfg.get("type_vocab_size", 0) > 1:
        types[0, 3:6] = 1
        types[2, 5:] = 1
    with torch.no_grad():
        hidden = reference(a.family, cfg, wf, prefix, ids, pad_id, types)
        head = {"dense.weight": torch.randn(HIDDEN, HIDDEN, generator=g) * 0.2,
                "dense.bias": torch.randn(HIDDEN, generator=g) * 0.1,
                "weight": torch.randn(CLASSES, HIDDEN, generator=g) * 0.2,
                "bias": torch.randn(CLASSES, generator=g) * 0.1}
        if pooler:  # BERT's pooler is the checkpoint's, not the head's own
            head["dense.weight"], head["dense.bias"] = wf[prefix + "pooler.dense.weight"], wf[prefix + "pooler.dense.bias"]
        pooled = hidden[:, 0] @ head["dense.weight"].T + head["dense.bias"]
        pooled = torch.relu(pooled) if a.family == "distilbert" else torch.tanh(pooled)
        logits = pooled @ head["weight"].T + head["bias"]
    out = {"input_ids": ids, "token_type_ids": types, "hidden": hidden, "logits": logits}
    out.update({"head." + k: v for k, v in head.items()})
    write_safetensors(os.path.join(a.out, "reference.safetensors"), out, names_dtype)


if __name__ == "__main__":
    main()
