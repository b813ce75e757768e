// `te-ckpt kv ls|get|copy`: the key-value layer from the command line. PATH is an OCDBT database
// folder (it holds manifest.ocdbt) or a plain folder whose files are the keys.
//   kv ls PATH [--json] [--generation N]   one line per key: "<size> <key>"; --json: one array
//                                          of {"key": ..., "size": ...}
//   kv get PATH KEY [--generation N]       the value's bytes to stdout
//   kv copy SRC DST [--to ocdbt|files]     every key of SRC into a new store at DST (default: an
//                                          OCDBT database from plain files, plain files from
//                                          OCDBT), written to DST.te-ckpt-tmp-<pid> and renamed
//                                          when complete
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "kvstore/file/file_store.h"
#include "kvstore/file/output_transaction.h"
#include "kvstore/ocdbt/ocdbt_writer.h"
#include "kvstore/open_spec.h"
#include "util/error.h"

namespace te::cli {
namespace {

namespace fs = std::filesystem;

void write_stdout(std::span<const std::byte> data) {
  while (!data.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n <= 0) fail("cannot write to standard output");
    data = data.subspan(static_cast<size_t>(n));
  }
}

kv::OcdbtOpenOptions ocdbt_options(int64_t generation) {
  kv::OcdbtOpenOptions o;
  if (generation >= 0) o.generation = static_cast<uint64_t>(generation);
  return o;
}

// Copies every key of `src` into `dst` on all cores; the first error stops the others.
void copy_all(const kv::KvStore& src, kv::KvStore& dst) {
  auto keys = src.list();
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  unsigned n = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 16));
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < n; ++t)
    workers.emplace_back([&] {
      try {
        for (size_t i; !failed && (i = next++) < keys.size();)
          dst.copy_from(src, keys[i].key, keys[i].key);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    });
  for (auto& w : workers) w.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

Runner add_kv_command(CLI::App& app) {
  app.require_subcommand(1, 1);
  struct Args {
    std::string path, key, src, dst, to;
    bool json = false;
    int64_t generation = -1;
  };
  auto a = std::make_shared<Args>();
  auto* ls = app.add_subcommand("ls", "List every key of PATH with its value size");
  ls->add_option("path", a->path, "OCDBT database folder or plain folder")->required();
  ls->add_flag("--json", a->json, "print one JSON array of {\"key\", \"size\"}");
  ls->add_option("--generation", a->generation, "OCDBT: read this generation (default: latest)");
  auto* get = app.add_subcommand("get", "Write the value of KEY to stdout");
  get->add_option("path", a->path, "OCDBT database folder or plain folder")->required();
  get->add_option("key", a->key, "the key")->required();
  get->add_option("--generation", a->generation, "OCDBT: read this generation (default: latest)");
  auto* copy = app.add_subcommand("copy", "Copy every key of SRC into a new store at DST");
  copy->add_option("src", a->src, "OCDBT database folder or plain folder")->required();
  copy->add_option("dst", a->dst, "the new store (must not exist, or be an empty folder)")
      ->required();
  copy->add_option("--to", a->to,
                   "ocdbt or files (default: ocdbt from plain files, files from OCDBT)")
      ->check(CLI::IsMember({"ocdbt", "files"}));
  return [a, ls, get, copy]() -> int {
    if (ls->parsed()) {
      auto store = kv::open_local_store(a->path, ocdbt_options(a->generation));
      auto entries = store->list();
      if (a->json) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& e : entries) {
          // Keys are bytes; invalid UTF-8 is replaced so that the output stays valid JSON.
          out.push_back({{"key", e.key}, {"size", e.size}});
        }
        std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        text += "\n";
        write_stdout(as_bytes(text));
      } else {
        std::string text;
        for (auto& e : entries) text += fmt::format("{} {}\n", e.size, e.key);
        write_stdout(as_bytes(text));
      }
      return 0;
    }
    if (get->parsed()) {
      auto store = kv::open_local_store(a->path, ocdbt_options(a->generation));
      if (!store->size(a->key))
        fail("key '{}' not found in {}", kv::printable_key(a->key), store->location());
      auto source = store->read(a->key);
      for (auto piece = source->next(); !piece.empty(); piece = source->next()) write_stdout(piece);
      return 0;
    }
    if (copy->parsed()) {
      auto src = kv::open_local_store(a->src);
      bool src_is_ocdbt = dynamic_cast<const kv::OcdbtStore*>(src.get()) != nullptr;
      std::string to = a->to.empty() ? (src_is_ocdbt ? "files" : "ocdbt") : a->to;
      std::error_code ec;
      if (fs::exists(a->dst, ec) && !(fs::is_directory(a->dst, ec) && fs::is_empty(a->dst, ec)))
        fail("kv copy: destination {} exists and is not an empty folder", a->dst);
      kv::OutputTransaction transaction(a->src, a->dst, false);
      auto files = std::make_shared<kv::FileStore>(transaction.temp_dir());
      if (to == "ocdbt") {
        kv::OcdbtWriter writer(files);
        copy_all(*src, writer);
        writer.commit();
      } else {
        copy_all(*src, *files);
      }
      transaction.commit();
      return 0;
    }
    return 0;
  };
}

}  // namespace te::cli
