/* The C ABI of the reconstruction framework's native library (libreconstruct_native.so).
 *
 * Naming rule: every exported function is rc_<area>_<verb>, declared in include/rc_<area>.h.
 * Handles are opaque pointers owned by the caller and released with rc_<area>_free.
 *
 * Errors: no C++ exception ever crosses this boundary. A function that fails stores a message
 * in thread-local storage and returns RC_ERROR (status functions) or NULL (handle functions).
 * The caller reads it with rc_error_message() right after the call, on the same thread; the
 * storage is reused, so nothing has to be freed and nothing leaks. */
#ifndef RC_COMMON_H
#define RC_COMMON_H

#include <stdint.h>

#if defined(__GNUC__)
#define RC_API __attribute__((visibility("default")))
#else
#define RC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define RC_OK 0
#define RC_ERROR 1

/* at::Tensor behind an opaque pointer; one handle owns one reference. */
typedef struct rc_tensor rc_tensor;

/* The message of the last failure on this thread, or "" if none. Valid until the next call. */
RC_API const char* rc_error_message(void);
RC_API void rc_error_clear(void);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
/* C++-only helpers for the implementation files. */
#include <string>
#include <exception>

namespace rc {
void set_error(const std::string& message);
/* Builds "<what>: <detail>" and stores it as the thread's error. */
void set_error(const char* what, const std::string& detail);
}

/* Wraps the body of an exported function: any exception becomes a stored message prefixed
 * by `context`, and the function returns `failure`. */
#define RC_GUARD(context, failure, ...)                                            \
  try {                                                                         \
    __VA_ARGS__                                                                 \
  } catch (const c10::Error& e) {                                               \
    rc::set_error(context, e.what_without_backtrace());                            \
    return failure;                                                             \
  } catch (const std::exception& e) {                                           \
    rc::set_error(context, e.what());                                           \
    return failure;                                                             \
  } catch (...) {                                                               \
    rc::set_error(context, "unknown C++ exception");                            \
    return failure;                                                             \
  }
#endif

#endif
