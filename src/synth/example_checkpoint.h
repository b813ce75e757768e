#pragma once
// Synthetic framework checkpoints (random weights) for the README's example run and the
// benchmark. Names and shapes come from the rule tables; tests use an independent Python
// generator instead, so that they do not trust the tables they check.
#include <filesystem>
#include <string>

#include "rules/model_options.h"

namespace te::synth {

struct ExampleSpec {
  rules::ModelOptions model;      // framework, dims and variants (fw side is generated)
  std::string dtype = "float32";  // or "bfloat16"
  std::string codec = "zstd";     // gzip, zlib, zstd, none
  int chunks_per_array = 1;       // split along the last axis, like tensor-parallel shards
  bool optimizer_state = true;    // Adam moments (and counts)
  bool pax_layout1 = false;       // Pax: checkpoint_N/state + metadata/metadata
  int64_t vocab = 256;
  uint64_t seed = 1;
  // Only the arrays' metadata (.zarray; no chunk is written, every element reads as the fill
  // value): a model of any size for planning.
  bool metadata_only = false;
};

void write_example_checkpoint(const ExampleSpec& spec, const std::filesystem::path& dir);

}  // namespace te::synth
