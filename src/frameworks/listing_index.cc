#include "frameworks/listing_index.h"

#include <cctype>

#include "util/error.h"

namespace te::frameworks {

ListingIndex::ListingIndex(const Listing& listing) {
  for (const auto& a : listing.arrays) by_name_[a.name] = &a;
}

const ListedArray* ListingIndex::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const ListedArray* ListingIndex::first_with_prefix(const std::string& prefix) const {
  auto it = by_name_.lower_bound(prefix);
  return it != by_name_.end() && it->first.starts_with(prefix) ? it->second : nullptr;
}

std::map<int64_t, const ListedArray*> ListingIndex::layer_indices(const std::string& head) const {
  std::map<int64_t, const ListedArray*> out;
  for (auto it = by_name_.lower_bound(head); it != by_name_.end() && it->first.starts_with(head);
       ++it) {
    size_t i = head.size(), j = i;
    while (j < it->first.size() && std::isdigit(static_cast<unsigned char>(it->first[j]))) ++j;
    if (j == i || j >= it->first.size() || it->first[j] != '.' || j - i > 9) continue;
    if (j - i > 1 && it->first[i] == '0') continue;
    out.emplace(std::stoll(it->first.substr(i, j - i)), it->second);
  }
  return out;
}

Evidence evidence_of(const ListedArray* a) {
  return a ? Evidence{a->name, a->shape} : Evidence{};
}

DetectedDim dim_at(const ListedArray* a, int axis, int64_t factor) {
  DetectedDim d;
  d.evidence = evidence_of(a);
  d.axis = axis;
  if (a && axis >= 0 && axis < static_cast<int>(a->shape.size()) && factor > 0)
    d.value = a->shape[axis] / factor;
  return d;
}

void expect_rank(const ListedArray* a, size_t rank, const char* what) {
  if (a->shape.size() != rank) {
    fail("{} is {}: expected rank {} for {}", a->name, shape_string(a->shape), rank, what);
  }
}

DetectedStack count_layers(const ListingIndex& names, const std::string& head,
                           const std::string& stack) {
  auto idx = names.layer_indices(head);
  DetectedStack s{stack, 0, {}};
  if (idx.empty()) return s;
  int64_t expect = 0;
  for (const auto& [i, a] : idx) {
    if (i != expect) {
      fail("{}: the layers are not numbered 0..{}: found {}{}.* but no {}{}.*", a->name,
           idx.rbegin()->first, head, i, head, expect);
    }
    ++expect;
  }
  s.layers = expect;
  s.evidence = evidence_of(idx.rbegin()->second);
  return s;
}

}  // namespace te::frameworks
