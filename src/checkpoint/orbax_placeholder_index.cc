#include "checkpoint/orbax_placeholder_index.h"

#include <algorithm>
#include <functional>
#include <set>

#include "util/error.h"

namespace te::checkpoint {
namespace {

std::string join(const std::vector<std::string>& path) {
  std::string s;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i > 0) s += '.';
    s += path[i];
  }
  return s;
}

const std::string* placeholder(const msgpack::Value& v) {
  const auto* s = std::get_if<std::string>(&v.v);
  if (s && s->starts_with(kPlaceholderPrefix)) return s;
  return nullptr;
}

void collect(const msgpack::Value& v, std::vector<std::string>& path,
             std::vector<PlaceholderLeaf>& out) {
  if (v.is_map()) {
    for (const auto& [k, child] : v.map()) {
      path.push_back(k);
      collect(child, path, out);
      path.pop_back();
    }
    return;
  }
  if (const std::string* s = placeholder(v)) {
    out.push_back({path, s->substr(kPlaceholderPrefix.size())});
  }
}

// Removes placeholder leaves whose path is not in `keep`; returns true when `v` became empty by
// a removal (so the parent drops it too).
bool prune(msgpack::Value& v, std::vector<std::string>& path,
           const std::set<std::vector<std::string>>& keep) {
  if (!v.is_map()) return false;
  auto& m = v.map();
  bool removed_any = false;
  for (auto it = m.begin(); it != m.end();) {
    path.push_back(it->first);
    bool drop = false;
    if (placeholder(it->second)) {
      drop = !keep.count(path);
    } else if (it->second.is_map() && !it->second.map().empty()) {
      drop = prune(it->second, path, keep);
    }
    path.pop_back();
    if (drop) {
      it = m.erase(it);
      removed_any = true;
    } else {
      ++it;
    }
  }
  return removed_any && m.empty();
}

void insert(msgpack::Value& root, const std::vector<std::string>& path, const std::string& where) {
  msgpack::Value* node = &root;
  for (size_t i = 0; i < path.size(); ++i) {
    if (!node->is_map()) {
      fail("{}: cannot add leaf '{}': '{}' is a leaf, not a map", where, join(path),
           join(std::vector<std::string>(path.begin(), path.begin() + static_cast<long>(i))));
    }
    msgpack::Value* child = node->find(path[i]);
    bool last = i + 1 == path.size();
    if (!child) {
      node->map().emplace_back(path[i],
                               last ? msgpack::Value(std::string(kPlaceholderPrefix) + join(path))
                                    : msgpack::Value(msgpack::Map{}));
      child = &node->map().back().second;
    } else if (last) {
      *child = std::string(kPlaceholderPrefix) + join(path);
    } else if (!child->is_map()) {
      if (placeholder(*child)) {
        fail("{}: cannot add leaf '{}': '{}' is a leaf, not a map", where, join(path),
             join(std::vector<std::string>(path.begin(), path.begin() + static_cast<long>(i) + 1)));
      }
      *child = msgpack::Map{};  // a nil (empty node) becomes a parent
    }
    node = child;
  }
}

}  // namespace

OrbaxPlaceholderIndex OrbaxPlaceholderIndex::parse(std::span<const std::byte> data,
                                                   const std::string& where) {
  OrbaxPlaceholderIndex index;
  index.where_ = where;
  index.root_ = msgpack::decode(data, where);
  if (!index.root_.is_map()) fail("{}: expected a msgpack map at the top", where);
  return index;
}

OrbaxPlaceholderIndex OrbaxPlaceholderIndex::from_leaves(
    const std::vector<std::vector<std::string>>& leaves) {
  OrbaxPlaceholderIndex index;
  index.where_ = "placeholder checkpoint";
  index.root_ = msgpack::Map{};
  for (const auto& path : leaves) {
    if (path.empty()) fail("placeholder checkpoint: a leaf with an empty key path");
    insert(index.root_, path, index.where_);
  }
  return index;
}

bool OrbaxPlaceholderIndex::has_placeholders(const msgpack::Value& root) {
  std::vector<PlaceholderLeaf> found;
  std::vector<std::string> path;
  collect(root, path, found);
  return !found.empty();
}

std::vector<PlaceholderLeaf> OrbaxPlaceholderIndex::leaves() const {
  std::vector<PlaceholderLeaf> out;
  std::vector<std::string> path;
  collect(root_, path, out);
  return out;
}

void OrbaxPlaceholderIndex::rewrite(const std::vector<std::vector<std::string>>& keep) {
  std::set<std::vector<std::string>> wanted(keep.begin(), keep.end());
  std::vector<std::string> path;
  prune(root_, path, wanted);
  std::set<std::vector<std::string>> present;
  for (const auto& leaf : leaves()) present.insert(leaf.path);
  for (const auto& p : keep) {
    if (p.empty()) fail("{}: a leaf with an empty key path", where_);
    if (!present.count(p)) insert(root_, p, where_);
  }
}

}  // namespace te::checkpoint
