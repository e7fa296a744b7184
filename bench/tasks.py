"""bench/run tasks: the quality of what polysweep fine-tunes on real data from
Debian packages, each against a peer trained on the same split in the same run:

  pos      configs/pos.yaml as shipped (its default budget), part-of-speech
           tagging in six languages (python3-pattern's tagged sentences,
           scripts/make-pos-data): the best trial's word accuracy on the
           test split, per language and their mean, against NLTK's
           averaged-perceptron tagger (Debian python3-nltk) trained per
           language on the same training split (5 iterations, its default).
  reviews  configs/reviews.yaml as shipped, review polarity in four
           languages (python3-pattern's reviews, scripts/make-reviews-data):
           the best trial's test macro-F1, against fastText supervised
           (Debian fasttext) tuned as its documentation suggests: its
           automatic hyperparameter search on the same valid split
           (-autotune-validation, --autotune-seconds), then scored on the
           same test split.

Goals (docs/performance.md): mean POS accuracy >= the peer's with no language
more than 2 points below it; review macro-F1 >= the peer's. Each sweep runs
in its own temporary output directory; `--only pos` or `--only reviews`
runs one half.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

from common import BIN, ROOT, build, ensure_packages, report


def run(cmd, **kwargs):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return r


def sweep(work, name, data_dir):
    """Runs configs/NAME.yaml as shipped but for its data paths and output dir; the test report."""
    with open(os.path.join(ROOT, "configs", name + ".yaml")) as f:
        config = yaml.safe_load(f)
    config["output_dir"] = os.path.join(work, name)
    for split in ("train", "valid", "test"):
        config["data"][split] = [os.path.join(data_dir, os.path.basename(p)) for p in config["data"][split]]
    path = os.path.join(work, name + ".yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    print(f"running the {name} sweep (configs/{name}.yaml)", flush=True)
    r = run([os.path.join(BIN, "polysweep"), "sweep", path, "--no-dashboard"])
    print("\n".join(line for line in r.stdout.splitlines() if line.startswith(("best", "test:", "  "))), flush=True)
    with open(os.path.join(config["output_dir"], "model", "test-report.json")) as f:
        return json.load(f)


def read_conll(path):
    lang, sentence, out = None, [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# lang = "):
                lang = line[len("# lang = "):].strip()
            elif not line.strip():
                if sentence:
                    out.append((lang, sentence))
                sentence = []
            else:
                word, tag = line.split("\t")
                sentence.append((word, tag))
    if sentence:
        out.append((lang, sentence))
    return out


def nltk_pos(data_dir):
    """NLTK's averaged perceptron per language: test accuracy by language."""
    from nltk.tag.perceptron import PerceptronTagger
    train, test = read_conll(os.path.join(data_dir, "train.conll")), read_conll(os.path.join(data_dir, "test.conll"))
    out = {}
    for lang in sorted({l for l, _ in train}):
        tagger = PerceptronTagger(load=False)
        tagger.train([s for l, s in train if l == lang], nr_iter=5)
        right = total = 0
        for l, s in test:
            if l == lang:
                guess = tagger.tag([w for w, _ in s])
                right += sum(g[1] == t for g, (_, t) in zip(guess, s))
                total += len(s)
        out[lang] = right / total
    return out


def fasttext_reviews(work, data_dir, seconds):
    """fastText supervised, autotuned on the valid split: test macro-F1."""
    def convert(split):
        path = os.path.join(work, f"ft-{split}.txt")
        with open(os.path.join(data_dir, split + ".jsonl")) as f, open(path, "w") as out:
            rows = [json.loads(line) for line in f]
            for r in rows:
                out.write(f"__label__{r['label']} {' '.join(r['text'].lower().split())}\n")
        return path, [r["label"] for r in rows]
    train, _ = convert("train")
    valid, _ = convert("valid")
    test, gold = convert("test")
    model = os.path.join(work, "ft")
    print(f"training fastText (autotune, {seconds} s)", flush=True)
    run(["fasttext", "supervised", "-input", train, "-output", model, "-autotune-validation", valid,
         "-autotune-duration", str(seconds), "-thread", "2", "-verbose", "0"])
    guess = [l.replace("__label__", "").strip() for l in run(["fasttext", "predict", model + ".bin", test]).stdout.splitlines()]
    f1s = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, guess))
        fp = sum(g != label and p == label for g, p in zip(gold, guess))
        fn = sum(g == label and p != label for g, p in zip(gold, guess))
        p = tp / (tp + fp) if tp + fp else 0
        r = tp / (tp + fn) if tp + fn else 0
        f1s.append(2 * p * r / (p + r) if p + r else 0)
    return sum(f1s) / len(f1s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["pos", "reviews"], help="run one half")
    ap.add_argument("--autotune-seconds", type=int, default=120, help="fastText's hyperparameter search time")
    args = ap.parse_args()
    ensure_packages("python3-pattern", "python3-nltk", "fasttext", "python3-yaml")
    build("polysweep", "polysweep-worker", "polysweep-predict")
    work = tempfile.mkdtemp(prefix="polysweep-bench-tasks-")
    figures = []
    try:
        if args.only in (None, "pos"):
            data = os.path.join(work, "pos-data")
            run([os.path.join(ROOT, "scripts", "make-pos-data"), "--out", data])
            ours = sweep(work, "pos", data)
            peer = nltk_pos(data)
            mine = {lang: ours["languages"][lang]["accuracy"] for lang in peer}
            figures.append({"name": "POS word accuracy, mean over 6 languages", "unit": "accuracy",
                            "ours": sum(mine.values()) / len(mine), "peer": sum(peer.values()) / len(peer),
                            "goal": 1.0, "better": "higher"})
            for lang in sorted(peer):
                figures.append({"name": f"POS word accuracy, {lang}", "unit": "accuracy", "ours": mine[lang],
                                "peer": peer[lang], "goal": round((peer[lang] - 0.02) / peer[lang], 3),
                                "better": "higher"})
        if args.only in (None, "reviews"):
            data = os.path.join(work, "reviews-data")
            run([os.path.join(ROOT, "scripts", "make-reviews-data"), "--out", data])
            ours = sweep(work, "reviews", data)
            figures.append({"name": "review polarity macro-F1, test split", "unit": "F1",
                            "ours": ours["macro"]["f1"], "peer": fasttext_reviews(work, data, args.autotune_seconds),
                            "goal": 1.0, "better": "higher"})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("tasks", figures, "peers: NLTK averaged perceptron (POS), fastText supervised with autotune (reviews); "
                             "same train/valid/test files")


if __name__ == "__main__":
    main()
