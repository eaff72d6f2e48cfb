// The class is header-only (main/sha256_mbedtls.hpp); this unit checks that it compiles on its own.
#include "sha256_mbedtls.hpp"
