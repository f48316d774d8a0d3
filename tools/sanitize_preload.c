/*
 * sanitize_preload.c: lets Debian's (uninstrumented) PostgreSQL binaries run
 * with the ASan runtime preloaded, for `make sanitize`.
 *
 *   LD_PRELOAD=$(gcc -print-file-name=libasan.so):sanitize_preload.so
 *
 * Without it, postgres (even `postgres -V`) and initdb hang before main().
 * Preloaded, libasan initialises itself lazily, on the first malloc() of the
 * process, and that first malloc() comes from a library constructor that
 * holds one of glibc's locale locks: libgpg-error's constructor calls
 * bindtextdomain(), which mallocs under _nl_state_lock (write-locked);
 * libp11-kit's calls newlocale(), which mallocs under __libc_setlocale_lock.
 * ASan's initialisation ends with dlsym("swift_demangle") followed by a
 * dlerror() to discard the failure, and dlerror() translates its message
 * with gettext, which read-locks those same locks: a read lock on a lock the
 * thread holds for writing fails (EDEADLK, unchecked), the matching unlock
 * then corrupts the lock, and the next bindtextdomain()/setlocale() waits
 * forever.
 *
 * This library interposes dlerror() (libasan looks it up like any other
 * symbol; we come after it in LD_PRELOAD, before libc) and makes the first
 * call of the process, which is ASan's own, a no-op: it returns NULL without
 * translating anything.  Its only side effect is a dlsym() that succeeds and
 * so clears the pending "undefined symbol: swift_demangle" error, which is
 * all ASan wanted.  Every later call is glibc's dlerror().
 *
 * The first dlerror() is always ASan's: a dlopen()/dlsym() failure before it
 * would have malloc'd its error message, and so initialised ASan first.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

char	   *dlerror(void);

char *
dlerror(void)
{
	static char *(*real_dlerror) (void);

	if (real_dlerror == NULL)
	{
		real_dlerror = (char *(*) (void)) dlsym(RTLD_NEXT, "dlerror");
		return NULL;
	}
	return real_dlerror();
}
