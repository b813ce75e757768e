#include "synth/example_checkpoint.h"

#include <cstring>
#include <map>

#include "checkpoint/array_folder.h"
#include "checkpoint/pax_metadata.h"
#include "checkpoint/t5x_index.h"
#include "plan/plan.h"
#include "rules/pax_rules.h"
#include "rules/t5x_rules.h"
#include "transform/pattern.h"
#include "util/checked_math.h"
#include "util/error.h"
#include "util/file.h"
#include "zarr/array.h"

namespace te::synth {
namespace {

using rules::Framework;

constexpr int64_t kMaxArrayBytes = int64_t{4} << 30;  // one example array, built in memory

struct Generator {
  const ExampleSpec& spec;
  std::filesystem::path array_root;
  uint64_t state;
  std::vector<checkpoint::PaxMetadataLeaf> pax_leaves;
  std::vector<std::pair<std::string, zarr::ArrayMetadata>> t5x_arrays;

  float next_normal() {
    // Irwin-Hall: sum of 4 uniforms, scaled to about N(0, 0.02).
    float s = 0;
    for (int i = 0; i < 4; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      s += static_cast<float>(state >> 40) / static_cast<float>(1 << 24);
    }
    return (s - 2.0f) * 0.0346f;
  }

  // `split_axis`: the axis tensor parallelism shards (-1: the last).
  // Weights and optimizer moments alike get random values (trained moments are not zeros and
  // compress like weights).
  void array(const std::string& name, const Shape& shape, int split_axis = -1) {
    auto dtype = zarr::dtype_from_name(spec.dtype, name);
    auto bytes = checked_product(shape, static_cast<int64_t>(dtype.itemsize));
    if (!bytes || (*bytes > kMaxArrayBytes && !spec.metadata_only)) {
      fail("{}: shape {} is too large for an example (arrays are built in memory, at most 4 GiB)",
           name, shape_string(shape));
    }
    size_t n = spec.metadata_only ? 0 : static_cast<size_t>(num_elements(shape));
    Bytes data(n * dtype.itemsize);
    for (size_t i = 0; i < n; ++i) {
      float v = next_normal();
      if (dtype.itemsize == 2) {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        uint16_t b = static_cast<uint16_t>(bits >> 16);
        std::memcpy(&data[2 * i], &b, 2);
      } else {
        std::memcpy(&data[4 * i], &v, 4);
      }
    }
    Shape chunks = shape;
    size_t axis = split_axis < 0 ? chunks.size() - 1 : static_cast<size_t>(split_axis);
    if (!chunks.empty() && spec.chunks_per_array > 1 && chunks[axis] % spec.chunks_per_array == 0) {
      chunks[axis] /= spec.chunks_per_array;
    }
    auto meta = zarr::ArrayMetadata::make(shape, chunks, dtype,
                                          zarr::codec_from_name(spec.codec, std::nullopt));
    auto created = checkpoint::create_array_folder(array_root / name, meta);
    if (!spec.metadata_only) created.write_all(data);
    pax_leaves.push_back({name, spec.dtype, shape, false});
    t5x_arrays.emplace_back(name, meta);
  }

  void scalar(const std::string& name, const std::string& dtype_name, uint64_t value,
              const Shape& shape = {}) {
    auto dtype = zarr::dtype_from_name(dtype_name, name);
    Bytes data(static_cast<size_t>(num_elements(shape)) * dtype.itemsize);
    for (size_t i = 0; i < data.size(); i += dtype.itemsize)
      std::memcpy(&data[i], &value, dtype.itemsize);
    auto meta = zarr::ArrayMetadata::make(shape, shape, dtype,
                                          zarr::codec_from_name(spec.codec, std::nullopt));
    auto created = checkpoint::create_array_folder(array_root / name, meta);
    if (!spec.metadata_only) created.write_all(data);
  }
};

// The pattern the example stores a rule side's arrays in: optional axes stored, the stack's
// layer axis first.
transform::AxisPattern stored_pattern(const rules::RuleSide& side, const rules::LayerStack& stack) {
  auto p = transform::parse_axis_pattern(side.pattern).resolved(true);
  return stack.stack_axis.empty() ? p : p.with_leading_axis(stack.stack_axis);
}

// The axis tensor parallelism shards: heads (n, g) or the MLP dimension (f); else the last.
int shard_axis(const transform::AxisPattern& p) {
  for (const char* name : {"n", "g", "f"}) {
    for (size_t j = 0; j < p.axes.size(); ++j) {
      if (p.axes[j].size() == 1 && p.axes[j][0] == name) return static_cast<int>(j);
    }
  }
  return -1;
}

Shape shape_of(const transform::AxisPattern& p, const std::map<std::string, int64_t>& sizes) {
  Shape s;
  for (const auto& axis : p.axes) {
    Shape dims;
    for (const auto& name : axis) dims.push_back(sizes.at(name));
    auto n = checked_product(dims);
    if (!n) fail("pattern \"{}\": the model dimensions multiply past 2^63", p.to_string());
    s.push_back(*n);
  }
  return s;
}

}  // namespace

void write_example_checkpoint(const ExampleSpec& spec, const std::filesystem::path& dir) {
  const auto& o = spec.model;
  auto sizes = o.axis_sizes();
  Generator gen{spec, dir, spec.seed * 0x9E3779B97F4A7C15ull + 1, {}, {}};
  std::filesystem::create_directories(dir);
  if (o.framework == Framework::kPax) {
    if (spec.pax_layout1) gen.array_root = dir / "state";
    std::filesystem::create_directories(gen.array_root);
    auto stack = rules::pax_layer_stack(o);
    std::vector<std::string> categories{"mdl_vars.params."};
    std::string opt =
        o.pax_repeat ? fmt::format("opt_states_0.p#{}#i-1_2.", o.layers) : "opt_states_0_2.";
    if (spec.optimizer_state)
      categories.insert(categories.end(), {opt + "m.params.", opt + "v.params."});
    for (const auto& cat : categories) {
      bool moment = cat != "mdl_vars.params.";
      for (int i = 0; i < stack.count; ++i) {
        for (const auto& group : stack.groups) {
          const auto& rule = group.alternatives[0];
          for (const auto& name : rule.fw.names) {
            gen.array(cat + rules::layer_prefix(stack.fw_prefix, i) + "." + name,
                      shape_of(stored_pattern(rule.fw, stack), sizes),
                      shard_axis(stored_pattern(rule.fw, stack)));
          }
        }
      }
      std::string np =
          o.pax_repeat && moment ? "opt_states_0.no_prefix_2." + cat.substr(opt.size()) : cat;
      gen.array(np + "lm.embedding_lookup.emb_var", {spec.vocab, o.embed_dim});
      gen.array(np + "lm.final_ln.scale", {o.embed_dim});
      if (!o.skip_bias) gen.array(np + "lm.final_ln.bias", {o.embed_dim});
    }
    gen.scalar("step", "uint32", 100);
    if (spec.optimizer_state) {
      for (int k = 0; k < 4; ++k) {
        if (o.pax_repeat) {
          gen.scalar(fmt::format("opt_states_0.no_prefix_{}.count", k), "int32", 100);
          gen.scalar(fmt::format("opt_states_0.p#{}#i-1_{}.count", o.layers, k), "int32", 100,
                     {o.layers});
        } else {
          gen.scalar(fmt::format("opt_states_0_{}.count", k), "int32", 100);
        }
      }
    }
    write_text_file(gen.array_root / "_sharding", "{}");
    if (spec.pax_layout1) {
      std::filesystem::create_directories(dir / "metadata");
      nlohmann::json source = {{"version", 1.1}};
      write_text_file(
          dir / "metadata" / "metadata",
          checkpoint::python_json_dumps(checkpoint::make_pax_metadata(source, gen.pax_leaves)));
    }
    return;
  }
  // T5X: encoder and decoder stacks, AdamW moments at state.param_states.1.0.{mu,nu}.
  std::vector<std::string> categories{"target."};
  if (spec.optimizer_state)
    categories.insert(categories.end(),
                      {"state.param_states.1.0.mu.", "state.param_states.1.0.nu."});
  for (const auto& cat : categories) {
    for (const auto& stack : {rules::t5x_encoder_stack(o), rules::t5x_decoder_stack(o)}) {
      for (int i = 0; i < stack.count; ++i) {
        for (const auto& group : stack.groups) {
          const auto& rule = group.alternatives[o.gated || group.alternatives.size() == 1 ? 0 : 1];
          for (const auto& name : rule.fw.names) {
            gen.array(cat + rules::layer_prefix(stack.fw_prefix, i) + "." + name,
                      shape_of(stored_pattern(rule.fw, stack), sizes),
                      shard_axis(stored_pattern(rule.fw, stack)));
          }
        }
      }
    }
    gen.array(cat + "token_embedder.embedding", {spec.vocab, o.embed_dim});
    gen.array(cat + "encoder.encoder_norm.scale", {o.embed_dim});
    gen.array(cat + "decoder.decoder_norm.scale", {o.embed_dim});
  }
  msgpack::Map root{{"version", uint64_t{3}}, {"optimizer", msgpack::Map{}}};
  checkpoint::T5xIndex index =
      checkpoint::T5xIndex::parse(msgpack::encode(msgpack::Value(root)), "example");
  for (const auto& [name, meta] : gen.t5x_arrays)
    index.set(name, checkpoint::T5xIndex::make_spec_leaf(name, meta));
  auto scalar_leaf = [](int32_t v) {
    checkpoint::InlineArray a{{}, zarr::dtype_from_name("int32", "step"), Bytes(4), 1};
    std::memcpy(a.data.data(), &v, 4);
    return checkpoint::encode_inline_array(a);
  };
  index.set("state.step", scalar_leaf(100));
  if (spec.optimizer_state) index.set("state.param_states.1.0.count", scalar_leaf(100));
  index.sort_keys();
  write_file(dir / "checkpoint", index.encode());
}

}  // namespace te::synth
