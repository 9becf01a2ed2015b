// contra/core/error.hpp — the one exception type contra throws.
// defines: contra::Error, contra::detail::fail, contra::detail::concat
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace contra {

// Error: everything contra rejects (bad shapes, malformed files, unknown names) is reported as
// an Error whose what() says what was wrong, where, and what was expected.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Parts>
std::string concat(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return out.str();
}

[[noreturn]] inline void fail(const char* file, int line, const char* condition, const std::string& message) {
    std::string text = message.empty() ? std::string("check failed") : message;
    text += " [";
    text += condition;
    text += " at ";
    const std::string path(file);
    const auto slash = path.find("contra/");
    text += slash == std::string::npos ? path : path.substr(slash);
    text += ':' + std::to_string(line) + ']';
    throw Error(text);
}

}  // namespace detail
}  // namespace contra
