// `te-ckpt example`: a small synthetic framework checkpoint (README main job, benchmark input).
#include "cli/commands.h"
#include "synth/example_checkpoint.h"

namespace te::cli {

Runner add_example_command(CLI::App& app) {
  auto spec = std::make_shared<synth::ExampleSpec>();
  auto out = std::make_shared<std::string>();
  auto fw = std::make_shared<std::string>("pax");
  spec->model.layers = 4;
  spec->model.heads = 4;
  spec->model.head_dim = 16;
  spec->model.mlp_dim = 256;
  spec->model.embed_dim = 64;
  app.add_option("--output-path", *out, "folder to create")->required();
  app.add_option("--fw", *fw, "pax or t5x")->check(CLI::IsMember({"pax", "t5x"}));
  app.add_option("--num-of-layer", spec->model.layers, "Transformer layers (per stack for T5X)");
  app.add_option("--num-of-head", spec->model.heads, "attention heads");
  app.add_option("--head-dim", spec->model.head_dim, "attention head dimension");
  app.add_option("--mlp-intermediate-dim", spec->model.mlp_dim, "MLP (FFN) intermediate dimension");
  app.add_option("--embed-dim", spec->model.embed_dim, "model (embedding) dimension");
  app.add_option("--vocab", spec->vocab, "vocabulary size of the embedding table");
  app.add_option("--dtype", spec->dtype, "dtype of the arrays")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  app.add_option("--compressor", spec->codec, "codec of the chunks")
      ->check(CLI::IsMember({"gzip", "zlib", "zstd", "none"}));
  app.add_option("--chunks-per-array", spec->chunks_per_array,
                 "chunks along each array's last axis (like tensor-parallel shards)");
  app.add_flag("--pax-repeat", spec->model.pax_repeat, "Pax: layers stacked under Repeat");
  app.add_flag("--use-gated-activations", spec->model.gated, "gated MLP");
  app.add_flag("--pax-layout1", spec->pax_layout1, "write checkpoint_N/state + metadata/metadata");
  auto no_optimizer_state = std::make_shared<bool>(false);
  app.add_flag("--no-optimizer-state", *no_optimizer_state,
               "write the weights only (no Adam moments and counters)");
  return [spec, out, fw, no_optimizer_state] {
    spec->optimizer_state = !*no_optimizer_state;
    spec->model.framework = *fw == "pax" ? rules::Framework::kPax : rules::Framework::kT5x;
    synth::write_example_checkpoint(*spec, *out);
    return 0;
  };
}

}  // namespace te::cli
