/// `Tensor` members that create tensors: from .NET values, constants, ranges and seeded random
/// draws. Optional extension members, visible wherever `Reconstruct.Torch` is open (this module
/// opens with the namespace); `Tensor.ofArray` and the operator-calling machinery are in Tensor.fs.
[<AutoOpen>]
module Reconstruct.Torch.TensorCreate

type Tensor with
    // ---------------------------------------------------------------- from .NET values

    /// A tensor from a 2D .NET array, shape (rows, cols).
    static member ofArray2D<'T when 'T: unmanaged>(data: 'T[,]) =
        let r, c = Array2D.length1 data, Array2D.length2 data
        Tensor.ofArray (Array.init (r * c) (fun k -> data.[k / c, k % c]), [ r; c ])

    /// A zero-dimensional tensor.
    static member scalar(value: float, ?dtype: Dtype) =
        match defaultArg dtype Float32 with
        | Float32 -> Tensor.ofArray ([| float32 value |], [])
        | Float64 -> Tensor.ofArray ([| value |], [])
        | Int64 -> Tensor.ofArray ([| int64 value |], [])
        | Int32 -> Tensor.ofArray ([| int32 value |], [])
        | UInt8 -> Tensor.ofArray ([| byte value |], [])
        | Bool -> Tensor.ofArray ([| value <> 0.0 |], [])
        | Float16 -> Tensor.ofArray ([| (System.Half.op_Explicit (float32 value): System.Half) |], [])

    // ---------------------------------------------------------------- creation

    static member zeros(shape: seq<int>, ?dtype: Dtype) =
        Tensor.Call(Ops.zeros, Arg.shape shape, Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    static member ones(shape: seq<int>, ?dtype: Dtype) =
        Tensor.Call(Ops.ones, Arg.shape shape, Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    static member full(shape: seq<int>, value: float, ?dtype: Dtype) =
        Tensor.Call(Ops.full, Arg.shape shape, Arg.F value, Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    static member empty(shape: seq<int>, ?dtype: Dtype) =
        Tensor.Call(Ops.empty, Arg.shape shape, Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    /// [start, stop) with `step`; int64 unless a dtype is given.
    static member arange(start: float, stop: float, ?step: float, ?dtype: Dtype) =
        Tensor.Call(Ops.arange, Arg.F start, Arg.F stop, Arg.F(defaultArg step 1.0), Arg.Named("dtype", Arg.D(defaultArg dtype Dtype.Int64)))

    static member arange(stop: int, ?dtype: Dtype) = Tensor.arange (0.0, float stop, 1.0, defaultArg dtype Dtype.Int64)

    /// `steps` points from `start` to `stop` inclusive.
    static member linspace(start: float, stop: float, steps: int, ?dtype: Dtype) =
        Tensor.Call(Ops.linspace, Arg.F start, Arg.F stop, Arg.I(int64 steps), Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    static member eye(n: int, ?dtype: Dtype) =
        Tensor.Call(Ops.eye, Arg.I(int64 n), Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    member t.zerosLike() = Tensor.zeros (t.Shape, t.Dtype)
    member t.onesLike() = Tensor.ones (t.Shape, t.Dtype)
    member t.fullLike(value: float) = Tensor.full (t.Shape, value, t.Dtype)

    // ---------------------------------------------------------------- random

    /// Uniform in [0, 1).
    static member rand(shape: seq<int>, generator: Generator, ?dtype: Dtype) =
        Tensor.Call(Ops.rand, Arg.shape shape, Arg.Named("generator", Arg.G generator), Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    /// Standard normal.
    static member randn(shape: seq<int>, generator: Generator, ?dtype: Dtype) =
        Tensor.Call(Ops.randn, Arg.shape shape, Arg.Named("generator", Arg.G generator), Arg.Named("dtype", Arg.D(defaultArg dtype Float32)))

    /// Integers in [low, high), int64.
    static member randint(low: int64, high: int64, shape: seq<int>, generator: Generator) =
        Tensor.Call(Ops.randint, Arg.I low, Arg.I high, Arg.shape shape, Arg.Named("generator", Arg.G generator), Arg.Named("dtype", Arg.D Dtype.Int64))

    /// A random permutation of 0..n-1, int64.
    static member randperm(n: int, generator: Generator) =
        Tensor.Call(Ops.randperm, Arg.I(int64 n), Arg.Named("generator", Arg.G generator), Arg.Named("dtype", Arg.D Dtype.Int64))

    /// Uniform in [low, high).
    static member uniform(shape: seq<int>, low: float, high: float, generator: Generator, ?dtype: Dtype) =
        use u = Tensor.rand (shape, generator, defaultArg dtype Float32)
        use scaled = Tensor.Call(Ops.mulScalar, Arg.T u, Arg.F(high - low))
        Tensor.Call(Ops.addScalar, Arg.T scaled, Arg.F low)

    /// Normal with the given mean and standard deviation.
    static member normal(shape: seq<int>, mean: float, std: float, generator: Generator, ?dtype: Dtype) =
        use z = Tensor.randn (shape, generator, defaultArg dtype Float32)
        use scaled = Tensor.Call(Ops.mulScalar, Arg.T z, Arg.F std)
        Tensor.Call(Ops.addScalar, Arg.T scaled, Arg.F mean)

    /// 1 with probability p (elementwise, p a tensor of probabilities), as p's dtype.
    member p.bernoulli(generator: Generator) = Tensor.Call(Ops.bernoulli, Arg.T p, Arg.Named("generator", Arg.G generator))
