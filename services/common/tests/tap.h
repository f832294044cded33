/* Just enough TAP for the unit tests: "ok N - name" / "not ok N - name",
 * the plan printed at the end, and a non-zero exit if anything failed. */
#ifndef KEEL_TAP_H
#define KEEL_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                            \
	do {                                                                              \
		long long _g = (long long)(got), _w = (long long)(want);                  \
		tap_ok(_g == _w, __FILE__, __LINE__, __VA_ARGS__);                        \
		if (_g != _w)                                                             \
			tap_diag("got %lld, want %lld", _g, _w);                          \
	} while (0)
#define is_str(got, want, ...)                                                            \
	do {                                                                              \
		const char *_g = (got), *_w = (want);                                     \
		bool _p = _g && _w ? strcmp(_g, _w) == 0 : _g == _w;                      \
		tap_ok(_p, __FILE__, __LINE__, __VA_ARGS__);                              \
		if (!_p)                                                                  \
			tap_diag("got \"%s\", want \"%s\"", _g ? _g : "(null)",           \
				 _w ? _w : "(null)");                                     \
	} while (0)

typedef void (*tap_suite_fn)(void);
void tap_register(const char *name, tap_suite_fn fn);

/* Defines a suite of tests and registers it, so that adding a test file
 * needs no edit anywhere else: TAP_SUITE(test_json) { ok(...); } */
#define TAP_SUITE(name)                                                                   \
	static void name(void);                                                           \
	__attribute__((constructor)) static void register_##name(void)                   \
	{                                                                                 \
		tap_register(#name, name);                                                \
	}                                                                                 \
	static void name(void)

#endif
