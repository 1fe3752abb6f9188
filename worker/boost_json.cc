// Boost.JSON, header-only: its implementation is compiled here, once.
#include <climits>  // Boost 1.81's parser uses INT_MAX without including it.

#include <boost/json/src.hpp>
