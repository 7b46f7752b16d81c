/* Every ATen operator, called by its schema name through the libtorch dispatcher.
 *
 * One generic entry point instead of one C function per operator: the dispatcher already
 * routes through autograd, so gradients work for every op, and new ops need no C++ change.
 * Look an operator up once (rc_op_find), keep the handle, call it many times. */
#ifndef RC_OP_H
#define RC_OP_H
#include "rc_common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_op rc_op;
typedef struct rc_generator rc_generator;

enum rc_arg_kind {
  RC_ARG_NONE = 0,        /* None for an optional argument */
  RC_ARG_TENSOR = 1,      /* p: rc_tensor* */
  RC_ARG_INT = 2,         /* i */
  RC_ARG_DOUBLE = 3,      /* d */
  RC_ARG_BOOL = 4,        /* i != 0 */
  RC_ARG_INTS = 5,        /* p: int64_t[n] */
  RC_ARG_DOUBLES = 6,     /* p: double[n] */
  RC_ARG_TENSORS = 7,     /* p: rc_tensor*[n]; NULL entries are None (for Tensor?[]) */
  RC_ARG_DTYPE = 8,       /* i: scalar type code */
  RC_ARG_STRING = 9,      /* p: UTF-8, NUL-terminated */
  RC_ARG_GENERATOR = 10   /* p: rc_generator* */
};

/* One argument. `name` NULL means positional; otherwise the schema argument of that name
 * (for keyword-only arguments). Missing trailing arguments take the schema's defaults. */
typedef struct rc_arg {
  int32_t kind;
  int32_t reserved;
  int64_t i;
  double d;
  const void* p;
  int64_t n;
  const char* name;
} rc_arg;

/* One result. Tuples and lists are flattened in order, so a Tensor[] of n gives n values. */
typedef struct rc_value {
  int32_t kind; /* RC_ARG_TENSOR, RC_ARG_INT, RC_ARG_DOUBLE, RC_ARG_BOOL or RC_ARG_NONE */
  int32_t reserved;
  int64_t i;
  double d;
  rc_tensor* t; /* owned by the caller */
} rc_value;

/* name: "aten::add", overload: "Tensor" or "" for the default. NULL if there is no such op. */
RC_API rc_op* rc_op_find(const char* name, const char* overload);
/* The schema as text, for error messages and docs. */
RC_API const char* rc_op_schema(const rc_op* op);
/* Calls the op; writes at most `capacity` results into `out` and their count into `count`. */
RC_API int32_t rc_op_call(const rc_op* op, const rc_arg* args, int32_t nargs, rc_value* out,
                          int32_t capacity, int32_t* count);

#ifdef __cplusplus
}
#endif
#endif
