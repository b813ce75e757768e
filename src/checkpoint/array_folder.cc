#include "checkpoint/array_folder.h"

#include "kvstore/file/file_store.h"

namespace te::checkpoint {

zarr::ZarrArray open_array_folder(const std::filesystem::path& dir) {
  return zarr::ZarrArray::open(std::make_shared<const kv::FileStore>(dir));
}

zarr::ZarrArray create_array_folder(const std::filesystem::path& dir,
                                    zarr::ArrayMetadata metadata) {
  return zarr::ZarrArray::create(std::make_shared<kv::FileStore>(dir), "", std::move(metadata));
}

}  // namespace te::checkpoint
