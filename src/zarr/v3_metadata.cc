#include "zarr/v3_metadata.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "util/checked_math.h"
#include "util/error.h"
#include "zarr/sharding.h"
#include "zarr/v3_data_type.h"

namespace te::zarr::v3 {
namespace {

Shape parse_shape(const nlohmann::json& j, const char* member, int64_t min,
                  const std::string& where) {
  if (!j.is_array())
    fail("{}: \"{}\" must be a list of integers, found {}", where, member, j.dump());
  Shape s;
  for (const auto& d : j) {
    if (!d.is_number_integer() || d.get<int64_t>() < min) {
      fail("{}: \"{}\" {} must hold integers >= {}", where, member, j.dump(), min);
    }
    s.push_back(d.get<int64_t>());
  }
  return s;
}

const nlohmann::json& required(const nlohmann::json& j, const char* member,
                               const std::string& where) {
  auto it = j.find(member);
  if (it == j.end()) fail("{}: zarr.json has no \"{}\"", where, member);
  return *it;
}

ChunkKeyEncoding parse_key_encoding(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    fail("{}: \"chunk_key_encoding\" must be an object with a \"name\", found {}", where, j.dump());
  }
  ChunkKeyEncoding e;
  std::string name = j["name"].get<std::string>();
  if (name == "default") {
    e = {ChunkKeyEncoding::Kind::kDefault, '/'};
  } else if (name == "v2") {
    e = {ChunkKeyEncoding::Kind::kV2, '.'};
  } else {
    fail("{}: unsupported chunk_key_encoding \"{}\" (expected \"default\" or \"v2\")", where, name);
  }
  if (auto c = j.find("configuration"); c != j.end()) {
    if (!c->is_object()) fail("{}: chunk_key_encoding configuration must be an object", where);
    for (const auto& [key, value] : c->items()) {
      if (key != "separator") fail("{}: unknown chunk_key_encoding member \"{}\"", where, key);
      if (value != "/" && value != ".") {
        fail("{}: chunk_key_encoding separator {} must be \"/\" or \".\"", where, value.dump());
      }
      e.separator = value.get<std::string>()[0];
    }
  }
  return e;
}

}  // namespace

std::string ChunkKeyEncoding::key(std::span<const int64_t> pos) const {
  if (kind == Kind::kV2) {
    if (pos.empty()) return std::string(1, '0');
    return fmt::format("{}", fmt::join(pos, std::string_view(&separator, 1)));
  }
  if (pos.empty()) return std::string(1, 'c');
  return fmt::format("c{}{}", separator, fmt::join(pos, std::string_view(&separator, 1)));
}

nlohmann::json ChunkKeyEncoding::to_json() const {
  nlohmann::json j;
  j["name"] = kind == Kind::kDefault ? "default" : "v2";
  char default_separator = kind == Kind::kDefault ? '/' : '.';
  if (separator != default_separator) j["configuration"]["separator"] = std::string(1, separator);
  return j;
}

nlohmann::json V3Metadata::to_json() const {
  nlohmann::json j = extra_members.is_object() ? extra_members : nlohmann::json::object();
  j["zarr_format"] = 3;
  j["node_type"] = "array";
  j["shape"] = shape;
  j["data_type"] = v3_name(dtype);
  j["chunk_grid"] = {{"name", "regular"}, {"configuration", {{"chunk_shape", chunk_shape}}}};
  j["chunk_key_encoding"] = chunk_key_encoding.to_json();
  j["fill_value"] = fill_value_json(fill_value, dtype);
  j["codecs"] = codecs.to_json();
  if (dimension_names.is_array()) {
    for (const auto& n : dimension_names) {
      if (!n.is_null()) {
        j["dimension_names"] = dimension_names;
        break;
      }
    }
  }
  if (attributes.is_object() && !attributes.empty()) j["attributes"] = attributes;
  return j;
}

Shape V3Metadata::grid_shape() const {
  Shape g;
  for (size_t d = 0; d < shape.size(); ++d) {
    g.push_back(shape[d] == 0 ? 0 : (shape[d] + chunk_shape[d] - 1) / chunk_shape[d]);
  }
  return g;
}

size_t V3Metadata::chunk_bytes() const {
  return static_cast<size_t>(num_elements(chunk_shape)) * dtype.itemsize;
}

V3Metadata v3_metadata_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: zarr.json must hold a JSON object", where);
  const auto& format = required(j, "zarr_format", where);
  if (format != 3) fail("{}: zarr_format is {}, expected 3", where, format.dump());
  const auto& node_type = required(j, "node_type", where);
  if (node_type != "array") {
    fail("{}: node_type is {}, expected \"array\" (a zarr v3 group holds no data)", where,
         node_type.dump());
  }
  V3Metadata m;
  m.shape = parse_shape(required(j, "shape", where), "shape", 0, where);
  const auto& data_type = required(j, "data_type", where);
  std::string type_name;
  if (data_type.is_string()) {
    type_name = data_type.get<std::string>();
  } else if (data_type.is_object() && data_type.contains("name") && data_type["name"].is_string() &&
             data_type.value("configuration", nlohmann::json::object()).empty()) {
    type_name = data_type["name"].get<std::string>();
  } else {
    fail("{}: unsupported data_type {}", where, data_type.dump());
  }
  m.dtype = dtype_from_v3_name(type_name, where);
  const auto& grid = required(j, "chunk_grid", where);
  if (!grid.is_object() || grid.value("name", "") != "regular" || !grid.contains("configuration") ||
      !grid["configuration"].contains("chunk_shape")) {
    fail("{}: chunk_grid {} is not a \"regular\" grid with a chunk_shape", where, grid.dump());
  }
  m.chunk_shape = parse_shape(grid["configuration"]["chunk_shape"], "chunk_shape", 1, where);
  if (m.chunk_shape.size() != m.shape.size()) {
    fail("{}: chunk_shape {} and shape {} differ in rank", where, shape_string(m.chunk_shape),
         shape_string(m.shape));
  }
  // The limits of te-ckpt's zarr layer: a chunk at most 2^40 bytes decoded, an array 2^50.
  auto chunk_bytes = checked_product(m.chunk_shape, static_cast<int64_t>(m.dtype.itemsize));
  if (!chunk_bytes || *chunk_bytes > (int64_t(1) << 40)) {
    fail("{}: chunk_shape {} of {} exceeds the 1 TiB chunk limit", where,
         shape_string(m.chunk_shape), type_name);
  }
  auto array_bytes = checked_product(m.shape, static_cast<int64_t>(m.dtype.itemsize));
  if (!array_bytes || *array_bytes > (int64_t(1) << 50)) {
    fail("{}: shape {} of {} exceeds the 1 PiB array limit", where, shape_string(m.shape),
         type_name);
  }
  m.chunk_key_encoding = parse_key_encoding(required(j, "chunk_key_encoding", where), where);
  m.fill_value = parse_fill_value(required(j, "fill_value", where), m.dtype, where);
  m.codecs = parse_codec_chain(required(j, "codecs", where), m.dtype, m.shape.size(), where);
  const V3Codec& ab = m.codecs.array_to_bytes();
  if (ab.kind == V3Codec::Kind::kSharding) {
    inner_grid_shape(*ab.sharding, m.codecs.encoded_shape(m.chunk_shape), where);
  }
  if (auto it = j.find("dimension_names"); it != j.end()) {
    bool ok = it->is_array() && it->size() == m.shape.size();
    for (const auto& n : *it) ok = ok && (n.is_string() || n.is_null());
    if (!ok)
      fail("{}: dimension_names {} must list a string or null per dimension", where, it->dump());
    m.dimension_names = *it;
  }
  if (auto it = j.find("attributes"); it != j.end()) {
    if (!it->is_object()) fail("{}: attributes must be an object", where);
    m.attributes = *it;
  }
  if (auto it = j.find("storage_transformers"); it != j.end()) {
    if (!it->is_array() || !it->empty()) {
      fail("{}: storage_transformers {} are not supported", where, it->dump());
    }
  }
  static const char* kKnown[] = {
      "zarr_format",         "node_type",  "shape",  "data_type",       "chunk_grid",
      "chunk_key_encoding",  "fill_value", "codecs", "dimension_names", "attributes",
      "storage_transformers"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) != std::end(kKnown)) continue;
    if (value.is_object() && value.value("must_understand", true)) {
      fail("{}: zarr.json extension \"{}\" must be understood and is not supported", where, key);
    }
    m.extra_members[key] = value;
  }
  return m;
}

V3Metadata parse_v3_metadata(std::string_view text, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) fail("{}: zarr.json is not valid JSON", where);
  return v3_metadata_from_json(j, where);
}

V3Metadata orbax_v3_metadata(const DType& dtype, Shape shape, Shape chunk_shape,
                             std::optional<int> zstd_level) {
  V3Metadata m;
  m.dtype = dtype;
  m.shape = std::move(shape);
  m.chunk_shape = std::move(chunk_shape);
  m.fill_value = Bytes(dtype.itemsize);
  CodecChain inner{{bytes_codec(dtype, Endian::kLittle)}};
  if (zstd_level) inner.codecs.push_back(zstd_codec(*zstd_level, false));
  m.codecs.codecs.push_back(
      sharding_codec(m.chunk_shape, std::move(inner), default_index_codecs()));
  return m;
}

}  // namespace te::zarr::v3
