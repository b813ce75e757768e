#include "exec/fp8_state.h"

#include <cmath>

namespace te::exec {
namespace {

float pow2(int margin) {
  return std::ldexp(1.0f, margin);
}

}  // namespace

float fp8_derived_scale(const std::vector<float>& history, float old_scale, float max, int margin) {
  float a = 0.0f;
  for (float v : history) {
    if (std::isnan(v)) return old_scale;
    a = v > a ? v : a;
  }
  if (!(a > 0.0f) || !std::isfinite(a)) return old_scale;
  float s = max / a;
  return s / pow2(margin);
}

Fp8Gemm fp8_generate_f18(float kernel_amax, int64_t history_len) {
  Fp8Gemm g;
  for (auto& t : g) t.history.assign(static_cast<size_t>(history_len), 0.0f);
  g[1].history[0] = kernel_amax;
  return g;
}

void fp8_f18_to_f23(Fp8Tensor& t, float max, int margin) {
  const size_t n = t.history.size();
  t.scale = fp8_derived_scale(t.history, t.scale, max, margin);
  // G[0] = 0, G[j] = H[j+1] for 1 <= j <= n-2, G[n-1] = H[0] (the oldest, H[1], is dropped).
  std::vector<float> g(n, 0.0f);
  for (size_t j = 1; j + 1 < n; ++j) g[j] = t.history[j + 1];
  if (n >= 2) g[n - 1] = t.history[0];
  t.history = std::move(g);
}

void fp8_f23_to_f18(Fp8Tensor& t, float max, int margin) {
  const size_t n = t.history.size();
  std::vector<float> h(n, 0.0f);
  if (n >= 2) {
    h[0] = t.history[n - 1];
    for (size_t j = 2; j < n; ++j) h[j] = t.history[j - 1];
    // The entry F23 folded into its scale, recovered so the next F18 step uses the same scale.
    if (t.scale > 0.0f && std::isfinite(t.scale)) h[1] = max / (t.scale * pow2(margin));
  }
  t.history = std::move(h);
}

float fp8_f18_to_f17_scale(const Fp8Tensor& t, float max, int margin) {
  return fp8_derived_scale(t.history, t.scale, max, margin);
}

void fp8_resize_f18(Fp8Tensor& t, int64_t n_new) {
  const auto n = static_cast<int64_t>(t.history.size());
  if (n_new == n) return;
  std::vector<float> h(static_cast<size_t>(n_new), 0.0f);
  h[0] = t.history[0];
  if (n_new < n) {
    // [H[0], H[n-n'+1], ..., H[n-1]]
    for (int64_t j = 1; j < n_new; ++j) h[static_cast<size_t>(j)] = t.history[n - n_new + j];
  } else {
    // [H[0], 0 x (n'-n), H[1], ..., H[n-1]]
    for (int64_t j = 1; j < n; ++j) h[static_cast<size_t>(n_new - n + j)] = t.history[j];
  }
  t.history = std::move(h);
}

void fp8_resize_f23(Fp8Tensor& t, int64_t n_new, float max, int margin) {
  const auto n = static_cast<int64_t>(t.history.size());
  if (n_new == n) return;
  std::vector<float> g(static_cast<size_t>(n_new), 0.0f);
  if (n_new < n) {
    // [0, G[n-n'+1], ..., G[n-1]]; the scale covers the last n' amaxes G[n-n'] ... G[n-1].
    for (int64_t j = 1; j < n_new; ++j) g[static_cast<size_t>(j)] = t.history[n - n_new + j];
    std::vector<float> window(t.history.begin() + (n - n_new), t.history.end());
    t.scale = fp8_derived_scale(window, t.scale, max, margin);
  } else {
    // [0, 0 x (n'-n), G[1], ..., G[n-1]], scale kept.
    for (int64_t j = 1; j < n; ++j) g[static_cast<size_t>(n_new - n + j)] = t.history[j];
  }
  t.history = std::move(g);
}

}  // namespace te::exec
