// `te-ckpt example`: a small synthetic framework checkpoint (README main job, benchmark input).
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "synth/example_checkpoint.h"
#include "util/error.h"
#include "util/parse_number.h"

namespace te::cli {
namespace {

namespace fs = std::filesystem;

// The integer options as text, parsed strictly (see parse_int_flag).
struct ExampleFlags {
  std::string out, fw = "pax";
  std::string layers = "4", heads = "4", head_dim = "16", mlp_dim = "256", embed_dim = "64";
  std::string vocab = "256", chunks_per_array = "1";
};

// Writes the example into a temporary folder beside `out` and renames it into place, so that a
// failure (an array too large for memory, a full disk) leaves nothing behind.
void write_new_folder(const synth::ExampleSpec& spec, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && (!fs::is_directory(out, ec) || !fs::is_empty(out, ec))) {
    fail("--output-path {} exists and is not an empty folder; example only writes new folders",
         out.string());
  }
  fs::path target = fs::absolute(out);
  if (target.filename().empty()) target = target.parent_path();
  fs::path temp = target;
  temp += fmt::format("{}{}", checkpoint::kTempMarker, ::getpid());
  try {
    synth::write_example_checkpoint(spec, temp);
    fs::remove(target, ec);  // an empty folder, if any
    fs::rename(temp, target);
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
}

}  // namespace

Runner add_example_command(CLI::App& app) {
  auto spec = std::make_shared<synth::ExampleSpec>();
  auto f = std::make_shared<ExampleFlags>();
  app.add_option("--output-path", f->out, "folder to create")->required();
  app.add_option("--fw", f->fw, "pax or t5x")->check(CLI::IsMember({"pax", "t5x"}));
  app.add_option("--num-of-layer", f->layers, "Transformer layers (per stack for T5X)");
  app.add_option("--num-of-head", f->heads, "attention heads");
  app.add_option("--head-dim", f->head_dim, "attention head dimension");
  app.add_option("--mlp-intermediate-dim", f->mlp_dim, "MLP (FFN) intermediate dimension");
  app.add_option("--embed-dim", f->embed_dim, "model (embedding) dimension");
  app.add_option("--vocab", f->vocab, "vocabulary size of the embedding table");
  app.add_option("--dtype", spec->dtype, "dtype of the arrays")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  app.add_option("--compressor", spec->codec, "codec of the chunks")
      ->check(CLI::IsMember({"gzip", "zlib", "zstd", "none"}));
  app.add_option("--chunks-per-array", f->chunks_per_array,
                 "chunks along each array's last axis (like tensor-parallel shards)");
  app.add_flag("--pax-repeat", spec->model.pax_repeat, "Pax: layers stacked under Repeat");
  app.add_flag("--use-gated-activations", spec->model.gated, "gated MLP");
  app.add_flag("--pax-layout1", spec->pax_layout1, "write checkpoint_N/state + metadata/metadata");
  auto no_optimizer_state = std::make_shared<bool>(false);
  app.add_flag("--no-optimizer-state", *no_optimizer_state,
               "write the weights only (no Adam moments and counters)");
  for (const char* name :
       {"--num-of-layer", "--num-of-head", "--head-dim", "--mlp-intermediate-dim", "--embed-dim",
        "--vocab", "--chunks-per-array"}) {
    app.get_option(name)->type_name("INT");
  }
  return [spec, f, no_optimizer_state] {
    spec->optimizer_state = !*no_optimizer_state;
    auto& m = spec->model;
    m.framework = f->fw == "pax" ? rules::Framework::kPax : rules::Framework::kT5x;
    m.layers = parse_int_flag(f->layers, "--num-of-layer", 1, rules::kMaxModelDim);
    m.heads = parse_int_flag(f->heads, "--num-of-head", 1, rules::kMaxModelDim);
    m.head_dim = parse_int_flag(f->head_dim, "--head-dim", 1, rules::kMaxModelDim);
    m.mlp_dim = parse_int_flag(f->mlp_dim, "--mlp-intermediate-dim", 1, rules::kMaxModelDim);
    m.embed_dim = parse_int_flag(f->embed_dim, "--embed-dim", 1, rules::kMaxModelDim);
    spec->vocab = parse_int_flag(f->vocab, "--vocab", 1, rules::kMaxModelDim);
    spec->chunks_per_array = static_cast<int>(
        parse_int_flag(f->chunks_per_array, "--chunks-per-array", 1, rules::kMaxModelDim));
    if (m.framework == rules::Framework::kT5x) {
      if (spec->pax_layout1) fail("--pax-layout1 only applies to --fw=pax");
      if (m.pax_repeat) fail("--pax-repeat only applies to --fw=pax");
    }
    write_new_folder(*spec, f->out);
    return 0;
  };
}

}  // namespace te::cli
