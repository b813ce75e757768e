#pragma once
// te::Error: the one error type of te-ckpt. Its message is complete and user-facing: it names the
// file or array and what was expected versus found. The library never prints; the CLI prints
// `what()` on one line and exits non-zero.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace te {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws te::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace te
