// Debian installs cblas.h under the multiarch include folder.
#if __has_include(<x86_64-linux-gnu/cblas.h>)
#include <x86_64-linux-gnu/cblas.h>
#else
#include <cblas.h>
#endif
