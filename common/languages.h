// Language codes polysweep accepts in a dataset's `lang` field: an ISO 639-1
// code, optionally with a region or script ("pt_BR", "zh-Hans", "sr@latin"),
// or a code the config lists in data.extra_languages.
#pragma once

#include <string>
#include <vector>

namespace polysweep {

bool IsKnownLanguage(const std::string& code, const std::vector<std::string>& extra = {});

}  // namespace polysweep
