#include "kvstore/open_spec.h"

#include "kvstore/file/file_store.h"
#include "kvstore/prefixed_store.h"
#include "util/error.h"

namespace te::kv {
namespace fs = std::filesystem;
namespace {

bool is_remote(const std::string& path) {
  for (const char* scheme : {"gs://", "s3://", "http://", "https://", "gcs://", "cns/", "/cns/",
                             "/bigstore/", "/placer/"})
    if (path.rfind(scheme, 0) == 0) return true;
  return path.find("://") != std::string::npos && path.rfind("file://", 0) != 0;
}

fs::path local_path(const std::string& path, const fs::path& base_dir, const std::string& driver) {
  if (is_remote(path))
    fail(
        "kvstore driver '{}' with path '{}' is remote storage, which te-ckpt cannot read; copy the "
        "checkpoint to a local folder first",
        driver, path);
  std::string p = path.rfind("file://", 0) == 0 ? path.substr(7) : path;
  if (p.empty()) fail("kvstore driver '{}' has an empty path", driver);
  fs::path result(p);
  return result.is_absolute() ? result : base_dir / result;
}

std::string string_member(const nlohmann::json& spec, const char* name, const std::string& driver) {
  auto it = spec.find(name);
  if (it == spec.end()) return "";
  if (!it->is_string())
    fail("kvstore driver '{}': \"{}\" must be a string, found {}", driver, name, it->dump());
  return it->get<std::string>();
}

}  // namespace

std::shared_ptr<const KvStore> open_local_store(const fs::path& path,
                                                OcdbtOpenOptions ocdbt_options) {
  auto files = std::make_shared<FileStore>(path);
  if (is_ocdbt_database(*files)) return OcdbtStore::open(files, ocdbt_options);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) fail("{} is not a folder", path.string());
  if (ocdbt_options.generation)
    fail("--generation applies to OCDBT databases; {} holds no manifest.ocdbt", path.string());
  return files;
}

std::shared_ptr<const KvStore> open_kvstore_spec(const nlohmann::json& spec,
                                                 const fs::path& base_dir,
                                                 OcdbtOpenOptions ocdbt_options) {
  if (spec.is_string()) {
    const std::string url = spec.get<std::string>();
    return std::make_shared<FileStore>(local_path(url, base_dir, "file"));
  }
  if (!spec.is_object())
    fail("a kvstore spec must be a JSON object or a URL string, found {}", spec.dump());
  auto driver_it = spec.find("driver");
  if (driver_it == spec.end() || !driver_it->is_string())
    fail("kvstore spec {} names no \"driver\"", spec.dump());
  const std::string driver = driver_it->get<std::string>();
  if (driver == "file" || driver == "gfile") {
    std::string path = string_member(spec, "path", driver);
    return std::make_shared<FileStore>(local_path(path, base_dir, driver));
  }
  if (driver == "ocdbt") {
    auto base_it = spec.find("base");
    if (base_it == spec.end()) fail("kvstore driver 'ocdbt' needs a \"base\"");
    auto base = open_kvstore_spec(*base_it, base_dir);
    auto files = std::dynamic_pointer_cast<const FileStore>(base);
    if (!files) fail("kvstore driver 'ocdbt': its base must be a local folder");
    std::shared_ptr<const KvStore> db = OcdbtStore::open(files, ocdbt_options);
    std::string prefix = string_member(spec, "path", driver);
    if (!prefix.empty()) {
      if (prefix.back() != '/') prefix += '/';
      return std::make_shared<PrefixedStore>(db, prefix);
    }
    return db;
  }
  if (driver == "gcs" || driver == "s3" || driver == "http")
    fail(
        "kvstore driver '{}' is remote storage, which te-ckpt cannot read; copy the checkpoint "
        "to a local folder first",
        driver);
  fail("unknown kvstore driver '{}' (te-ckpt reads 'file' and 'ocdbt')", driver);
}

}  // namespace te::kv
