// te-ckpt: converts JAX checkpoints between TransformerEngine and Pax / T5X layouts.
#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "cli/usage_error.h"
#include "dist/launcher_rank.h"
#include "util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"te-ckpt: convert JAX checkpoints between TransformerEngine and Pax/T5X layouts",
               "te-ckpt"};
  app.footer(te::cli::kExitStatusHelp);
  app.set_version_flag("--version", "te-ckpt 0.1.0");
  app.require_subcommand(0, 1);
  // Like argparse: an option given twice takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* convert = app.add_subcommand("convert", "Convert a checkpoint (the original tool's flags)");
  auto* plan = app.add_subcommand("plan", "Show what convert would do; write nothing");
  auto* inspect = app.add_subcommand("inspect", "Detect what PATH is and list its arrays");
  auto* example = app.add_subcommand("example", "Write a small synthetic checkpoint");
  auto run_convert = te::cli::add_convert_command(*convert, false);
  auto run_plan = te::cli::add_convert_command(*plan, true);
  auto run_inspect = te::cli::add_inspect_command(*inspect);
  auto run_example = te::cli::add_example_command(*example);
  auto* zarr_cat =
      app.add_subcommand("zarr-cat", "Write one zarr array's decoded elements to stdout");
  auto* zarr_write =
      app.add_subcommand("zarr-write", "Create one zarr array from elements on stdin");
  auto run_zarr_cat = te::cli::add_zarr_cat_command(*zarr_cat);
  auto run_zarr_write = te::cli::add_zarr_write_command(*zarr_write);
  auto* kv = app.add_subcommand("kv", "List, read and copy the keys of a folder or OCDBT database");
  auto run_kv = te::cli::add_kv_command(*kv);
  auto* verify = app.add_subcommand(
      "verify", "Check that CONVERTED is SOURCE's conversion, every array bit for bit");
  auto run_verify = te::cli::add_verify_command(*verify);

  // `te-ckpt --input-path=... --fw=...` (no subcommand) behaves like the original converter.
  std::vector<std::string> args(argv + 1, argv + argc);
  bool legacy =
      !args.empty() && args[0].rfind("--", 0) == 0 && args[0] != "--help" && args[0] != "--version";
  if (legacy) args.insert(args.begin(), "convert");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    // --help and --version print and exit 0; every other parse error is a usage error.
    if (e.get_exit_code() == 0) return app.exit(e);
    return te::cli::report_usage_error(e);
  }
  // Under mpirun or srun only `convert` shares its work between the processes. Every other
  // command, and convert --dry-run, runs once, on rank 0: the other processes leave at once
  // (status 0; the launcher's status is rank 0's), so that nothing is printed or checked N times.
  const bool shares_work = convert->parsed() && convert->count("--dry-run") == 0;
  if (auto rank = te::dist::launched_rank(); rank && *rank > 0 && !shares_work) return 0;
  try {
    if (convert->parsed()) return run_convert();
    if (plan->parsed()) return run_plan();
    if (inspect->parsed()) return run_inspect();
    if (example->parsed()) return run_example();
    if (zarr_cat->parsed()) return run_zarr_cat();
    if (zarr_write->parsed()) return run_zarr_write();
    if (kv->parsed()) return run_kv();
    if (verify->parsed()) return run_verify();
    fmt::print("{}", app.help());
    return 0;
  } catch (const te::UsageError& e) {
    fmt::print(stderr, "te-ckpt: error: {}\n", e.what());
    return te::cli::kExitUsage;
  } catch (const te::Error& e) {
    fmt::print(stderr, "te-ckpt: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "te-ckpt: error: {}\n", e.what());
    return 1;
  }
}
