/*
 * curl_fault.c: an LD_PRELOAD shim for the TAP tests that makes libcurl
 * refuse one option, to show how the worker reports a libcurl failure.
 * No real libcurl refuses the options rtpush sets, so this is the only way
 * to reach that path.
 *
 *   RTPUSH_CURL_FAIL_OPTION  the CURLoption number to refuse
 *   RTPUSH_CURL_FAIL_TIMES   how many times, in each process (default 1)
 *
 * Every other call goes to the real curl_easy_setopt.  x86-64 only: the
 * one variadic argument (long, pointer or curl_off_t) is passed on as a
 * 64-bit integer register value.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <curl/curl.h>

#undef curl_easy_setopt

typedef CURLcode (*setopt_fn) (CURL *, CURLoption, ...);

CURLcode
curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	static setopt_fn real = NULL;
	static int	failed = 0;
	const char *fail = getenv("RTPUSH_CURL_FAIL_OPTION");
	const char *times = getenv("RTPUSH_CURL_FAIL_TIMES");
	va_list		ap;
	uintptr_t	arg;

	va_start(ap, option);
	arg = va_arg(ap, uintptr_t);
	va_end(ap);
	if (fail && atoi(fail) == (int) option && failed < (times ? atoi(times) : 1))
	{
		failed++;
		return CURLE_UNKNOWN_OPTION;
	}
	if (real == NULL)
		real = (setopt_fn) dlsym(RTLD_NEXT, "curl_easy_setopt");
	return real(curl, option, arg);
}
