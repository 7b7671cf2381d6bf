// Debian installs cblas.h under the multiarch include folder.
#if __has_include(<x86_64-linux-gnu/cblas.h>)
#include <x86_64-linux-gnu/cblas.h>
#else
#include <cblas.h>
#endif

// OpenBLAS's pthread build starts its server threads when the library loads, and each
// spins in sched_yield for ~2^28 cycles (~0.1 s) before it sleeps: on two cores that
// steals a core from a short run. The engine never uses them (one thread per call), so
// it stops them with this exported (not in cblas.h) OpenBLAS entry point; a later
// multi-threaded call would start them again.
int blas_thread_shutdown_(void);
