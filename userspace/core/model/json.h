// SPDX-License-Identifier: MIT
// The JSON type of the summary and the recording's header: keys keep their order.
#pragma once

#include <nlohmann/json.hpp>

namespace tunlat {

using Json = nlohmann::ordered_json;

}  // namespace tunlat
