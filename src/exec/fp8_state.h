#pragma once
// The values of TE's FP8 metadata, per tensor of one GEMM of one layer, and the rules that move
// them between the formats (te-fp8-format.md §8.2), resize a history (§8.3) and generate them
// (§9). One canonical state: F18 (history element 0 newest, then oldest ... second newest; the
// scale is the one used in the last step). Every arithmetic step is float32, in TE's order.
// The recipe's algo is `max` (every framework te-ckpt converts fixes it).
#include <array>
#include <cstdint>
#include <vector>

#include "rules/fp8_format.h"

namespace te::exec {

struct Fp8Tensor {
  std::vector<float> history;
  float scale = 1.0f;
};
// Input, kernel, grad of one GEMM.
using Fp8Gemm = std::array<Fp8Tensor, 3>;

// f(H, S): M / max(H) / 2^margin when max(H) is positive and finite, else S.
float fp8_derived_scale(const std::vector<float>& history, float old_scale, float max, int margin);

// §9.2 F18 rule: kernel history [m, 0, ...], everything else zeros; scales 1.
Fp8Gemm fp8_generate_f18(float kernel_amax, int64_t history_len);

// §8.2. `max` and `margin` are the target recipe's for that tensor.
void fp8_f18_to_f23(Fp8Tensor& t, float max, int margin);               // roll, scale = f(H, S)
void fp8_f23_to_f18(Fp8Tensor& t, float max, int margin);               // the "exact rule"
float fp8_f18_to_f17_scale(const Fp8Tensor& t, float max, int margin);  // f(H, S)

// §8.3, in the layout of the format.
void fp8_resize_f18(Fp8Tensor& t, int64_t n);  // also F17 (same layout)
void fp8_resize_f23(Fp8Tensor& t, int64_t n, float max, int margin);

}  // namespace te::exec
