#include "dist/communicator.h"

namespace te::dist {
namespace {

class CompletedSum : public PendingSum {
 public:
  explicit CompletedSum(std::vector<uint64_t> values) : values_(std::move(values)) {}
  bool done() override { return true; }
  const std::vector<uint64_t>& result() const override { return values_; }

 private:
  std::vector<uint64_t> values_;
};

class SingleProcess : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string broadcast_from_root(const std::string& text) override { return text; }
  std::vector<std::string> gather_to_root(const std::string& text) override { return {text}; }
  int lowest_rank_with(bool flag) override { return flag ? 0 : 1; }
  std::vector<uint64_t> sum(const std::vector<uint64_t>& values) override { return values; }
  std::vector<uint64_t> max(const std::vector<uint64_t>& values) override { return values; }
  std::unique_ptr<PendingSum> start_sum(const std::vector<uint64_t>& values) override {
    return std::make_unique<CompletedSum>(values);
  }
};

}  // namespace

std::unique_ptr<Communicator> single_process() {
  return std::make_unique<SingleProcess>();
}

}  // namespace te::dist
