// Writing a model fine-tuned from a Hugging Face checkpoint back in Hugging
// Face's layout, for AutoModelForSequenceClassification and the tools that
// read it: config.json (the base's, with the family's
// ...ForSequenceClassification architecture, id2label and label2id),
// model.safetensors (the base's tensor names with the fine-tuned values,
// LoRA adapters merged into their layers, and the head under the family's
// names), and the tokenizer files the family's tokenizer class reads.
// Heavy header (LibTorch).
#pragma once

#include <string>

#include "common/status.h"

namespace polysweep {

// Writes the model directory `model_dir` (an export of `polysweep
// export-model`) as a Hugging Face directory `out_dir`, through out_dir.tmp
// (nothing is left at out_dir on failure). Refuses, naming the file, a model
// not fine-tuned from a Hugging Face checkpoint and one that is not a
// sequence classifier.
Status ExportHfModel(const std::string& model_dir, const std::string& out_dir);

}  // namespace polysweep
