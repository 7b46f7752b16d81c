namespace Reconstruct.Torch

#nowarn "9"
#nowarn "51"

open System
open System.Collections.Generic
open System.Runtime.InteropServices
open Microsoft.FSharp.NativeInterop
open Reconstruct.Torch.Native

/// Element types the framework uses. Codes are libtorch's ScalarType values.
type Dtype =
    | UInt8
    | Int32
    | Int64
    | Float32
    | Float64
    | Bool

module Dtype =
    let code =
        function
        | UInt8 -> 0
        | Int32 -> 3
        | Int64 -> 4
        | Float32 -> 6
        | Float64 -> 7
        | Bool -> 11

    let ofCode =
        function
        | 0 -> UInt8
        | 3 -> Int32
        | 4 -> Int64
        | 6 -> Float32
        | 7 -> Float64
        | 11 -> Bool
        | c -> raise (NativeError(sprintf "unsupported dtype code %d" c))

    let name =
        function
        | UInt8 -> "uint8"
        | Int32 -> "int32"
        | Int64 -> "int64"
        | Float32 -> "float32"
        | Float64 -> "float64"
        | Bool -> "bool"

    let size =
        function
        | UInt8 | Bool -> 1
        | Int32 | Float32 -> 4
        | Int64 | Float64 -> 8

    /// The dtype a .NET element type maps to.
    let ofType (t: Type) =
        if t = typeof<float32> then Float32
        elif t = typeof<float> then Float64
        elif t = typeof<int64> then Int64
        elif t = typeof<int32> then Int32
        elif t = typeof<byte> then UInt8
        elif t = typeof<bool> then Bool
        else invalidArg "T" (sprintf "no tensor dtype for .NET type %s" t.Name)

/// Owns one native tensor reference; released exactly once, by Dispose or (as a last resort
/// only) by the SafeHandle finalizer. Code must not rely on the latter.
type TensorHandle(ptr: nativeint) =
    inherit SafeHandle(ptr, true)
    override this.IsInvalid = this.handle = 0n

    override this.ReleaseHandle() =
        rc_tensor_free this.handle
        true

/// A libtorch operator looked up once by schema name and kept for the life of the process.
[<Sealed>]
type Op(name: string, overload: string) =
    let handle =
        lazy
            (ensureLoaded ()
             checkHandle (rc_op_find (name, overload)))

    member _.Name = if overload = "" then name else name + "." + overload
    member _.Handle = handle.Force()
    member this.Schema = Marshal.PtrToStringUTF8(rc_op_schema this.Handle)
    new(name) = Op(name, "")

/// A seeded random generator. Every random operation takes one explicitly.
[<Sealed>]
type Generator(seed: uint64) =
    do ensureLoaded ()
    let mutable ptr = checkHandle (rc_generator_new seed)
    member _.Seed = seed

    member _.Handle =
        if ptr = 0n then raise (ObjectDisposedException("Generator"))
        ptr

    interface IDisposable with
        member _.Dispose() =
            if ptr <> 0n then
                rc_generator_free ptr
                ptr <- 0n

/// Frees every tensor created while it is the innermost scope of its thread, when it is
/// disposed, except tensors moved out with `MoveOut`. Scopes nest; one per training step
/// keeps memory flat without the garbage collector.
[<Sealed; AllowNullLiteral>]
type DisposalScope internal (parent: DisposalScope) =
    [<ThreadStatic; DefaultValue>]
    static val mutable private current: DisposalScope

    let owned = List<Tensor>()
    let mutable disposed = false

    member _.Parent = parent
    member _.Count = owned.Count

    static member internal Current = DisposalScope.current

    /// Opens a scope nested in the current one and makes it current.
    static member Open() =
        let s = new DisposalScope(DisposalScope.current)
        DisposalScope.current <- s
        s

    member internal this.Adopt(t: Tensor) =
        owned.Add t
        t.Owner <- this

    /// Moves `t` out of this scope into the enclosing one (or to no scope); returns `t`.
    member this.MoveOut(t: Tensor) =
        if obj.ReferenceEquals(t.Owner, this) then
            t.Owner <- null
            if not (isNull parent) then parent.Adopt t
        t

    interface IDisposable with
        member this.Dispose() =
            if not disposed then
                disposed <- true
                for t in owned do
                    if obj.ReferenceEquals(t.Owner, this) then (t :> IDisposable).Dispose()
                owned.Clear()
                // Scopes close in LIFO order; a scope disposed out of order restores its parent.
                if obj.ReferenceEquals(DisposalScope.current, this) then DisposalScope.current <- parent

/// An n-dimensional array on the CPU with automatic differentiation, owning one native handle.
and [<Sealed; AllowNullLiteral>] Tensor internal (handle: TensorHandle) as this =
    do
        let scope = DisposalScope.Current
        if not (isNull scope) then scope.Adopt this

    [<DefaultValue>]
    val mutable internal Owner: DisposalScope

    member internal _.Handle = handle

    /// The raw pointer for a native call; the tensor must stay alive during the call.
    member internal _.Ptr =
        if handle.IsClosed then
            raise (ObjectDisposedException("Tensor", "the tensor was disposed (did its disposal scope end?)"))
        handle.DangerousGetHandle()

    member _.IsDisposed = handle.IsClosed

    interface IDisposable with
        member _.Dispose() = handle.Dispose()

    static member internal OfPtr(p: nativeint) = new Tensor(new TensorHandle(checkHandle p))

    // ---------------------------------------------------------------- metadata

    member t.Shape: int[] =
        let n = rc_tensor_ndim t.Ptr
        if n < 0 then raise (NativeError(lastError ()))
        let s = Array.zeroCreate<int64> n
        check (rc_tensor_shape (t.Ptr, s))
        s |> Array.map int

    member t.Dim = rc_tensor_ndim t.Ptr
    member t.Dtype = Dtype.ofCode (rc_tensor_dtype t.Ptr)
    member t.Numel = t.Shape |> Array.fold (*) 1

    member t.Size(dim: int) =
        let s = t.Shape
        s.[if dim < 0 then s.Length + dim else dim]

    override t.ToString() =
        if t.IsDisposed then "Tensor(disposed)"
        else sprintf "Tensor(%s[%s])" (Dtype.name t.Dtype) (t.Shape |> Array.map string |> String.concat ", ")

    /// Number of native tensor handles alive in the process (for leak tests).
    static member LiveCount =
        ensureLoaded ()
        rc_tensor_live_count ()

    // ---------------------------------------------------------------- creation from data

    /// Copies a .NET array into a new tensor of the given shape (the array's length if omitted).
    static member ofArray<'T when 'T: unmanaged>(data: 'T[], ?shape: seq<int>) =
        ensureLoaded ()
        let dtype = Dtype.ofType typeof<'T>
        let shape =
            match shape with
            | Some s -> s |> Seq.map int64 |> Array.ofSeq
            | None -> [| int64 data.Length |]
        let pin = GCHandle.Alloc(data, GCHandleType.Pinned)
        try
            let nbytes = int64 data.Length * int64 (Dtype.size dtype)
            Tensor.OfPtr(rc_tensor_from_data (pin.AddrOfPinnedObject(), nbytes, Dtype.code dtype, shape, shape.Length))
        finally
            pin.Free()

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

    // ---------------------------------------------------------------- copy back

    /// Copies the values (row-major) into `dst`, whose element type must match the dtype.
    member t.CopyTo<'T when 'T: unmanaged>(dst: Span<'T>) =
        let dtype = Dtype.ofType typeof<'T>
        if dtype <> t.Dtype then
            invalidArg "T" (sprintf "copy: tensor is %s, destination element type is %s" (Dtype.name t.Dtype) (Dtype.name dtype))
        use p = fixed dst
        check (rc_tensor_copy_to (t.Ptr, NativePtr.toNativeInt p, int64 dst.Length * int64 (Dtype.size dtype)))

    /// The values in row-major order; 'T must match the dtype.
    member t.ToArray<'T when 'T: unmanaged>() : 'T[] =
        let a = Array.zeroCreate<'T> t.Numel
        t.CopyTo(Span<'T>(a))
        a

    member t.ToFloat32s() = (if t.Dtype = Float32 then t else t.cast Float32).ToArray<float32>()
    member t.ToFloat64s() = (if t.Dtype = Float64 then t else t.cast Float64).ToArray<float>()
    member t.ToInt64s() = (if t.Dtype = Int64 then t else t.cast Int64).ToArray<int64>()
    member t.ToBools() = (if t.Dtype = Bool then t else t.cast Bool).ToArray<bool>()

    /// The value of a one-element tensor.
    member t.ToScalar() =
        let mutable v = 0.0
        check (rc_tensor_item (t.Ptr, &v))
        v

    member t.ToFloat() = t.ToScalar()

    // ---------------------------------------------------------------- calling operators

    /// Calls a libtorch operator; results are flattened (tuples and lists in order).
    static member internal CallValues(op: Op, args: Arg[], capacity: int) : RcValue[] =
        let n = args.Length
        let native = NativePtr.stackalloc<RcArg> (max n 1)
        let pins = List<GCHandle>()
        let pin (o: obj) =
            let h = GCHandle.Alloc(o, GCHandleType.Pinned)
            pins.Add h
            h.AddrOfPinnedObject()
        let rec toNative (a: Arg) : RcArg =
            let mutable r = RcArg()
            match a with
            | Arg.NoneArg -> r.Kind <- ArgKind.None
            | Arg.T x ->
                r.Kind <- ArgKind.Tensor
                r.P <- x.Ptr
            | Arg.I i ->
                r.Kind <- ArgKind.Int
                r.I <- i
            | Arg.F d ->
                r.Kind <- ArgKind.Double
                r.D <- d
            | Arg.B b ->
                r.Kind <- ArgKind.Bool
                r.I <- if b then 1L else 0L
            | Arg.Ints xs ->
                r.Kind <- ArgKind.Ints
                r.P <- pin xs
                r.N <- int64 xs.Length
            | Arg.Floats xs ->
                r.Kind <- ArgKind.Doubles
                r.P <- pin xs
                r.N <- int64 xs.Length
            | Arg.Ts xs ->
                r.Kind <- ArgKind.Tensors
                r.P <- pin (xs |> Array.map (fun x -> x.Ptr))
                r.N <- int64 xs.Length
            | Arg.OptTs xs ->
                r.Kind <- ArgKind.Tensors
                r.P <- pin (xs |> Array.map (function Some (x: Tensor) -> x.Ptr | None -> 0n))
                r.N <- int64 xs.Length
            | Arg.D dt ->
                r.Kind <- ArgKind.Dtype
                r.I <- int64 (Dtype.code dt)
            | Arg.S s ->
                r.Kind <- ArgKind.String
                r.P <- pin (Text.Encoding.UTF8.GetBytes(s + "\000"))
            | Arg.G g ->
                r.Kind <- ArgKind.Generator
                r.P <- g.Handle
            | Arg.Named (name, inner) ->
                r <- toNative inner
                r.Name <- Tensor.InternName name
            r
        try
            for k in 0 .. n - 1 do
                NativePtr.set native k (toNative args.[k])
            let out = Array.zeroCreate<RcValue> capacity
            use outPtr = fixed out
            let mutable count = 0
            let status = rc_op_call (op.Handle, native, n, outPtr, capacity, &count)
            GC.KeepAlive args
            check status
            Array.sub out 0 count
        finally
            for h in pins do h.Free()

    static member val private Names = Dictionary<string, nativeint>()

    /// Keyword names live for the process: a handful of strings, marshalled once.
    static member private InternName(name: string) =
        lock Tensor.Names (fun () ->
            match Tensor.Names.TryGetValue name with
            | true, p -> p
            | _ ->
                let p = Marshal.StringToCoTaskMemUTF8 name
                Tensor.Names.[name] <- p
                p)

    static member internal Wrap(v: RcValue) =
        if v.Kind <> ArgKind.Tensor then raise (NativeError(sprintf "expected a tensor result, received kind %d" v.Kind))
        Tensor.OfPtr v.T

    /// Calls an operator that returns one tensor.
    static member Call(op: Op, [<ParamArray>] args: Arg[]) =
        let r = Tensor.CallValues(op, args, 4)
        // Ops that return more than asked are rare; free the rest so nothing leaks.
        for k in 1 .. r.Length - 1 do
            if r.[k].Kind = ArgKind.Tensor then rc_tensor_free r.[k].T
        Tensor.Wrap r.[0]

    /// Calls an operator that returns several tensors (a tuple or a list).
    static member CallMany(op: Op, [<ParamArray>] args: Arg[]) =
        Tensor.CallValues(op, args, 4096) |> Array.map Tensor.Wrap

    /// Calls an in-place operator: the result aliases an argument, so only the extra handle is freed.
    static member CallInPlace(op: Op, [<ParamArray>] args: Arg[]) =
        for v in Tensor.CallValues(op, args, 4) do
            if v.Kind = ArgKind.Tensor then rc_tensor_free v.T

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
        Tensor.Call(Ops.arange, Arg.F start, Arg.F stop, Arg.F(defaultArg step 1.0), Arg.Named("dtype", Arg.D(defaultArg dtype Int64)))

    static member arange(stop: int, ?dtype: Dtype) = Tensor.arange (0.0, float stop, 1.0, defaultArg dtype Int64)

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
        Tensor.Call(Ops.randint, Arg.I low, Arg.I high, Arg.shape shape, Arg.Named("generator", Arg.G generator), Arg.Named("dtype", Arg.D Int64))

    /// A random permutation of 0..n-1, int64.
    static member randperm(n: int, generator: Generator) =
        Tensor.Call(Ops.randperm, Arg.I(int64 n), Arg.Named("generator", Arg.G generator), Arg.Named("dtype", Arg.D Int64))

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

    // ---------------------------------------------------------------- arithmetic

    static member (+)(a: Tensor, b: Tensor) = Tensor.Call(Ops.add, Arg.T a, Arg.T b)
    static member (+)(a: Tensor, b: float) = Tensor.Call(Ops.addScalar, Arg.T a, Arg.F b)
    static member (+)(a: float, b: Tensor) = Tensor.Call(Ops.addScalar, Arg.T b, Arg.F a)
    static member (-)(a: Tensor, b: Tensor) = Tensor.Call(Ops.sub, Arg.T a, Arg.T b)
    static member (-)(a: Tensor, b: float) = Tensor.Call(Ops.subScalar, Arg.T a, Arg.F b)
    static member (-)(a: float, b: Tensor) = Tensor.Call(Ops.rsubScalar, Arg.T b, Arg.F a)
    static member (*)(a: Tensor, b: Tensor) = Tensor.Call(Ops.mul, Arg.T a, Arg.T b)
    static member (*)(a: Tensor, b: float) = Tensor.Call(Ops.mulScalar, Arg.T a, Arg.F b)
    static member (*)(a: float, b: Tensor) = Tensor.Call(Ops.mulScalar, Arg.T b, Arg.F a)
    static member (/)(a: Tensor, b: Tensor) = Tensor.Call(Ops.div, Arg.T a, Arg.T b)
    static member (/)(a: Tensor, b: float) = Tensor.Call(Ops.divScalar, Arg.T a, Arg.F b)
    static member (/)(a: float, b: Tensor) = Tensor.Call(Ops.mulScalar, Arg.T(b.reciprocal ()), Arg.F a)
    static member (~-)(a: Tensor) = Tensor.Call(Ops.neg, Arg.T a)
    static member Pow(a: Tensor, b: Tensor) = Tensor.Call(Ops.powTensor, Arg.T a, Arg.T b)
    static member Pow(a: Tensor, b: float) = Tensor.Call(Ops.powScalar, Arg.T a, Arg.F b)
    member a.pow(b: float) = Tensor.Pow(a, b)
    member a.pow(b: Tensor) = Tensor.Pow(a, b)
    /// Integer division rounding toward negative infinity.
    member a.floorDivide(b: Tensor) = Tensor.Call(Ops.divMode, Arg.T a, Arg.T b, Arg.Named("rounding_mode", Arg.S "floor"))
    member a.remainder(b: float) = Tensor.Call(Ops.remainder, Arg.T a, Arg.F b)

    // ---------------------------------------------------------------- comparison

    member a.gt(b: Tensor) = Tensor.Call(Ops.gt, Arg.T a, Arg.T b)
    member a.gt(b: float) = Tensor.Call(Ops.gtScalar, Arg.T a, Arg.F b)
    member a.ge(b: Tensor) = Tensor.Call(Ops.ge, Arg.T a, Arg.T b)
    member a.ge(b: float) = Tensor.Call(Ops.geScalar, Arg.T a, Arg.F b)
    member a.lt(b: Tensor) = Tensor.Call(Ops.lt, Arg.T a, Arg.T b)
    member a.lt(b: float) = Tensor.Call(Ops.ltScalar, Arg.T a, Arg.F b)
    member a.le(b: Tensor) = Tensor.Call(Ops.le, Arg.T a, Arg.T b)
    member a.le(b: float) = Tensor.Call(Ops.leScalar, Arg.T a, Arg.F b)
    member a.eq(b: Tensor) = Tensor.Call(Ops.eq, Arg.T a, Arg.T b)
    member a.eq(b: float) = Tensor.Call(Ops.eqScalar, Arg.T a, Arg.F b)
    member a.ne(b: Tensor) = Tensor.Call(Ops.ne, Arg.T a, Arg.T b)
    member a.ne(b: float) = Tensor.Call(Ops.neScalar, Arg.T a, Arg.F b)
    member a.logicalAnd(b: Tensor) = Tensor.Call(Ops.logicalAnd, Arg.T a, Arg.T b)
    member a.logicalOr(b: Tensor) = Tensor.Call(Ops.logicalOr, Arg.T a, Arg.T b)
    member a.logicalNot() = Tensor.Call(Ops.logicalNot, Arg.T a)
    member a.isnan() = Tensor.Call(Ops.isnan, Arg.T a)
    member a.isfinite() = Tensor.Call(Ops.isfinite, Arg.T a)
    member a.allclose(b: Tensor, ?rtol: float, ?atol: float) =
        let r = Tensor.CallValues(Ops.allclose, [| Arg.T a; Arg.T b; Arg.F(defaultArg rtol 1e-5); Arg.F(defaultArg atol 1e-8) |], 1)
        r.[0].I <> 0L

    /// Elementwise `cond ? a : b`, broadcasting.
    static member where(cond: Tensor, a: Tensor, b: Tensor) = Tensor.Call(Ops.where, Arg.T cond, Arg.T a, Arg.T b)
    member a.maskedFill(mask: Tensor, value: float) = Tensor.Call(Ops.maskedFill, Arg.T a, Arg.T mask, Arg.F value)
    static member maximum(a: Tensor, b: Tensor) = Tensor.Call(Ops.maximum, Arg.T a, Arg.T b)
    static member minimum(a: Tensor, b: Tensor) = Tensor.Call(Ops.minimum, Arg.T a, Arg.T b)

    // ---------------------------------------------------------------- unary math

    member a.unary(op: Op) = Tensor.Call(op, Arg.T a)
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
    static member atan2(y: Tensor, x: Tensor) = Tensor.Call(Ops.atan2, Arg.T y, Arg.T x)

    member a.clamp(?min: float, ?max: float) =
        let opt = function Some (v: float) -> Arg.F v | None -> Arg.NoneArg
        Tensor.Call(Ops.clamp, Arg.T a, opt min, opt max)

    // ---------------------------------------------------------------- reductions

    member a.sum() = Tensor.Call(Ops.sum, Arg.T a)
    member a.sum(dim: int, ?keepDim: bool) = Tensor.Call(Ops.sumDim, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg keepDim false))
    member a.sum(dims: int[], ?keepDim: bool) = Tensor.Call(Ops.sumDim, Arg.T a, Arg.ints dims, Arg.B(defaultArg keepDim false))
    member a.mean() = Tensor.Call(Ops.mean, Arg.T a)
    member a.mean(dim: int, ?keepDim: bool) = Tensor.Call(Ops.meanDim, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg keepDim false))
    member a.mean(dims: int[], ?keepDim: bool) = Tensor.Call(Ops.meanDim, Arg.T a, Arg.ints dims, Arg.B(defaultArg keepDim false))
    member a.prod(dim: int, ?keepDim: bool) = Tensor.Call(Ops.prodDim, Arg.T a, Arg.I(int64 dim), Arg.B(defaultArg keepDim false))
    /// Unbiased (n-1) unless `unbiased = false`.
    member a.std(dim: int, ?unbiased: bool, ?keepDim: bool) =
        Tensor.Call(Ops.stdDim, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg unbiased true), Arg.B(defaultArg keepDim false))
    member a.var(dim: int, ?unbiased: bool, ?keepDim: bool) =
        Tensor.Call(Ops.varDim, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg unbiased true), Arg.B(defaultArg keepDim false))
    member a.max() = Tensor.Call(Ops.max, Arg.T a)
    member a.min() = Tensor.Call(Ops.min, Arg.T a)
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
    member a.logsumexp(dim: int, ?keepDim: bool) = Tensor.Call(Ops.logsumexp, Arg.T a, Arg.Ints [| int64 dim |], Arg.B(defaultArg keepDim false))
    member a.cumsum(dim: int) = Tensor.Call(Ops.cumsum, Arg.T a, Arg.I(int64 dim))
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

    // ---------------------------------------------------------------- shape and views

    member a.reshape(shape: seq<int>) = Tensor.Call(Ops.reshape, Arg.T a, Arg.shape shape)
    member a.view(shape: seq<int>) = Tensor.Call(Ops.view, Arg.T a, Arg.shape shape)
    member a.flatten(?startDim: int, ?endDim: int) =
        Tensor.Call(Ops.flatten, Arg.T a, Arg.I(int64 (defaultArg startDim 0)), Arg.I(int64 (defaultArg endDim -1)))
    member a.permute(dims: seq<int>) = Tensor.Call(Ops.permute, Arg.T a, Arg.shape dims)
    member a.transpose(dim0: int, dim1: int) = Tensor.Call(Ops.transpose, Arg.T a, Arg.I(int64 dim0), Arg.I(int64 dim1))
    /// Matrix transpose of the last two dimensions.
    member a.mT = a.transpose (-2, -1)
    member a.expand(shape: seq<int>) = Tensor.Call(Ops.expand, Arg.T a, Arg.shape shape)
    member a.expandAs(b: Tensor) = a.expand b.Shape
    member a.squeeze() = Tensor.Call(Ops.squeeze, Arg.T a)
    member a.squeeze(dim: int) = Tensor.Call(Ops.squeezeDim, Arg.T a, Arg.I(int64 dim))
    member a.unsqueeze(dim: int) = Tensor.Call(Ops.unsqueeze, Arg.T a, Arg.I(int64 dim))
    member a.contiguous() = Tensor.Call(Ops.contiguous, Arg.T a)
    member a.clone() = Tensor.Call(Ops.clone, Arg.T a)
    member a.cast(dtype: Dtype) = Tensor.Call(Ops.toDtype, Arg.T a, Arg.D dtype)
    /// Elements [start, start+length) along `dim` (a view).
    member a.narrow(dim: int, start: int, length: int) = Tensor.Call(Ops.narrow, Arg.T a, Arg.I(int64 dim), Arg.I(int64 start), Arg.I(int64 length))
    /// Elements [start, stop) by `step` along `dim` (a view).
    member a.slice(dim: int, start: int, stop: int, ?step: int) =
        Tensor.Call(Ops.slice, Arg.T a, Arg.I(int64 dim), Arg.I(int64 start), Arg.I(int64 stop), Arg.I(int64 (defaultArg step 1)))
    /// Index `index` of `dim`, removing that dimension (a view).
    member a.select(dim: int, index: int) = Tensor.Call(Ops.select, Arg.T a, Arg.I(int64 dim), Arg.I(int64 index))
    member a.Item with get (index: int) = a.select (0, index)

    member private a.SliceDim(dim: int, start: int option, finish: int option) =
        // F# slices are inclusive of their end.
        let stop = match finish with Some f -> (if f < 0 then f + 1 + a.Size dim else f + 1) | None -> Int32.MaxValue
        a.slice (dim, defaultArg start 0, stop)

    member a.GetSlice(s0: int option, e0: int option) = a.SliceDim(0, s0, e0)
    member a.GetSlice(s0: int option, e0: int option, s1: int option, e1: int option) =
        use x = a.SliceDim(0, s0, e0)
        x.SliceDim(1, s1, e1)
    member a.GetSlice(i0: int, s1: int option, e1: int option) =
        use x = a.select (0, i0)
        x.SliceDim(0, s1, e1)
    member a.GetSlice(s0: int option, e0: int option, i1: int) =
        use x = a.SliceDim(0, s0, e0)
        x.select (1, i1)

    member a.indexSelect(dim: int, index: Tensor) = Tensor.Call(Ops.indexSelect, Arg.T a, Arg.I(int64 dim), Arg.T index)
    member a.gather(dim: int, index: Tensor) = Tensor.Call(Ops.gather, Arg.T a, Arg.I(int64 dim), Arg.T index)
    /// A copy of `a` with `src` added at `index` along `dim`.
    member a.scatterAdd(dim: int, index: Tensor, src: Tensor) = Tensor.Call(Ops.scatterAdd, Arg.T a, Arg.I(int64 dim), Arg.T index, Arg.T src)
    /// a[indices...] with one optional index tensor per leading dimension.
    member a.index(indices: Tensor option[]) = Tensor.Call(Ops.index, Arg.T a, Arg.OptTs indices)
    /// Elements where `mask` is true, as a 1-D tensor.
    member a.maskedSelect(mask: Tensor) = Tensor.Call(Ops.maskedSelect, Arg.T a, Arg.T mask)
    static member cat(tensors: seq<Tensor>, ?dim: int) = Tensor.Call(Ops.cat, Arg.Ts(Array.ofSeq tensors), Arg.I(int64 (defaultArg dim 0)))
    static member stack(tensors: seq<Tensor>, ?dim: int) = Tensor.Call(Ops.stack, Arg.Ts(Array.ofSeq tensors), Arg.I(int64 (defaultArg dim 0)))
    member a.flip(dims: seq<int>) = Tensor.Call(Ops.flip, Arg.T a, Arg.shape dims)
    /// Tiles `a` `repeats` times along each dimension.
    member a.repeat(repeats: seq<int>) = Tensor.Call(Ops.repeat, Arg.T a, Arg.shape repeats)
    member a.repeatInterleave(repeats: int, dim: int) = Tensor.Call(Ops.repeatInterleave, Arg.T a, Arg.I(int64 repeats), Arg.I(int64 dim))
    member a.unbind(?dim: int) = Tensor.CallMany(Ops.unbind, Arg.T a, Arg.I(int64 (defaultArg dim 0)))
    member a.chunk(chunks: int, ?dim: int) = Tensor.CallMany(Ops.chunk, Arg.T a, Arg.I(int64 chunks), Arg.I(int64 (defaultArg dim 0)))
    member a.split(size: int, ?dim: int) = Tensor.CallMany(Ops.split, Arg.T a, Arg.I(int64 size), Arg.I(int64 (defaultArg dim 0)))
    member a.diagonal(?offset: int, ?dim1: int, ?dim2: int) =
        Tensor.Call(Ops.diagonal, Arg.T a, Arg.I(int64 (defaultArg offset 0)), Arg.I(int64 (defaultArg dim1 0)), Arg.I(int64 (defaultArg dim2 1)))
    /// Indices of non-zero elements, (n, dim) int64.
    member a.nonzero() = Tensor.Call(Ops.nonzero, Arg.T a)

    // ---------------------------------------------------------------- linear algebra

    member a.matmul(b: Tensor) = Tensor.Call(Ops.matmul, Arg.T a, Arg.T b)
    member a.bmm(b: Tensor) = Tensor.Call(Ops.bmm, Arg.T a, Arg.T b)
    member a.mm(b: Tensor) = Tensor.Call(Ops.mm, Arg.T a, Arg.T b)
    member a.dot(b: Tensor) = Tensor.Call(Ops.dot, Arg.T a, Arg.T b)
    member a.outer(b: Tensor) = Tensor.Call(Ops.outer, Arg.T a, Arg.T b)
    /// Cross product along `dim` (size 3).
    member a.cross(b: Tensor, ?dim: int) = Tensor.Call(Ops.cross, Arg.T a, Arg.T b, Arg.I(int64 (defaultArg dim -1)))
    member a.det() = Tensor.Call(Ops.det, Arg.T a)
    member a.inverse() = Tensor.Call(Ops.inverse, Arg.T a)
    /// (U, S, Vh) with a = U diag(S) Vh, reduced.
    member a.svd() =
        let r = Tensor.CallMany(Ops.svd, Arg.T a, Arg.B false)
        r.[0], r.[1], r.[2]
    static member einsum(equation: string, [<ParamArray>] operands: Tensor[]) = Tensor.Call(Ops.einsum, Arg.S equation, Arg.Ts operands)

    // ---------------------------------------------------------------- autograd

    member a.RequiresGrad = rc_tensor_requires_grad a.Ptr = 1
    member a.IsLeaf = rc_tensor_is_leaf a.Ptr = 1

    /// Marks a leaf as requiring gradients (in place); returns it.
    member a.RequireGrad(?value: bool) =
        check (rc_tensor_set_requires_grad (a.Ptr, (if defaultArg value true then 1 else 0)))
        a

    /// The accumulated gradient (a new handle), or None.
    member a.Grad =
        rc_error_clear ()
        let p = rc_tensor_grad a.Ptr
        if p = 0n then
            if rc_error_message () |> Marshal.PtrToStringUTF8 |> String.IsNullOrEmpty then None
            else raise (NativeError(lastError ()))
        else Some(Tensor.OfPtr p)

    member a.ZeroGrad() = check (rc_tensor_set_grad (a.Ptr, 0n))
    member a.detach() = Tensor.Call(Ops.detach, Arg.T a)

    /// Accumulates gradients of this scalar into the leaves' .Grad.
    member a.backward(?gradient: Tensor, ?retainGraph: bool, ?createGraph: bool) =
        let grads = match gradient with Some g -> [| g.Ptr |] | None -> null
        check (rc_autograd_backward ([| a.Ptr |], grads, 1, (if defaultArg retainGraph false then 1 else 0), (if defaultArg createGraph false then 1 else 0)))
        GC.KeepAlive gradient

    // ---------------------------------------------------------------- in place (no autograd on leaves)

    member a.zero_() = Tensor.CallInPlace(Ops.zero_, Arg.T a)
    member a.fill_(value: float) = Tensor.CallInPlace(Ops.fill_, Arg.T a, Arg.F value)
    member a.copy_(src: Tensor) = Tensor.CallInPlace(Ops.copy_, Arg.T a, Arg.T src)
    member a.add_(b: Tensor, ?alpha: float) = Tensor.CallInPlace(Ops.add_, Arg.T a, Arg.T b, Arg.F(defaultArg alpha 1.0))
    member a.mul_(b: float) = Tensor.CallInPlace(Ops.mulScalar_, Arg.T a, Arg.F b)

/// An argument of a libtorch operator call.
and [<RequireQualifiedAccess>] Arg =
    | NoneArg
    | T of Tensor
    | I of int64
    | F of float
    | B of bool
    | Ints of int64[]
    | Floats of float[]
    | Ts of Tensor[]
    | OptTs of Tensor option[]
    | D of Dtype
    | S of string
    | G of Generator
    /// A keyword argument, by its schema name.
    | Named of string * Arg

    static member shape(s: seq<int>) = Arg.Ints(s |> Seq.map int64 |> Array.ofSeq)
    static member ints(s: int[]) = Arg.Ints(Array.map int64 s)

/// The operators the Tensor type uses, looked up once each.
and internal Ops private () =
    static member val zeros = Op("aten::zeros")
    static member val ones = Op("aten::ones")
    static member val full = Op("aten::full")
    static member val empty = Op("aten::empty", "memory_format")
    static member val arange = Op("aten::arange", "start_step")
    static member val linspace = Op("aten::linspace")
    static member val eye = Op("aten::eye")
    static member val rand = Op("aten::rand", "generator")
    static member val randn = Op("aten::randn", "generator")
    static member val randint = Op("aten::randint", "low_generator")
    static member val randperm = Op("aten::randperm", "generator")
    static member val bernoulli = Op("aten::bernoulli")
    static member val add = Op("aten::add", "Tensor")
    static member val addScalar = Op("aten::add", "Scalar")
    static member val sub = Op("aten::sub", "Tensor")
    static member val subScalar = Op("aten::sub", "Scalar")
    static member val rsubScalar = Op("aten::rsub", "Scalar")
    static member val mul = Op("aten::mul", "Tensor")
    static member val mulScalar = Op("aten::mul", "Scalar")
    static member val div = Op("aten::div", "Tensor")
    static member val divScalar = Op("aten::div", "Scalar")
    static member val divMode = Op("aten::div", "Tensor_mode")
    static member val remainder = Op("aten::remainder", "Scalar")
    static member val neg = Op("aten::neg")
    static member val powTensor = Op("aten::pow", "Tensor_Tensor")
    static member val powScalar = Op("aten::pow", "Tensor_Scalar")
    static member val gt = Op("aten::gt", "Tensor")
    static member val gtScalar = Op("aten::gt", "Scalar")
    static member val ge = Op("aten::ge", "Tensor")
    static member val geScalar = Op("aten::ge", "Scalar")
    static member val lt = Op("aten::lt", "Tensor")
    static member val ltScalar = Op("aten::lt", "Scalar")
    static member val le = Op("aten::le", "Tensor")
    static member val leScalar = Op("aten::le", "Scalar")
    static member val eq = Op("aten::eq", "Tensor")
    static member val eqScalar = Op("aten::eq", "Scalar")
    static member val ne = Op("aten::ne", "Tensor")
    static member val neScalar = Op("aten::ne", "Scalar")
    static member val logicalAnd = Op("aten::logical_and")
    static member val logicalOr = Op("aten::logical_or")
    static member val logicalNot = Op("aten::logical_not")
    static member val isnan = Op("aten::isnan")
    static member val isfinite = Op("aten::isfinite")
    static member val allclose = Op("aten::allclose")
    static member val where = Op("aten::where", "self")
    static member val maskedFill = Op("aten::masked_fill", "Scalar")
    static member val maximum = Op("aten::maximum")
    static member val minimum = Op("aten::minimum")
    static member val abs = Op("aten::abs")
    static member val exp = Op("aten::exp")
    static member val log = Op("aten::log")
    static member val log1p = Op("aten::log1p")
    static member val expm1 = Op("aten::expm1")
    static member val sqrt = Op("aten::sqrt")
    static member val rsqrt = Op("aten::rsqrt")
    static member val square = Op("aten::square")
    static member val reciprocal = Op("aten::reciprocal")
    static member val sin = Op("aten::sin")
    static member val cos = Op("aten::cos")
    static member val tan = Op("aten::tan")
    static member val asin = Op("aten::asin")
    static member val acos = Op("aten::acos")
    static member val atan = Op("aten::atan")
    static member val atan2 = Op("aten::atan2")
    static member val sinh = Op("aten::sinh")
    static member val cosh = Op("aten::cosh")
    static member val tanh = Op("aten::tanh")
    static member val sigmoid = Op("aten::sigmoid")
    static member val relu = Op("aten::relu")
    static member val sign = Op("aten::sign")
    static member val floor = Op("aten::floor")
    static member val ceil = Op("aten::ceil")
    static member val round = Op("aten::round")
    static member val erf = Op("aten::erf")
    static member val clamp = Op("aten::clamp")
    static member val sum = Op("aten::sum")
    static member val sumDim = Op("aten::sum", "dim_IntList")
    static member val mean = Op("aten::mean")
    static member val meanDim = Op("aten::mean", "dim")
    static member val prodDim = Op("aten::prod", "dim_int")
    static member val stdDim = Op("aten::std", "dim")
    static member val varDim = Op("aten::var", "dim")
    static member val max = Op("aten::max")
    static member val min = Op("aten::min")
    static member val maxDim = Op("aten::max", "dim")
    static member val minDim = Op("aten::min", "dim")
    static member val argmax = Op("aten::argmax")
    static member val argmin = Op("aten::argmin")
    static member val normScalar = Op("aten::norm", "Scalar")
    static member val normDim = Op("aten::norm", "ScalarOpt_dim")
    static member val logsumexp = Op("aten::logsumexp")
    static member val cumsum = Op("aten::cumsum")
    static member val cumprod = Op("aten::cumprod")
    static member val topk = Op("aten::topk")
    static member val sort = Op("aten::sort")
    static member val all = Op("aten::all")
    static member val any = Op("aten::any")
    static member val reshape = Op("aten::reshape")
    static member val view = Op("aten::view")
    static member val flatten = Op("aten::flatten", "using_ints")
    static member val permute = Op("aten::permute")
    static member val transpose = Op("aten::transpose", "int")
    static member val expand = Op("aten::expand")
    static member val squeeze = Op("aten::squeeze")
    static member val squeezeDim = Op("aten::squeeze", "dim")
    static member val unsqueeze = Op("aten::unsqueeze")
    static member val contiguous = Op("aten::contiguous")
    static member val clone = Op("aten::clone")
    static member val toDtype = Op("aten::to", "dtype")
    static member val narrow = Op("aten::narrow")
    static member val slice = Op("aten::slice", "Tensor")
    static member val select = Op("aten::select", "int")
    static member val indexSelect = Op("aten::index_select")
    static member val gather = Op("aten::gather")
    static member val scatterAdd = Op("aten::scatter_add")
    static member val index = Op("aten::index", "Tensor")
    static member val maskedSelect = Op("aten::masked_select")
    static member val cat = Op("aten::cat")
    static member val stack = Op("aten::stack")
    static member val flip = Op("aten::flip")
    static member val repeat = Op("aten::repeat")
    static member val repeatInterleave = Op("aten::repeat_interleave", "self_int")
    static member val unbind = Op("aten::unbind", "int")
    static member val chunk = Op("aten::chunk")
    static member val split = Op("aten::split", "Tensor")
    static member val diagonal = Op("aten::diagonal")
    static member val nonzero = Op("aten::nonzero")
    static member val matmul = Op("aten::matmul")
    static member val bmm = Op("aten::bmm")
    static member val mm = Op("aten::mm")
    static member val dot = Op("aten::dot")
    static member val outer = Op("aten::outer")
    static member val cross = Op("aten::linalg_cross")
    static member val det = Op("aten::linalg_det")
    static member val inverse = Op("aten::linalg_inv")
    static member val svd = Op("aten::linalg_svd")
    static member val einsum = Op("aten::einsum")
    static member val detach = Op("aten::detach")
    static member val zero_ = Op("aten::zero_")
    static member val fill_ = Op("aten::fill_", "Scalar")
    static member val copy_ = Op("aten::copy_")
    static member val add_ = Op("aten::add_", "Tensor")
    static member val mulScalar_ = Op("aten::mul_", "Scalar")

// Generator members that need Tensor, which is declared after Generator.
type Generator with
    /// The generator's full state: a uint8 vector (libtorch's CPU mt19937 state, the same bytes
    /// as PyTorch's `torch.Generator.get_state()`), to store in a checkpoint.
    member g.GetState() : Tensor = Tensor.OfPtr(rc_generator_get_state g.Handle)

    /// Restores a state returned by `GetState`: the generator then draws the same numbers again.
    member g.SetState(state: Tensor) =
        check (rc_generator_set_state (g.Handle, state.Ptr))
        GC.KeepAlive state
