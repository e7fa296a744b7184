#!/usr/bin/python3
"""Writes the tokenizer.json Hugging Face's converter makes of an XLM-R
SentencePiece model (transformers' XLMRobertaConverter, in the form of
xlm-roberta-base's own tokenizer.json): a Unigram model over fairseq's ids
(<s>=0, <pad>=1, </s>=2, <unk>=3, every piece from SentencePiece id 3 on one
up, <mask> last), the model's precompiled normalization, whitespace split
with the "▁" word marks, and <s> ... </s> around each text.

  spm_to_tokenizer_json.py MODEL OUT

The model's protobuf is read here in a few lines, so nothing beyond Python
is needed.
"""
import base64
import json
import struct
import sys


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def fields(buf):
    """(field number, wire type, value) of each field of a message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def read_model(path):
    pieces, charsmap = [], b""
    with open(path, "rb") as f:
        buf = f.read()
    for number, _, value in fields(buf):
        if number == 1:  # SentencePiece {piece = 1, score = 2}
            piece, score = "", 0.0
            for n, _, v in fields(value):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = struct.unpack("<f", v)[0]
            pieces.append((piece, score))
        elif number == 3:  # NormalizerSpec {precompiled_charsmap = 2}
            for n, _, v in fields(value):
                if n == 2:
                    charsmap = v
    return pieces, charsmap


def main():
    model, out = sys.argv[1], sys.argv[2]
    pieces, charsmap = read_model(model)
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p, s] for p, s in pieces[3:]]
    vocab += [["<mask>", 0.0]]
    specials = [(t, i) for i, (t, _) in enumerate(vocab) if t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False,
              "normalized": False, "special": True} for t, i in specials]

    def special(token, type_id=0):
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    def sequence(name, type_id=0):
        return {"Sequence": {"id": name, "type_id": type_id}}

    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("<s>"), sequence("A"), special("</s>")],
            "pair": [special("<s>"), sequence("A"), special("</s>"), special("</s>"), sequence("B"), special("</s>")],
            "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in specials if t in ("<s>", "</s>")},
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
