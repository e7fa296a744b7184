"""bench/run shard: sharding + tokenizing throughput against SentencePiece's own
spm_encode, on the same corpus and the same tokenizer model, in the same run.

Corpus: the default dataset (data/default/ddtp.jsonl) repeated --copies times.
polysweep: `polysweep shard --force` with data.tokenizer set (no training), so
it parses and validates every JSONL line, splits, tokenizes on all cores and
writes binary shards and the manifest. Peer: `spm_encode --output_format=id`
on the text field alone (one text per line), writing ids to /dev/null.
Throughput counts only the text bytes for both (the JSON around the text is
extra work for polysweep that the figure does not credit). Best of --repeat.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

from common import BIN, ROOT, build, report, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = os.path.join(ROOT, "data", "default", "ddtp.jsonl")
    if not os.path.exists(data):
        subprocess.run([os.path.join(ROOT, "scripts", "make-default-data")], check=True)
    if not shutil.which("spm_encode"):
        raise SystemExit("spm_encode not found: apt-get install sentencepiece (scripts/install-deps does)")
    build("polysweep", "polysweep_spm")
    polysweep = os.path.join(BIN, "polysweep")

    work = tempfile.mkdtemp(prefix="polysweep-bench-shard-")
    try:
        corpus = os.path.join(work, "corpus.jsonl")
        texts = os.path.join(work, "texts.txt")
        text_bytes = 0
        with open(data, encoding="utf-8") as src, open(corpus, "w", encoding="utf-8") as out, \
                open(texts, "w", encoding="utf-8") as plain:
            lines = src.readlines()
            for copy in range(args.copies):
                for line in lines:
                    row = json.loads(line)
                    row["group"] = f"{row['group']}#{copy}"
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    text = row["text"].replace("\n", " ")
                    plain.write(text + "\n")
                    text_bytes += len(text.encode("utf-8"))

        # One tokenizer for both: train it once with polysweep.
        config = os.path.join(work, "bench.yaml")

        def write_config(tokenizer):
            with open(config, "w") as f:
                f.write(f"name: bench\noutput_dir: {work}/run\n"
                        f"data:\n  files: [{corpus}]\n  group_field: group\n  vocab_size: 8000\n"
                        + (f"  tokenizer: {tokenizer}\n" if tokenizer else "")
                        + "search:\n  space:\n    lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}\n"
                        + "budget: {max_trials: 1, max_steps: 1}\n")

        write_config(None)
        timed([polysweep, "shard", config], stdout=subprocess.DEVNULL)
        model = os.path.join(work, "tokenizer.model")
        shutil.copy(os.path.join(work, "run", "data", "tokenizer.model"), model)
        write_config(model)

        ours = min(timed([polysweep, "shard", "--force", config], stdout=subprocess.DEVNULL)
                   for _ in range(args.repeat))
        peer = float("inf")
        for _ in range(args.repeat):
            with open(texts, "rb") as stdin, open(os.devnull, "wb") as devnull:
                peer = min(peer, timed(["spm_encode", f"--model={model}", "--output_format=id"],
                                       stdin=stdin, stdout=devnull))
        mb = text_bytes / 1e6
        report("shard", [{
            "name": "shard+tokenize throughput", "unit": "MB/s of text",
            "ours": mb / ours, "peer": mb / peer, "goal": 1.5, "better": "higher",
        }], notes=f"corpus: {mb:.1f} MB of text in {len(lines) * args.copies} examples; "
                  f"polysweep {ours:.2f} s on {os.cpu_count()} cores, spm_encode {peer:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
