#pragma once
// The model block of `inspect`: what detection read from a checkpoint's listing, as text and as
// JSON, with the `te-ckpt convert` command that converts it to the other side.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "checkpoint/checkpoint.h"
#include "frameworks/model_detection.h"

namespace te::cli {

struct ModelReport {
  std::optional<frameworks::DetectedModel> model;
  std::string error;  // why detection failed (when model is empty)
};

// Detects the model of `c`; never throws (a failure is reported in `error`).
ModelReport report_model(const checkpoint::Checkpoint& c);

// The `te-ckpt convert` command for the checkpoint at `path`: no model flags, except those the
// listing cannot tell (Pax TE layout: --num-of-head=N, left for the user to fill in).
std::string convert_command_for(const frameworks::DetectedModel& m, const std::string& path);

// "model:" lines for `inspect`.
std::string model_text(const ModelReport& r, const std::string& path);

// The "model" object of `inspect --json` (null fields where the listing does not tell).
nlohmann::ordered_json model_json(const ModelReport& r, const std::string& path);

}  // namespace te::cli
