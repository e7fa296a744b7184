#include "cli/table.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

namespace polysweep {

std::string ParamsText(const google::protobuf::Map<std::string, std::string>& hparams) {
  std::string out;
  for (const auto& [k, v] : std::map<std::string, std::string>(hparams.begin(), hparams.end())) {
    out += (out.empty() ? "" : " ") + k + "=" + v;
  }
  return out;
}


}  // namespace polysweep
