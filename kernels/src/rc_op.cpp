#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <c10/util/SmallVector.h>
#include <sstream>
#include "rc_op.h"
#include "generator_handle.h"
#include "tensor_handle.h"

struct rc_op {
  c10::OperatorHandle handle;
  std::string schema_text;
  std::string qualified;  // "aten::add.Tensor", used in every message
};

namespace {

const char* kind_name(int32_t kind) {
  static const char* names[] = {"None", "Tensor", "int", "float", "bool", "int[]",
                                "float[]", "Tensor[]", "ScalarType", "str", "Generator"};
  return (kind >= 0 && kind <= 10) ? names[kind] : "unknown";
}

std::string describe_arg(const rc_arg& a) {
  switch (a.kind) {
    case RC_ARG_TENSOR: return rc::describe(static_cast<const rc_tensor*>(a.p)->t);
    case RC_ARG_INT: return std::to_string(a.i);
    case RC_ARG_DOUBLE: return std::to_string(a.d);
    case RC_ARG_TENSORS: {
      std::string s = "[";
      auto ts = static_cast<rc_tensor* const*>(a.p);
      for (int64_t k = 0; k < a.n; ++k)
        s += (k ? ", " : "") + (ts[k] ? rc::describe(ts[k]->t) : std::string("None"));
      return s + "]";
    }
    case RC_ARG_INTS: {
      std::string s = "[";
      auto v = static_cast<const int64_t*>(a.p);
      for (int64_t k = 0; k < a.n; ++k) s += (k ? ", " : "") + std::to_string(v[k]);
      return s + "]";
    }
    default: return kind_name(a.kind);
  }
}

[[noreturn]] void mismatch(const c10::Argument& formal, const rc_arg& a) {
  throw std::invalid_argument("argument '" + formal.name() + "' expects " + formal.type()->str() +
                              ", received " + kind_name(a.kind));
}

std::vector<int64_t> int_list(const rc_arg& a) {
  auto v = static_cast<const int64_t*>(a.p);
  return std::vector<int64_t>(v, v + a.n);
}

// Converts one C argument to the IValue the schema's type expects. Conversions are the
// harmless ones a caller would expect: int -> float, a single int -> int[N], etc.
c10::IValue to_ivalue(const rc_arg& a, const c10::Argument& formal) {
  c10::TypePtr type = formal.type();
  if (a.kind == RC_ARG_NONE) {
    if (type->kind() != c10::TypeKind::OptionalType && type->kind() != c10::TypeKind::NoneType)
      throw std::invalid_argument("argument '" + formal.name() + "' of type " + type->str() +
                                  " cannot be None");
    return c10::IValue();
  }
  if (auto opt = type->cast<c10::OptionalType>()) type = opt->getElementType();
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      if (a.kind != RC_ARG_TENSOR) mismatch(formal, a);
      return rc::unwrap(static_cast<const rc_tensor*>(a.p), formal.name().c_str());
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      if (a.kind == RC_ARG_INT || a.kind == RC_ARG_DTYPE) return c10::IValue(a.i);
      if (a.kind == RC_ARG_BOOL) return c10::IValue(static_cast<int64_t>(a.i != 0));
      mismatch(formal, a);
    case c10::TypeKind::FloatType:
      if (a.kind == RC_ARG_DOUBLE) return c10::IValue(a.d);
      if (a.kind == RC_ARG_INT) return c10::IValue(static_cast<double>(a.i));
      mismatch(formal, a);
    case c10::TypeKind::BoolType:
      if (a.kind == RC_ARG_BOOL || a.kind == RC_ARG_INT) return c10::IValue(a.i != 0);
      mismatch(formal, a);
    case c10::TypeKind::NumberType:  // Scalar
      if (a.kind == RC_ARG_DOUBLE) return c10::IValue(a.d);
      if (a.kind == RC_ARG_INT) return c10::IValue(a.i);
      if (a.kind == RC_ARG_BOOL) return c10::IValue(a.i != 0);
      mismatch(formal, a);
    case c10::TypeKind::ScalarTypeType:
      if (a.kind == RC_ARG_DTYPE || a.kind == RC_ARG_INT) return c10::IValue(a.i);
      mismatch(formal, a);
    case c10::TypeKind::StringType:
      if (a.kind != RC_ARG_STRING) mismatch(formal, a);
      return c10::IValue(std::string(static_cast<const char*>(a.p)));
    case c10::TypeKind::GeneratorType:
      if (a.kind != RC_ARG_GENERATOR) mismatch(formal, a);
      return c10::IValue(static_cast<const rc_generator*>(a.p)->g);
    case c10::TypeKind::ListType: {
      auto elem = type->castRaw<c10::ListType>()->getElementType();
      auto ekind = elem->kind();
      if (ekind == c10::TypeKind::IntType || ekind == c10::TypeKind::SymIntType) {
        if (a.kind == RC_ARG_INTS) return c10::IValue(int_list(a));
        if (a.kind == RC_ARG_INT) {
          // int[2] stride=1 style: one value stands for all N.
          auto n = formal.N() ? *formal.N() : 1;
          return c10::IValue(std::vector<int64_t>(n, a.i));
        }
        mismatch(formal, a);
      }
      if (ekind == c10::TypeKind::FloatType) {
        if (a.kind != RC_ARG_DOUBLES) mismatch(formal, a);
        auto v = static_cast<const double*>(a.p);
        return c10::IValue(std::vector<double>(v, v + a.n));
      }
      if (ekind == c10::TypeKind::TensorType) {
        if (a.kind != RC_ARG_TENSORS) mismatch(formal, a);
        auto ts = static_cast<rc_tensor* const*>(a.p);
        std::vector<at::Tensor> v;
        v.reserve(a.n);
        for (int64_t k = 0; k < a.n; ++k) v.push_back(rc::unwrap(ts[k], formal.name().c_str()));
        return c10::IValue(v);
      }
      if (ekind == c10::TypeKind::OptionalType) {  // Tensor?[] (indexing)
        if (a.kind != RC_ARG_TENSORS) mismatch(formal, a);
        auto ts = static_cast<rc_tensor* const*>(a.p);
        c10::List<c10::optional<at::Tensor>> v;
        for (int64_t k = 0; k < a.n; ++k)
          v.push_back(ts[k] ? c10::optional<at::Tensor>(ts[k]->t) : c10::nullopt);
        return c10::IValue(v);
      }
      if (ekind == c10::TypeKind::BoolType) {
        if (a.kind != RC_ARG_INTS) mismatch(formal, a);
        auto v = static_cast<const int64_t*>(a.p);
        c10::List<bool> b;
        for (int64_t k = 0; k < a.n; ++k) b.push_back(v[k] != 0);
        return c10::IValue(b);
      }
      mismatch(formal, a);
    }
    default:
      throw std::invalid_argument("argument '" + formal.name() + "' has unsupported type " + type->str());
  }
}

// Small ops (the common case) return one or two values: keep them off the heap.
using Results = c10::SmallVector<rc_value, 8>;

void flatten(const c10::IValue& v, Results& out) {
  rc_value r{};
  if (v.isTensor()) {
    const auto& t = v.toTensor();
    if (t.defined()) {
      r.kind = RC_ARG_TENSOR;
      r.t = rc::wrap(t);
    } else {
      r.kind = RC_ARG_NONE;
    }
  } else if (v.isTensorList()) {
    for (const at::Tensor& t : v.toTensorVector()) flatten(c10::IValue(t), out);
    return;
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) flatten(e, out);
    return;
  } else if (v.isInt()) {
    r.kind = RC_ARG_INT;
    r.i = v.toInt();
  } else if (v.isDouble()) {
    r.kind = RC_ARG_DOUBLE;
    r.d = v.toDouble();
  } else if (v.isBool()) {
    r.kind = RC_ARG_BOOL;
    r.i = v.toBool();
  } else if (v.isIntList()) {
    for (auto x : v.toIntVector()) {
      rc_value e{};
      e.kind = RC_ARG_INT;
      e.i = x;
      out.push_back(e);
    }
    return;
  } else if (v.isNone()) {
    r.kind = RC_ARG_NONE;
  } else {
    throw std::invalid_argument("unsupported result type " + v.tagKind());
  }
  out.push_back(r);
}

std::string received(const rc_arg* args, int32_t nargs) {
  std::string s;
  for (int32_t k = 0; k < nargs; ++k) {
    if (args[k].kind != RC_ARG_TENSOR && args[k].kind != RC_ARG_TENSORS) continue;
    s += s.empty() ? "" : ", ";
    if (args[k].name) s += std::string(args[k].name) + "=";
    s += describe_arg(args[k]);
  }
  return s;
}

}  // namespace

extern "C" {

RC_API rc_op* rc_op_find(const char* name, const char* overload) {
  RC_GUARD("rc_op_find", nullptr, {
    auto h = c10::Dispatcher::singleton().findSchema({name, overload ? overload : ""});
    if (!h.has_value()) {
      rc::set_error("rc_op_find", std::string("no operator ") + name + (overload && *overload ? std::string(".") + overload : ""));
      return nullptr;
    }
    std::ostringstream text;
    text << h->schema();
    std::string q = std::string(name) + (overload && *overload ? std::string(".") + overload : "");
    return new rc_op{*h, text.str(), q};
  })
}

RC_API const char* rc_op_schema(const rc_op* op) { return op ? op->schema_text.c_str() : ""; }

RC_API int32_t rc_op_call(const rc_op* op, const rc_arg* args, int32_t nargs, rc_value* out,
                          int32_t capacity, int32_t* count) {
  if (op == nullptr) {
    rc::set_error("rc_op_call", "null operator");
    return RC_ERROR;
  }
  Results results;
  // The argument stack is reused per thread so a call allocates none; a nested call on the
  // same thread (an op calling back into managed code) falls back to its own.
  thread_local torch::jit::Stack cached;
  thread_local bool busy = false;
  torch::jit::Stack local;
  torch::jit::Stack& stack = busy ? local : cached;
  struct Release {
    bool& flag;
    bool previous;
    ~Release() { flag = previous; }
  } release{busy, busy};
  busy = true;
  stack.clear();
  try {
    const auto& formals = op->handle.schema().arguments();
    c10::SmallVector<const rc_arg*, 16> bound(formals.size(), nullptr);
    size_t positional = 0;
    for (int32_t k = 0; k < nargs; ++k) {
      const rc_arg& a = args[k];
      if (a.name == nullptr) {
        if (positional >= formals.size())
          throw std::invalid_argument("takes " + std::to_string(formals.size()) + " arguments, received more");
        bound[positional++] = &a;
      } else {
        size_t j = 0;
        while (j < formals.size() && formals[j].name() != a.name) ++j;
        if (j == formals.size()) throw std::invalid_argument(std::string("has no argument '") + a.name + "'");
        bound[j] = &a;
      }
    }
    for (size_t j = 0; j < formals.size(); ++j) {
      if (bound[j]) {
        stack.push_back(to_ivalue(*bound[j], formals[j]));
      } else if (formals[j].default_value().has_value()) {
        stack.push_back(*formals[j].default_value());
      } else {
        throw std::invalid_argument("missing argument '" + formals[j].name() + "'");
      }
    }
    op->handle.callBoxed(&stack);
    for (const auto& v : stack) flatten(v, results);
    stack.clear();
    if (static_cast<int32_t>(results.size()) > capacity)
      throw std::invalid_argument("returns " + std::to_string(results.size()) + " values, caller has room for " +
                                  std::to_string(capacity));
    for (size_t k = 0; k < results.size(); ++k) out[k] = results[k];
    *count = static_cast<int32_t>(results.size());
    return RC_OK;
  } catch (const std::exception& e) {
    stack.clear();
    for (auto& r : results)
      if (r.t) { delete r.t; rc::live_tensors.fetch_sub(1); }
    std::string msg = e.what();
    if (auto ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
    // Keep the first line of ATen's message: the rest is its internal context.
    auto nl = msg.find('\n');
    if (nl != std::string::npos) msg = msg.substr(0, nl);
    auto got = received(args, nargs);
    rc::set_error(op->qualified.c_str(), msg + (got.empty() ? "" : " (received " + got + ")"));
    return RC_ERROR;
  } catch (...) {
    stack.clear();
    for (auto& r : results)
      if (r.t) { delete r.t; rc::live_tensors.fetch_sub(1); }
    rc::set_error(op->qualified.c_str(), "unknown C++ exception");
    return RC_ERROR;
  }
}
}
