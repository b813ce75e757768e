#include "exec/fp8_arrays.h"

#include <cstring>

#include "checkpoint/array_folder.h"
#include "zarr/array.h"

namespace te::exec {

std::vector<WrittenArray> write_fp8_arrays(
    const plan::Plan& plan, const std::vector<std::unique_ptr<AmaxAccumulator>>& amax,
    const std::filesystem::path& array_root) {
  std::vector<WrittenArray> written;
  const auto f32 = zarr::parse_zarr_dtype("<f4", "FP8 metadata");
  const int64_t hist = plan.amax_history_len;
  for (size_t g = 0; g < plan.fp8_gemms.size(); ++g) {
    const auto& gemm = plan.fp8_gemms[g];
    const int64_t layers = std::max<int64_t>(gemm.layers, 1);
    const Shape lead = gemm.layers > 0 ? Shape{gemm.layers} : Shape{};
    auto write = [&](const std::string& name, Shape shape, const std::vector<float>& values) {
      Bytes data(values.size() * sizeof(float));
      std::memcpy(data.data(), values.data(), data.size());
      auto meta = zarr::ArrayMetadata::make(shape, shape, f32, gemm.codec);
      checkpoint::create_array_folder(array_root / name, meta).write_all(data);
      written.emplace_back(name, meta);
    };
    for (const char* t : {"i", "w", "g"}) {
      std::vector<float> history(static_cast<size_t>(layers * hist), 0.0f);
      if (std::string(t) == "w") {
        for (int64_t l = 0; l < layers; ++l) {
          history[static_cast<size_t>(l * hist)] = amax[g]->amax()[static_cast<size_t>(l)];
        }
      }
      Shape amax_shape = lead, scale_shape = lead;
      amax_shape.push_back(hist);
      scale_shape.push_back(1);
      write(gemm.array_name("amax", t), amax_shape, history);
      write(gemm.array_name("scale", t), scale_shape,
            std::vector<float>(static_cast<size_t>(layers), 1.0f));
    }
  }
  return written;
}

}  // namespace te::exec
