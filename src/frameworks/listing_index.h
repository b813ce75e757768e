#pragma once
// The lookups a framework's detection rules make in a listing: arrays by name and by prefix, the
// layer indices of a stack, and the evidence (array, shape, axis) a detected fact keeps.
#include <cstdint>
#include <map>
#include <string>

#include "frameworks/model_detection.h"

namespace te::frameworks {

// A listing's arrays by name, with lookups relative to a prefix. Holds pointers into the listing,
// which must outlive it.
class ListingIndex {
 public:
  explicit ListingIndex(const Listing& listing);
  // The array named `name`, or nullptr.
  const ListedArray* find(const std::string& name) const;
  // The first array (in name order) whose name starts with `prefix`, or nullptr.
  const ListedArray* first_with_prefix(const std::string& prefix) const;
  // Indices i with some array named `head` + i + "." + ..., e.g. head "target.encoder.layers_"
  // (i in decimal without leading zeros), each with its first array.
  std::map<int64_t, const ListedArray*> layer_indices(const std::string& head) const;
  const std::map<std::string, const ListedArray*>& all() const { return by_name_; }

 private:
  std::map<std::string, const ListedArray*> by_name_;
};

// The evidence of `a` (its name and shape); empty for nullptr.
Evidence evidence_of(const ListedArray* a);

// The dimension on axis `axis` of `a`, divided by `factor` (value 0 where `a` is nullptr or has no
// such axis).
DetectedDim dim_at(const ListedArray* a, int axis, int64_t factor = 1);

// Checks that `a` has rank `rank`; throws te::Error naming it and `what` otherwise.
void expect_rank(const ListedArray* a, size_t rank, const char* what);

// The layers of one stack named `<head><i>.`: the indices must run 0..L-1 (throws te::Error
// naming the gap otherwise). L = 0 when no array is named so.
DetectedStack count_layers(const ListingIndex& names, const std::string& head,
                           const std::string& stack);

}  // namespace te::frameworks
