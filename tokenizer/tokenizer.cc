#include "tokenizer/tokenizer.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "common/files.h"
#include "tokenizer/byte_bpe.h"
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
      if (!m->train || !m->load || !m->encode || !m->encode_pieces) return Status::Error(path + ": not a polysweep SentencePiece module");
      return m;
    }
    return Status::Error("cannot load the SentencePiece module libpolysweep_spm.so (looked next to the executable"
                         " and in " + std::string(POLYSWEEP_SPM_MODULE) + ")" + errors);
  }
  ~SpmModule() { dlclose(lib_); }

  TrainFn train;
  LoadFn load;
  FreeFn free;
  IntFn piece_size, pad_id, unk_id;
  EncodeFn encode;
  EncodePiecesFn encode_pieces;

 private:
  explicit SpmModule(void* lib) : lib_(lib) {
    train = reinterpret_cast<TrainFn>(dlsym(lib, "ps_spm_train"));
    load = reinterpret_cast<LoadFn>(dlsym(lib, "ps_spm_load"));
    free = reinterpret_cast<FreeFn>(dlsym(lib, "ps_spm_free"));
    piece_size = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_piece_size"));
    pad_id = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_pad_id"));
    unk_id = reinterpret_cast<IntFn>(dlsym(lib, "ps_spm_unk_id"));
    encode = reinterpret_cast<EncodeFn>(dlsym(lib, "ps_spm_encode"));
    encode_pieces = reinterpret_cast<EncodePiecesFn>(dlsym(lib, "ps_spm_encode_pieces"));
  }
  void* lib_;
};

Tokenizer::~Tokenizer() {
  if (handle_) module_->free(handle_);
}

namespace {

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
    // Matched in the raw text, <mask> taking the space before it, as
    // Hugging Face's XLM-R tokenizer does.
    t->specials_ = SpecialTokens({{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3},
                                  {"<mask>", t->vocab_size_ - 1, /*lstrip=*/true, false}});
  }
  return t;
}

Status Tokenizer::SpmPieces(std::string_view text, uint32_t begin, uint32_t end, size_t max_ids,
                            std::vector<int>* out, std::vector<PieceOffsets>* offsets) const {
  const size_t start = out->size();
  out->resize(start + max_ids);
  std::vector<uint32_t> begins(offsets ? max_ids : 0), ends(offsets ? max_ids : 0);
  const char* data = text.data() + begin;
  const long n = offsets ? module_->encode_pieces(handle_, data, end - begin, out->data() + start, begins.data(),
                                                  ends.data(), max_ids)
                         : module_->encode(handle_, data, end - begin, out->data() + start, max_ids);
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
  if (encoder_) return encoder_->Encode(text, max_ids, out, offsets);
  if (text.size() >= UINT32_MAX) return Status::DataError("a text of over 4 GiB");
  const auto n = static_cast<uint32_t>(text.size());
  if (ids_ != TokenIds::kFairseq) return SpmPieces(text, 0, n, max_ids, out, offsets);
  // Fairseq ids: <s>, the pieces of the text between the special tokens
  // (matched in the raw text, as Hugging Face's tokenizer does) and the
  // specials themselves, </s>.
  return EncodeFramed(text, max_ids, TextFrame{0, 2, "<s>", "</s>"}, specials_,
                      [&](uint32_t begin, uint32_t end, size_t budget) {
                        return SpmPieces(text, begin, end, budget, out, offsets);
                      },
                      out, offsets);
}

}  // namespace polysweep
