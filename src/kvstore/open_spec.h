#pragma once
// Opening stores: from a TensorStore kvstore spec (as found in T5X and Orbax checkpoints), or
// from a local path (an OCDBT database folder when it holds manifest.ocdbt, else plain files).
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "kvstore/kvstore.h"
#include "kvstore/ocdbt/ocdbt_store.h"

namespace te::kv {

// Accepts {"driver": "file", "path": P}, {"driver": "gfile", "path": P} with a local P,
// {"driver": "ocdbt", "base": <spec or "file://P" URL or path>, "path": <key prefix>} and the
// URL strings "file://P" / a plain path. Relative paths are resolved against `base_dir`.
// Refuses gcs, s3, http, remote paths and unknown drivers with an error naming the driver.
std::shared_ptr<const KvStore> open_kvstore_spec(const nlohmann::json& spec,
                                                 const std::filesystem::path& base_dir,
                                                 OcdbtOpenOptions ocdbt_options = {});

// An OCDBT database when `path` holds manifest.ocdbt, else a file store at `path`.
std::shared_ptr<const KvStore> open_local_store(const std::filesystem::path& path,
                                                OcdbtOpenOptions ocdbt_options = {});

}  // namespace te::kv
