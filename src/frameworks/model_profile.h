#pragma once
// What model detection (model_detection.h) and model resolution (model_resolution.h) need to know
// about one framework, behind one interface: the shared driver names no framework. Each framework
// implements it once in its folder (<framework>/<framework>_model.h); profiles.h lists them.
#include <string>
#include <vector>

#include "frameworks/listing_index.h"
#include "frameworks/model_detection.h"
#include "frameworks/model_resolution.h"
#include "rules/model_options.h"

namespace te::frameworks {

// How strongly a listing is one framework's.
enum class ListingClaim {
  kNone,      // not this framework's
  kFallback,  // this framework's when no framework claims it as its own (a generic Orbax step)
  kOwn,       // this framework's: its own container format, or names only it uses
};

class ModelProfile {
 public:
  virtual ~ModelProfile() = default;

  // The framework this profile describes.
  virtual rules::Framework framework() const = 0;

  // Whether `listing` (its container format, and for a format of no framework its names) is this
  // framework's. Detection reads a listing as the framework with the strongest claim (the first
  // in all_model_profiles() on a tie).
  virtual ListingClaim claim(const Listing& listing) const = 0;

  // Reads the framework's layer stacks into `m` (everything but the framework, the format, the
  // optimizer groups and FP8): the stacks and L, the side, the dimensions and the variants.
  // Throws te::Error naming the arrays when no model of this framework fits, or when two readings
  // fit (naming both and the flag that decides).
  virtual void detect(const ListingIndex& names, DetectedModel& m) const = 0;

  // The variant words of the summary line, in order ("repeat", "combined QKV", "gated MLP", ...).
  virtual std::vector<std::string> variants(const DetectedModel& m) const = 0;
  // The layer part of the summary line ("L=8", "encoder L=2, decoder L=2").
  virtual std::string depth_summary(const DetectedModel& m) const = 0;

  // The start of the names of one layer of `stack`, up to its index (e.g.
  // "target.encoder.layers_"), for messages that name a layer the checkpoint lacks or has.
  virtual std::string layer_name_head(const DetectedStack& stack) const = 0;
  // Whether the framework keeps D = N*H joined on both sides, so that where the listing shows only
  // D any split into N and H gives the same arrays (otherwise --num-of-head or --head-dim decides).
  virtual bool any_head_split_fits() const = 0;
  // Whether the seed's full description (four dimension flags) needs E too: --embed-dim, or where
  // it is left out, E read from a checkpoint of this framework.
  virtual bool full_description_needs_embed_dim() const = 0;

  // Throws te::Error on a flag of this framework the detected model contradicts, after the checks
  // every framework shares.
  virtual void check_flags(const DetectedModel& m, const ModelFlags& f) const = 0;
  // Sets this framework's options of `o` from `m` (the shared ones, framework, direction and the
  // dimensions, are set), with the flags where the listing leaves a choice. Throws te::Error where
  // a needed value cannot be read.
  virtual void options_from_detection(const DetectedModel& m, const ModelFlags& f,
                                      rules::ModelOptions& o) const = 0;
  // Appends this framework's flags that describe `o` (each " --<flag>") to `s`.
  virtual void append_flags(const rules::ModelOptions& o, std::string& s) const = 0;
};

}  // namespace te::frameworks
