/// `Tensor` members that compute: arithmetic beyond the operators (which stay intrinsic in
/// Tensor.fs), comparisons, elementwise math, reductions, linear algebra and the in-place updates.
/// Optional extension members, visible wherever `Reconstruct.Torch` is open.
[<AutoOpen>]
module Reconstruct.Torch.TensorMath

open System

type Tensor with
    // ---------------------------------------------------------------- arithmetic

    /// Integer division rounding toward negative infinity.
    member a.floorDivide(b: Tensor) = Tensor.Call(Ops.divMode, Arg.T a, Arg.T b, Arg.Named("rounding_mode", Arg.S "floor"))
    member a.remainder(b: float) = Tensor.CallTS(Ops.remainder, a, b)

    // ---------------------------------------------------------------- comparison

    member a.gt(b: Tensor) = Tensor.CallTT(Ops.gt, a, b)
    member a.gt(b: float) = Tensor.CallTS(Ops.gtScalar, a, b)
    member a.ge(b: Tensor) = Tensor.CallTT(Ops.ge, a, b)
    member a.ge(b: float) = Tensor.CallTS(Ops.geScalar, a, b)
    member a.lt(b: Tensor) = Tensor.CallTT(Ops.lt, a, b)
    member a.lt(b: float) = Tensor.CallTS(Ops.ltScalar, a, b)
    member a.le(b: Tensor) = Tensor.CallTT(Ops.le, a, b)
    member a.le(b: float) = Tensor.CallTS(Ops.leScalar, a, b)
    member a.eq(b: Tensor) = Tensor.CallTT(Ops.eq, a, b)
    member a.eq(b: float) = Tensor.CallTS(Ops.eqScalar, a, b)
    member a.ne(b: Tensor) = Tensor.CallTT(Ops.ne, a, b)
    member a.ne(b: float) = Tensor.CallTS(Ops.neScalar, a, b)
    member a.logicalAnd(b: Tensor) = Tensor.CallTT(Ops.logicalAnd, a, b)
    member a.logicalOr(b: Tensor) = Tensor.CallTT(Ops.logicalOr, a, b)
    member a.logicalNot() = Tensor.CallT(Ops.logicalNot, a)
    member a.isnan() = Tensor.Call(Ops.isnan, Arg.T a)
    member a.isfinite() = Tensor.Call(Ops.isfinite, Arg.T a)
    member a.allclose(b: Tensor, ?rtol: float, ?atol: float) =
        let r = Tensor.CallValues(Ops.allclose, [| Arg.T a; Arg.T b; Arg.F(defaultArg rtol 1e-5); Arg.F(defaultArg atol 1e-8) |], 1)
        r.[0].I <> 0L

    /// Elementwise `cond ? a : b`, broadcasting.
    static member where(cond: Tensor, a: Tensor, b: Tensor) = Tensor.CallTTT(Ops.where, cond, a, b)
    member a.maskedFill(mask: Tensor, value: float) = Tensor.Call(Ops.maskedFill, Arg.T a, Arg.T mask, Arg.F value)
    static member maximum(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.maximum, a, b)
    static member minimum(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.minimum, a, b)

    // ---------------------------------------------------------------- unary math

    member a.unary(op: Op) = Tensor.CallT(op, a)
    member a.abs() = a.unary Ops.abs
    member a.exp() = a.unary Ops.exp
    member a.log() = a.unary Ops.log
    member a.log1p() = a.unary Ops.log1p
    member a.expm1() = a.unary Ops.expm1
    member a.sqrt() = a.unary Ops.sqrt
    member a.rsqrt() = a.unary Ops.rsqrt
    member a.square() = a.unary Ops.square
    member a.reciprocal() = a.unary Ops.reciprocal
    member a.sin() = a.unary Ops.sin
    member a.cos() = a.unary Ops.cos
    member a.tan() = a.unary Ops.tan
    member a.asin() = a.unary Ops.asin
    member a.acos() = a.unary Ops.acos
    member a.atan() = a.unary Ops.atan
    member a.sinh() = a.unary Ops.sinh
    member a.cosh() = a.unary Ops.cosh
    member a.tanh() = a.unary Ops.tanh
    member a.sigmoid() = a.unary Ops.sigmoid
    member a.relu() = a.unary Ops.relu
    member a.sign() = a.unary Ops.sign
    member a.floor() = a.unary Ops.floor
    member a.ceil() = a.unary Ops.ceil
    member a.round() = a.unary Ops.round
    member a.erf() = a.unary Ops.erf
    member a.neg() = a.unary Ops.neg
    static member atan2(y: Tensor, x: Tensor) = Tensor.CallTT(Ops.atan2, y, x)

    member a.clamp(?min: float, ?max: float) =
        let opt = function Some (v: float) -> Arg.F v | None -> Arg.NoneArg
        Tensor.Call(Ops.clamp, Arg.T a, opt min, opt max)

    // ---------------------------------------------------------------- reductions

    member a.sum() = Tensor.CallT(Ops.sum, a)
    member a.sum(dim: int, ?keepDim: bool) = Tensor.CallTDimKeep(Ops.sumDim, a, dim, defaultArg keepDim false)
    member a.sum(dims: int[], ?keepDim: bool) = Tensor.Call(Ops.sumDim, Arg.T a, Arg.ints dims, Arg.B(defaultArg keepDim false))
    member a.mean() = Tensor.CallT(Ops.mean, a)
    member a.mean(dim: int, ?keepDim: bool) = Tensor.CallTDimKeep(Ops.meanDim, a, dim, defaultArg keepDim false)
    member a.mean(dims: int[], ?keepDim: bool) = Tensor.Call(Ops.meanDim, Arg.T a, Arg.ints dims, Arg.B(defaultArg keepDim false))
    member a.prod(dim: int, ?keepDim: bool) = Tensor.Call(Ops.prodDim, Arg.T a, Arg.I(int64 dim), Arg.B(defaultArg keepDim false))
    /// Unbiased (n-1) unless `unbiased = false`.
    member a.std(dim: int, ?unbiased: bool, ?keepDim: bool) =
        Tensor.Call(Ops.stdDim, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg unbiased true), Arg.B(defaultArg keepDim false))
    member a.var(dim: int, ?unbiased: bool, ?keepDim: bool) =
        Tensor.Call(Ops.varDim, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg unbiased true), Arg.B(defaultArg keepDim false))
    member a.max() = Tensor.CallT(Ops.max, a)
    member a.min() = Tensor.CallT(Ops.min, a)
    /// (values, indices int64) along `dim`.
    member a.max(dim: int, ?keepDim: bool) =
        let r = Tensor.CallMany(Ops.maxDim, Arg.T a, Arg.I(int64 dim), Arg.B(defaultArg keepDim false))
        r.[0], r.[1]
    member a.min(dim: int, ?keepDim: bool) =
        let r = Tensor.CallMany(Ops.minDim, Arg.T a, Arg.I(int64 dim), Arg.B(defaultArg keepDim false))
        r.[0], r.[1]
    member a.argmax(dim: int, ?keepDim: bool) = Tensor.Call(Ops.argmax, Arg.T a, Arg.I(int64 dim), Arg.B(defaultArg keepDim false))
    member a.argmin(dim: int, ?keepDim: bool) = Tensor.Call(Ops.argmin, Arg.T a, Arg.I(int64 dim), Arg.B(defaultArg keepDim false))
    /// The p-norm over all elements.
    member a.norm(?p: float) = Tensor.Call(Ops.normScalar, Arg.T a, Arg.F(defaultArg p 2.0))
    /// The p-norm along `dim`.
    member a.norm(p: float, dim: int, ?keepDim: bool) =
        Tensor.Call(Ops.normDim, Arg.T a, Arg.F p, Arg.Ints [| int64 dim |], Arg.B(defaultArg keepDim false))
    member a.logsumexp(dim: int, ?keepDim: bool) = Tensor.CallTDimKeep(Ops.logsumexp, a, dim, defaultArg keepDim false)
    member a.cumsum(dim: int) = Tensor.CallTI(Ops.cumsum, a, int64 dim)
    member a.cumprod(dim: int) = Tensor.Call(Ops.cumprod, Arg.T a, Arg.I(int64 dim))
    /// (values, indices) of the k largest (or smallest) along `dim`.
    member a.topk(k: int, ?dim: int, ?largest: bool, ?sorted: bool) =
        let r =
            Tensor.CallMany(Ops.topk, Arg.T a, Arg.I(int64 k), Arg.I(int64 (defaultArg dim -1)), Arg.B(defaultArg largest true), Arg.B(defaultArg sorted true))
        r.[0], r.[1]
    /// (values, indices) sorted along `dim`.
    member a.sort(?dim: int, ?descending: bool) =
        let r = Tensor.CallMany(Ops.sort, Arg.T a, Arg.I(int64 (defaultArg dim -1)), Arg.B(defaultArg descending false))
        r.[0], r.[1]
    member a.all() = Tensor.Call(Ops.all, Arg.T a)
    member a.any() = Tensor.Call(Ops.any, Arg.T a)

    // ---------------------------------------------------------------- linear algebra

    member a.matmul(b: Tensor) = Tensor.CallTT(Ops.matmul, a, b)
    member a.bmm(b: Tensor) = Tensor.CallTT(Ops.bmm, a, b)
    member a.mm(b: Tensor) = Tensor.CallTT(Ops.mm, a, b)
    member a.dot(b: Tensor) = Tensor.CallTT(Ops.dot, a, b)
    member a.outer(b: Tensor) = Tensor.CallTT(Ops.outer, a, b)
    /// Cross product along `dim` (size 3).
    member a.cross(b: Tensor, ?dim: int) = Tensor.Call(Ops.cross, Arg.T a, Arg.T b, Arg.I(int64 (defaultArg dim -1)))
    member a.det() = Tensor.Call(Ops.det, Arg.T a)
    member a.inverse() = Tensor.Call(Ops.inverse, Arg.T a)
    /// (U, S, Vh) with a = U diag(S) Vh, reduced.
    member a.svd() =
        let r = Tensor.CallMany(Ops.svd, Arg.T a, Arg.B false)
        r.[0], r.[1], r.[2]
    static member einsum(equation: string, [<ParamArray>] operands: Tensor[]) = Tensor.Call(Ops.einsum, Arg.S equation, Arg.Ts operands)

    // ---------------------------------------------------------------- in place (no autograd on leaves)

    member a.zero_() = Tensor.CallInPlace(Ops.zero_, Arg.T a)
    member a.fill_(value: float) = Tensor.CallInPlace(Ops.fill_, Arg.T a, Arg.F value)
    member a.copy_(src: Tensor) = Tensor.CallInPlace(Ops.copy_, Arg.T a, Arg.T src)
    member a.add_(b: Tensor, ?alpha: float) = Tensor.CallInPlace(Ops.add_, Arg.T a, Arg.T b, Arg.F(defaultArg alpha 1.0))
    member a.mul_(b: float) = Tensor.CallInPlace(Ops.mulScalar_, Arg.T a, Arg.F b)
