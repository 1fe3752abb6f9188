// Boost.JSON, header-only: its implementation is compiled here, once.
#include <boost/json/src.hpp>
#include <climits>  // Boost 1.81's parser uses INT_MAX without including it.
