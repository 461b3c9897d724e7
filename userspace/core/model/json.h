// SPDX-License-Identifier: MIT
// The JSON type of the summary and the recording's header: keys keep their order.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace tunlat {

using Json = nlohmann::ordered_json;

// Adds key: value to an object whose keys are known to be distinct (taken from a map):
// ordered_json's operator[] looks every key up first, quadratic over a large object.
inline void append_new(Json& object, std::string key, Json value) {
  object.get_ref<Json::object_t&>().emplace_back(std::move(key), std::move(value));
}

}  // namespace tunlat
