#include "tokenizer/tokenizer.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "common/files.h"
#include "tokenizer/byte_bpe.h"
#include "tokenizer/pair.h"
#include "tokenizer/wordpiece.h"

namespace polysweep {

// The loaded spm_module and its entry points.
class SpmModule {
 public:
  using TrainFn = int (*)(const char*, char*, size_t);
  using LoadFn = void* (*)(const char*, char*, size_t);
  using FreeFn = void (*)(void*);
  using IntFn = int (*)(void*);
  using EncodeFn = long (*)(void*, const char*, size_t, int*, size_t);
  using EncodePiecesFn = long (*)(void*, const char*, size_t, int*, uint32_t*, uint32_t*, size_t);
  using EncodeWordsFn = long (*)(void*, const char*, size_t, int*, uint32_t*, uint32_t*, uint8_t*, size_t);

  static StatusOr<std::shared_ptr<SpmModule>> Get() {
    // dlopen is reference-counted and idempotent; a process loads one copy.
    std::vector<std::string> candidates;
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back((self.parent_path() / "libpolysweep_spm.so").string());
      candidates.push_back((self.parent_path() / "../lib/polysweep/libpolysweep_spm.so").string());
    }
    candidates.push_back(POLYSWEEP_SPM_MODULE);
    std::string errors;
    for (const auto& path : candidates) {
      if (!std::filesystem::exists(path, ec)) continue;
      void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!lib) {
        errors += std::string(" ") + dlerror();
        continue;
      }
      auto m = std::shared_ptr<SpmModule>(new SpmModule(lib));
      if (!m->train || !m->load || !m->encode || !m->encode_pieces || !m->encode_words || !m->eos_id) {
        return Status::Error(path + ": not a polysweep SentencePiece module");
      }
      return m;
    }
    return Status::Error("cannot load the SentencePiece module libpolysweep_spm.so (looked next to the executable"
                         " and in " + std::string(POLYSWEEP_SPM_MODULE) + ")" + errors);
  }
  ~SpmModule() { dlclose(lib_); }

  TrainFn train;
  LoadFn load;
  FreeFn free;
  IntFn piece_size, pad_id, unk_id, eos_id;
  EncodeFn encode;
  EncodePiecesFn encode_pieces;
  EncodeWordsFn encode_words;

 private:
  explicit SpmModule(void* lib) : lib_(lib) {
    train = reinterpret_cast<TrainFn>(dlsym(lib, "ps_spm_train"));
    load = reinterpret_cast<LoadFn>(dlsym(lib, "ps_spm_load"));
    free = reinterpret_cast<FreeFn>(dlsym(lib, "ps_spm_free"));
    piece_size = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_piece_size"));
    pad_id = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_pad_id"));
    unk_id = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_unk_id"));
    eos_id = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_eos_id"));
    encode = reinterpret_cast<EncodeFn>(dlsym(lib, "ps_spm_encode"));
    encode_pieces = reinterpret_cast<EncodePiecesFn>(dlsym(lib, "ps_spm_encode_pieces"));
    encode_words = reinterpret_cast<EncodeWordsFn>(dlsym(lib, "ps_spm_encode_words"));
  }
  void* lib_;
};

Tokenizer::~Tokenizer() {
  if (handle_) module_->free(handle_);
}

namespace {

// XLM-R's frame: <s> ... </s>.
TextFrame FairseqFrame() { return TextFrame{0, 2, "<s>", "</s>"}; }

// The tokenizer polysweep implements itself that `ids` names, read from `path`.
template <typename Encoder, typename ReadSpec>
StatusOr<std::unique_ptr<TextEncoder>> MakeEncoder(const std::string& path, ReadSpec read) {
  auto spec = read(path);
  if (!spec.ok()) return spec.status();
  auto made = Encoder::Make(std::move(*spec));
  if (!made.ok()) return made.status().With(path);
  return std::unique_ptr<TextEncoder>(std::move(*made));
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& model_path, TokenIds ids) {
  if (ids == TokenIds::kWordPiece || ids == TokenIds::kByteBpe) {
    auto encoder = ids == TokenIds::kWordPiece ? MakeEncoder<WordPiece>(model_path, ReadWordPieceSpec)
                                               : MakeEncoder<ByteBpe>(model_path, ReadByteBpeSpec);
    if (!encoder.ok()) return encoder.status();
    std::unique_ptr<Tokenizer> t(new Tokenizer());
    t->ids_ = ids;
    t->vocab_size_ = (*encoder)->vocab_size();
    t->pad_id_ = (*encoder)->pad_id();
    t->unk_id_ = (*encoder)->unk_id();
    t->encoder_ = std::move(*encoder);
    return t;
  }
  auto module = SpmModule::Get();
  if (!module.ok()) return module.status();
  char err[512] = {0};
  void* handle = (*module)->load(model_path.c_str(), err, sizeof err);
  if (!handle) return Status::Error(model_path + ": cannot load tokenizer: " + err);
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->module_ = *module;
  t->handle_ = handle;
  t->ids_ = ids;
  t->vocab_size_ = t->module_->piece_size(handle);
  t->pad_id_ = t->module_->pad_id(handle);
  t->unk_id_ = t->module_->unk_id(handle);
  t->eos_id_ = t->module_->eos_id(handle);
  if (ids == TokenIds::kFairseq) {
    // XLM-R's dictionary: four specials first, <unk> among them, every
    // other piece one up, and <mask> after the last.
    if (t->unk_id_ != 0) {
      return Status::DataError(model_path + ": fairseq ids need <unk> at SentencePiece id 0 (as XLM-R's model has), "
                               "this model has it at " + std::to_string(t->unk_id_));
    }
    t->vocab_size_ += 2;
    t->pad_id_ = 1;
    t->unk_id_ = 3;
    t->eos_id_ = 2;
    // Matched in the raw text, <mask> taking the space before it, as
    // Hugging Face's XLM-R tokenizer does.
    t->specials_ = SpecialTokens({{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3},
                                  {"<mask>", t->vocab_size_ - 1, /*lstrip=*/true, false}});
  }
  return t;
}

Status Tokenizer::SpmPieces(std::string_view text, uint32_t begin, uint32_t end, size_t max_ids,
                            std::vector<int>* out, std::vector<PieceOffsets>* offsets,
                            std::vector<uint32_t>* word_ends) const {
  const size_t start = out->size();
  out->resize(start + max_ids);
  const bool pieces = offsets || word_ends;
  std::vector<uint32_t> begins(pieces ? max_ids : 0), ends(pieces ? max_ids : 0);
  std::vector<uint8_t> word_starts(word_ends ? max_ids : 0);
  const char* data = text.data() + begin;
  int* ids = out->data() + start;
  long n = 0;
  if (word_ends) {
    n = module_->encode_words(handle_, data, end - begin, ids, begins.data(), ends.data(), word_starts.data(), max_ids);
  } else if (pieces) {
    n = module_->encode_pieces(handle_, data, end - begin, ids, begins.data(), ends.data(), max_ids);
  } else {
    n = module_->encode(handle_, data, end - begin, ids, max_ids);
  }
  if (n < 0) {
    out->resize(start);
    return Status::Error("tokenizer failed to encode a text");
  }
  const size_t kept = std::min(static_cast<size_t>(n), max_ids);
  out->resize(start + kept);
  if (ids_ == TokenIds::kFairseq) {
    constexpr int kUnk = 3;
    for (size_t i = start; i < out->size(); ++i) (*out)[i] = (*out)[i] == 0 ? kUnk : (*out)[i] + 1;
  }
  for (size_t i = 0; offsets && i < kept; ++i) offsets->push_back(PieceOffsets{begins[i] + begin, ends[i] + begin});
  // A word ends where the next begins, and where the text does.
  for (size_t i = 1; word_ends && i < kept; ++i) {
    if (word_starts[i]) word_ends->push_back(static_cast<uint32_t>(start + i));
  }
  if (word_ends && kept > 0) word_ends->push_back(static_cast<uint32_t>(start + kept));
  return Status::Ok();
}

StatusOr<std::string> Tokenizer::CopyInto(const std::string& path, TokenIds ids, const std::string& dir) {
  if (ids == TokenIds::kWordPiece || ids == TokenIds::kByteBpe) {
    std::string json;
    if (ids == TokenIds::kWordPiece) {
      auto spec = ReadWordPieceSpec(path);
      if (!spec.ok()) return spec.status();
      json = WordPieceTokenizerJson(*spec);
    } else {
      auto spec = ReadByteBpeSpec(path);
      if (!spec.ok()) return spec.status();
      json = ByteBpeTokenizerJson(*spec);
    }
    PS_RETURN_IF_ERROR(WriteFileAtomic(dir + "/tokenizer.json", json));
    return std::string("tokenizer.json");
  }
  std::error_code ec;
  std::filesystem::copy_file(path, dir + "/tokenizer.model", std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return Status::NotFound(path + ": cannot copy tokenizer: " + ec.message());
  return std::string("tokenizer.model");
}

Status Tokenizer::Train(const std::string& args) {
  auto module = SpmModule::Get();
  if (!module.ok()) return module.status();
  char err[512] = {0};
  if ((*module)->train(args.c_str(), err, sizeof err) != 0) {
    return Status::Error(std::string("tokenizer training failed: ") + err);
  }
  return Status::Ok();
}

Status Tokenizer::Encode(std::string_view text, size_t max_ids, std::vector<int>* out) const {
  return Encode(text, max_ids, out, nullptr);
}

Status Tokenizer::Encode(std::string_view text, size_t max_ids, std::vector<int>* out,
                         std::vector<PieceOffsets>* offsets) const {
  return EncodeWords(text, max_ids, out, offsets, nullptr);
}

Status Tokenizer::EncodeWords(std::string_view text, size_t max_ids, std::vector<int>* out,
                              std::vector<PieceOffsets>* offsets, std::vector<uint32_t>* word_ends) const {
  if (encoder_) return encoder_->Encode(text, max_ids, out, offsets, word_ends);
  if (text.size() >= UINT32_MAX) return Status::DataError("a text of over 4 GiB");
  const auto n = static_cast<uint32_t>(text.size());
  if (ids_ != TokenIds::kFairseq) return SpmPieces(text, 0, n, max_ids, out, offsets, word_ends);
  // Fairseq ids: <s>, the pieces of the text between the special tokens
  // (matched in the raw text, as Hugging Face's tokenizer does) and the
  // specials themselves, </s>.
  return EncodeFramed(text, max_ids, FairseqFrame(), specials_,
                      [&](uint32_t begin, uint32_t end, size_t budget) {
                        return SpmPieces(text, begin, end, budget, out, offsets, word_ends);
                      },
                      out, offsets);
}

PairFrame Tokenizer::pair_frame() const {
  if (ids_ == TokenIds::kSentencePiece) {
    // No frame of its own: the model's </s> between the texts, if it has one.
    return eos_id_ < 0 ? PairFrame{} : PairFrame{{}, {eos_id_}, {}, 1};
  }
  const TextFrame f = encoder_ ? encoder_->frame() : FairseqFrame();
  if (ids_ == TokenIds::kWordPiece) return PairFrame{{f.open_id}, {f.close_id}, {f.close_id}, 1};
  return PairFrame{{f.open_id}, {f.close_id, f.close_id}, {f.close_id}, 1};
}

Status Tokenizer::AllPieces(std::string_view text, bool with_offsets, TextPieces* pieces) const {
  const size_t frame = ids_ == TokenIds::kSentencePiece ? 0 : 2;
  // A budget of more pieces than the text has: nothing is cut then. A text
  // that fills it may have been cut, and is encoded again with twice it.
  for (size_t budget = text.size() + 8;; budget *= 2) {
    pieces->ids.clear();
    pieces->offsets.clear();
    pieces->word_ends.clear();
    PS_RETURN_IF_ERROR(EncodeWords(text, budget + frame, &pieces->ids, with_offsets ? &pieces->offsets : nullptr,
                                   &pieces->word_ends));
    if (pieces->ids.size() < budget + frame) break;
  }
  if (frame > 0) {  // <s> (or [CLS]) and </s> (or [SEP]) off
    pieces->ids.pop_back();
    pieces->ids.erase(pieces->ids.begin());
    if (with_offsets) {
      pieces->offsets.pop_back();
      pieces->offsets.erase(pieces->offsets.begin());
    }
    for (uint32_t& end : pieces->word_ends) --end;
  }
  return Status::Ok();
}

Status Tokenizer::EncodePair(std::string_view a, std::string_view b, size_t max_ids, std::vector<int>* out,
                             size_t* second_start) const {
  return EncodePair(a, b, max_ids, out, second_start, nullptr);
}

Status Tokenizer::EncodePair(std::string_view a, std::string_view b, size_t max_ids, std::vector<int>* out,
                             size_t* second_start, std::vector<PieceOffsets>* offsets) const {
  const PairFrame frame = pair_frame();
  TextPieces first, second;
  if (max_ids >= frame.size()) {
    PS_RETURN_IF_ERROR(AllPieces(a, offsets != nullptr, &first));
    PS_RETURN_IF_ERROR(AllPieces(b, offsets != nullptr, &second));
  }
  return AppendPair(frame, first, second, max_ids, out, offsets, second_start);
}

}  // namespace polysweep
