#include "exec/fp8_arrays.h"

#include <fmt/format.h>

#include <cstring>

#include "exec/fp8_state.h"
#include "util/error.h"
#include "zarr/array.h"
#include "zarr/v3_array_metadata.h"

namespace te::exec {
namespace {

using rules::Fp8MetaFormat;

std::vector<float> read_floats(const checkpoint::ArrayEntry& a) {
  // Inline or stored, the array is a zarr array in its store.
  Bytes data = a.open().read_all();
  std::vector<float> out(data.size() / sizeof(float));
  std::memcpy(out.data(), data.data(), out.size() * sizeof(float));
  return out;
}

// state[l][g]: one module's values per layer and GEMM, in the source format's layout.
using ModuleState = std::vector<std::vector<Fp8Gemm>>;

ModuleState read_source(const plan::Fp8Module& m, Fp8MetaFormat format, const rules::Fp8Recipe& r,
                        std::vector<std::string>& warnings) {
  const int64_t layers = std::max<int64_t>(m.layers, 1);
  const auto gemms = static_cast<size_t>(m.gemms);
  ModuleState state(static_cast<size_t>(layers), std::vector<Fp8Gemm>(gemms));
  if (format == Fp8MetaFormat::kTe17) {
    const auto& amax_entry = *m.source.at("fp8_meta_amax");
    const int64_t n = amax_entry.metadata.shape.back();
    auto amax = read_floats(amax_entry);
    auto scale = read_floats(*m.source.at("fp8_meta_scale"));
    auto fp8_max = read_floats(*m.source.at("fp8_max"));
    const size_t rows = 3 * gemms;
    bool warned = false;  // one warning per module
    for (size_t l = 0; l < state.size(); ++l) {
      for (size_t g = 0; g < gemms; ++g) {
        for (int t = 0; t < 3; ++t) {
          size_t row = l * rows + 3 * g + static_cast<size_t>(t);
          auto& tensor = state[l][g][static_cast<size_t>(t)];
          tensor.history.assign(amax.begin() + static_cast<int64_t>(row) * n,
                                amax.begin() + static_cast<int64_t>(row + 1) * n);
          tensor.scale = scale[row];
          if (fp8_max[row] != r.max_of(t) && !warned) {
            warned = true;
            warnings.push_back(fmt::format(
                "{}: row {} holds the FP8 maximum {} but the target recipe ({}) uses {}; the "
                "migrated scales follow the target recipe (check --fp8-format)",
                m.source.at("fp8_max")->name, l * rows + 3 * g + static_cast<size_t>(t),
                fp8_max[row], r.hybrid ? "HYBRID" : "E4M3", r.max_of(t)));
          }
        }
      }
    }
    return state;
  }
  for (size_t g = 0; g < gemms; ++g) {
    for (int t = 0; t < 3; ++t) {
      auto leaf = [&](bool history) {
        return format == Fp8MetaFormat::kTe18
                   ? rules::f18_leaf(history, t, static_cast<int>(g))
                   : rules::f23_leaf(history, t, static_cast<int>(g), m.gemms);
      };
      const auto& h_entry = *m.source.at(leaf(true));
      const int64_t n = h_entry.metadata.shape.back();
      auto history = read_floats(h_entry);
      auto scale = read_floats(*m.source.at(leaf(false)));
      for (size_t l = 0; l < state.size(); ++l) {
        auto& tensor = state[l][g][static_cast<size_t>(t)];
        tensor.history.assign(history.begin() + static_cast<int64_t>(l) * n,
                              history.begin() + static_cast<int64_t>(l + 1) * n);
        tensor.scale = scale[l];
      }
    }
  }
  return state;
}

// One tensor from `from` into `to` with history length n (§8.2, then §8.3 in the target's
// layout; F17 targets are resized in the F18 layout before their scale is derived).
void migrate(Fp8Tensor& t, Fp8MetaFormat from, Fp8MetaFormat to, int64_t n, float max, int margin) {
  if (from == Fp8MetaFormat::kTe23 && to == Fp8MetaFormat::kTe23) {
    fp8_resize_f23(t, n, max, margin);
    return;
  }
  if (from == Fp8MetaFormat::kTe23) fp8_f23_to_f18(t, max, margin);
  // F17 and F18 share the layout: t is now F18.
  if (to == Fp8MetaFormat::kTe23) {
    fp8_f18_to_f23(t, max, margin);
    fp8_resize_f23(t, n, max, margin);
    return;
  }
  fp8_resize_f18(t, n);
  if (to == Fp8MetaFormat::kTe17) t.scale = fp8_f18_to_f17_scale(t, max, margin);
}

}  // namespace

std::vector<WrittenArray> write_fp8_arrays(
    const plan::Plan& plan, const std::vector<std::unique_ptr<AmaxAccumulator>>& amax,
    const std::shared_ptr<kv::KvStore>& store, bool zarr3, std::vector<std::string>& warnings) {
  std::vector<WrittenArray> written;
  std::vector<std::string> module_warnings;
  const auto f32 = zarr::parse_zarr_dtype("<f4", "FP8 metadata");
  const plan::Fp8Output& out = plan.fp8;
  const int64_t n = out.history_len;
  for (const auto& m : out.modules) {
    const int64_t layers = std::max<int64_t>(m.layers, 1);
    const auto gemms = static_cast<size_t>(m.gemms);
    Fp8MetaFormat from = out.source_format.value_or(Fp8MetaFormat::kTe18);
    ModuleState state;
    if (out.source_format) {
      state = read_source(m, from, out.recipe, module_warnings);
    } else {
      state.assign(static_cast<size_t>(layers), std::vector<Fp8Gemm>(gemms));
      for (size_t g = 0; g < gemms; ++g) {
        const auto& acc = *amax[static_cast<size_t>(m.generated_from[g])];
        for (size_t l = 0; l < state.size(); ++l) state[l][g] = fp8_generate_f18(acc.amax()[l], n);
      }
    }
    for (auto& layer : state) {
      for (auto& gemm : layer) {
        for (int t = 0; t < 3; ++t)
          migrate(gemm[static_cast<size_t>(t)], from, out.format, n, out.recipe.max_of(t),
                  out.recipe.margin);
      }
    }
    const Shape lead = m.layers > 0 ? Shape{m.layers} : Shape{};
    auto write = [&](const std::string& leaf, Shape tail, const std::vector<float>& values) {
      Shape shape = lead;
      shape.insert(shape.end(), tail.begin(), tail.end());
      Bytes data(values.size() * sizeof(float));
      std::memcpy(data.data(), values.data(), data.size());
      std::string name = out.array_name(m, leaf);
      auto meta = zarr::ArrayMetadata::make(shape, shape, f32, m.codec);
      if (zarr3) meta = zarr::v3::v3_equivalent_of(meta, name);
      zarr::ZarrArray::create(store, name + "/", meta).write_all(data);
      written.emplace_back(name, meta);
    };
    if (out.format == Fp8MetaFormat::kTe17) {
      const int64_t rows = 3 * m.gemms;
      std::vector<float> fp8_max, history, scale, scale_inv;
      for (const auto& layer : state) {
        for (const auto& gemm : layer) {
          for (int t = 0; t < 3; ++t) {
            const auto& tensor = gemm[static_cast<size_t>(t)];
            fp8_max.push_back(out.recipe.max_of(t));
            history.insert(history.end(), tensor.history.begin(), tensor.history.end());
            scale.push_back(tensor.scale);
            scale_inv.push_back(1.0f / tensor.scale);
          }
        }
      }
      write("fp8_max", {rows, 1}, fp8_max);
      write("fp8_meta_amax", {rows, n}, history);
      write("fp8_meta_scale", {rows, 1}, scale);
      write("fp8_meta_scale_inv", {rows, 1}, scale_inv);
      continue;
    }
    for (size_t g = 0; g < gemms; ++g) {
      for (bool is_history : {true, false}) {
        for (int t = 0; t < 3; ++t) {
          std::vector<float> values;
          for (const auto& layer : state) {
            const auto& tensor = layer[g][static_cast<size_t>(t)];
            if (is_history) {
              values.insert(values.end(), tensor.history.begin(), tensor.history.end());
            } else {
              values.push_back(tensor.scale);
            }
          }
          std::string leaf = out.format == Fp8MetaFormat::kTe18
                                 ? rules::f18_leaf(is_history, t, static_cast<int>(g))
                                 : rules::f23_leaf(is_history, t, static_cast<int>(g), m.gemms);
          write(leaf, {is_history ? n : 1}, values);
        }
      }
    }
  }
  if (!module_warnings.empty()) {
    std::string w = module_warnings.front();
    if (module_warnings.size() > 1)
      w += fmt::format(" (and {} more modules)", module_warnings.size() - 1);
    warnings.push_back(std::move(w));
  }
  return written;
}

}  // namespace te::exec
