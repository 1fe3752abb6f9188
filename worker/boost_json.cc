// Boost.JSON, header-only: its implementation is compiled here, once.
#include <boost/json/src.hpp>
#include <climits>  // Boost 1.81's parser uses INT_MAX without including it.

#ifdef BOOST_NO_EXCEPTIONS
// Built without exceptions (bench/wasm_flags.js, variant no-exceptions):
// what Boost.JSON would throw traps, as an uncaught exception does.
#include <boost/assert/source_location.hpp>
#include <exception>

namespace boost {
void throw_exception(const std::exception&) { __builtin_trap(); }
void throw_exception(const std::exception&, const boost::source_location&) {
  __builtin_trap();
}
}  // namespace boost
#endif
