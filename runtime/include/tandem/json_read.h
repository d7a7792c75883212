// What readers of outside JSON (checkpoints, model files, manifests) check before they trust it.
// Templates on the JSON type, so that the embeddable core does not depend on the JSON library.
//
// json_depth: how deeply JSON text nests ('[' and '{' outside strings), counted without parsing
// it. The JSON library's parser is iterative, but copying, comparing and writing a value recurse once
// per level, so a few hundred KiB of "[[[[…" would overflow the stack of whatever reads the
// parsed value. Readers of outside data (checkpoints and model files, manifests) refuse text
// nested deeper than max_json_depth before parsing it; theirs nest 6 levels at most.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace tandem {

inline constexpr size_t max_json_depth = 64;

/// The deepest nesting in `text` (0 for a scalar); malformed text gets a number too, which the
/// parser then rejects for what it is.
inline size_t json_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// `v` as a T when it is a JSON integer within T's range; nullopt for anything else (a float, a
/// string, an integer out of range). The JSON library's own get<T>() casts a float to T, which
/// is undefined behaviour when it is out of T's range (1e300 as an int64_t).
template <class T, class Json>
std::optional<T> json_integer(const Json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.template get<uint64_t>();
    if (!std::in_range<T>(u)) return std::nullopt;
    return static_cast<T>(u);
  }
  if (!v.is_number_integer()) return std::nullopt;
  const auto i = v.template get<int64_t>();
  if (!std::in_range<T>(i)) return std::nullopt;
  return static_cast<T>(i);
}

}  // namespace tandem
