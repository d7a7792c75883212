#include "tandem/nn/checkpoint.h"

#include <zlib.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "tandem/error.h"
#include "tandem/file.h"
#include "tandem/json_read.h"

namespace tandem::nn {

namespace {

using nlohmann::json;

constexpr char magic[8] = {'T', 'N', 'D', 'M', 'C', 'K', 'P', 'T'};
constexpr size_t fixed_header = 16;  // magic + version + header length

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return v;
}

uint32_t crc(const std::string& s, size_t n) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(n)));
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::io, "", "checkpoint " + path, what);
}

}  // namespace

const NamedTensor* CheckpointData::find(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void write_checkpoint(const std::string& path, const CheckpointData& data) {
  json header = json::parse(data.header_json);
  json list = json::array();
  uint64_t offset = 0;
  for (const NamedTensor& t : data.tensors) {
    list.push_back({{"name", t.name},
                    {"dtype", dtype_name(t.dtype)},
                    {"shape", std::vector<int64_t>(t.shape.begin(), t.shape.end())},
                    {"offset", offset},
                    {"bytes", t.bytes.size()}});
    offset += t.bytes.size();
  }
  header["tensors"] = list;
  const std::string h = header.dump();
  std::string out(magic, sizeof magic);
  put_u32(out, checkpoint_version);
  put_u32(out, static_cast<uint32_t>(h.size()));
  out += h;
  for (const NamedTensor& t : data.tensors) out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  put_u32(out, crc(out, out.size()));
  write_file_atomic(path, out);
}

CheckpointData read_checkpoint(const std::string& path) {
  return parse_checkpoint(read_file(path, "checkpoint " + path), path);
}

CheckpointData parse_checkpoint(std::string_view bytes, const std::string& path) {
  const std::string s(bytes);
  if (s.size() < fixed_header + 4) bad(path, "too short (" + std::to_string(s.size()) + " bytes) to be a checkpoint");
  if (std::memcmp(s.data(), magic, sizeof magic) != 0) bad(path, "bad magic: not a Tandem checkpoint");
  const uint32_t version = get_u32(s, 8);
  if (version != checkpoint_version)
    bad(path, "version " + std::to_string(version) + " (this build reads version " +
                  std::to_string(checkpoint_version) + ")");
  if (crc(s, s.size() - 4) != get_u32(s, s.size() - 4))
    bad(path, "checksum mismatch: the file is corrupt or truncated");
  const uint32_t hlen = get_u32(s, 12);
  if (hlen > s.size() - fixed_header - 4) bad(path, "header length " + std::to_string(hlen) + " runs past the end");
  // Copying and writing JSON recurse once per level: deeper headers could overflow the stack.
  if (json_depth(std::string_view(s).substr(fixed_header, hlen)) > max_json_depth)
    bad(path, "header nests deeper than " + std::to_string(max_json_depth) + " levels");
  json header;
  try {
    header = json::parse(s.substr(fixed_header, hlen));
  } catch (const json::exception& e) {
    bad(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object() || !header.contains("tensors") || !header["tensors"].is_array())
    bad(path, "header lacks its tensor list");
  const size_t data_at = fixed_header + hlen, data_len = s.size() - 4 - data_at;
  CheckpointData out;
  try {
    for (const json& t : header["tensors"]) {
      NamedTensor nt;
      nt.name = t.at("name").get<std::string>();
      const auto dt = parse_dtype(t.at("dtype").get<std::string>());
      if (!dt) bad(path, "tensor " + nt.name + ": unknown dtype");
      nt.dtype = *dt;
      const json& dims = t.at("shape");
      if (!dims.is_array()) bad(path, "tensor " + nt.name + ": its shape is not a list");
      std::vector<int64_t> shape;
      for (const json& d : dims) {
        const std::optional<int64_t> v = json_integer<int64_t>(d);
        if (!v || *v < 0) bad(path, "tensor " + nt.name + ": shape " + dims.dump() + " is not a list of sizes");
        shape.push_back(*v);
      }
      nt.shape = Shape(std::span<const int64_t>(shape));
      const std::optional<uint64_t> at = json_integer<uint64_t>(t.at("offset")), len = json_integer<uint64_t>(t.at("bytes"));
      if (!at || !len) bad(path, "tensor " + nt.name + ": its offset and bytes must be integers ≥ 0");
      const uint64_t off = *at, n = *len;
      if (n != static_cast<uint64_t>(nt.shape.numel()) * dtype_size(nt.dtype))
        bad(path, "tensor " + nt.name + ": " + std::to_string(n) + " bytes do not match its shape " + nt.shape.str());
      if (off > data_len || n > data_len - off) bad(path, "tensor " + nt.name + ": bytes run past the end of the data");
      nt.bytes.assign(s.begin() + static_cast<std::ptrdiff_t>(data_at + off),
                      s.begin() + static_cast<std::ptrdiff_t>(data_at + off + n));
      out.tensors.push_back(std::move(nt));
    }
  } catch (const json::exception& e) {
    bad(path, std::string("malformed tensor entry: ") + e.what());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io) throw;
    bad(path, e.detail());
  }
  header.erase("tensors");
  out.header_json = header.dump();
  return out;
}

}  // namespace tandem::nn
