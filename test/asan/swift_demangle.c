/*
 * swift_demangle.c: preloaded (after libasan and libubsan) by the asan suite
 * of test/run; not part of rtpush.
 *
 * Debian's postgres links libsystemd -> libgcrypt -> libgpg-error, whose
 * constructor calls bindtextdomain().  With libasan preloaded into an
 * uninstrumented program, that bindtextdomain's first malloc() initialises
 * ASan while gettext's state lock is write-held; ASan's start-up looks up
 * swift_demangle with dlsym(), and on failure dlerror() translates its
 * message through gettext, which takes the same lock: the process hangs
 * (postgres -V never returns, so initdb hangs).  Defining the symbol makes
 * the lookup succeed.  ASan calls it only to demangle names in reports;
 * returning NULL means "not a Swift name", so C/C++ demangling is used.
 */
#include <stddef.h>

char	   *swift_demangle(const char *name, size_t len, char *out,
						   size_t *outlen, unsigned flags);

char *
swift_demangle(const char *name, size_t len, char *out, size_t *outlen,
			   unsigned flags)
{
	return NULL;
}
