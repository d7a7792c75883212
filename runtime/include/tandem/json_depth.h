// How deeply JSON text nests ('[' and '{' outside strings), counted without parsing it. The
// JSON library's parser is iterative, but copying, comparing and writing a value recurse once
// per level, so a few hundred KiB of "[[[[…" would overflow the stack of whatever reads the
// parsed value. Readers of outside data (checkpoints and model files, manifests) refuse text
// nested deeper than max_json_depth before parsing it; theirs nest 6 levels at most.
#pragma once

#include <cstddef>
#include <string_view>

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

}  // namespace tandem
