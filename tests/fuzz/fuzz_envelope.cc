// Fuzzes the control-plane decoder and validator: any bytes a peer can send.
// A decoded envelope must validate or be refused without crashing, and must
// survive a re-encode/decode round trip unchanged (byte for byte: NaNs are
// legal on the wire and compare unequal to themselves). The coordinator's
// dispatch after validation is exercised by tests/unit/security_test.cc.
#include <google/protobuf/io/coded_stream.h>

#include <cstdint>
#include <cstdlib>

#include "common/wire.h"

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace {
// Maps serialise in hash order unless asked to be deterministic.
std::string Deterministic(const polysweep::wire::Envelope& env) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    env.SerializeToCodedStream(&coded);
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto env = polysweep::DecodeEnvelope(data, size);
  if (!env.ok()) return 0;
  (void)polysweep::ValidateEnvelope(*env);
  std::string again;
  if (!polysweep::EncodeEnvelope(*env, &again).ok()) return 0;  // too large: refused, fine
  auto back = polysweep::DecodeEnvelope(again.data(), again.size());
  if (!back.ok() || Deterministic(*back) != Deterministic(*env)) std::abort();
  return 0;
}
