namespace Reconstruct.Torch

#nowarn "9"
#nowarn "51"

open System
open System.Collections.Generic
open System.Runtime.InteropServices
open Microsoft.FSharp.NativeInterop
open Reconstruct.Torch.Native

/// Owns one native tensor reference. Dispose (directly or through a disposal scope) releases
/// it; the SafeHandle's critical finalizer is only the last resort for a tensor dropped
/// undisposed, and code must not rely on it.
[<Sealed>]
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
    member _.IsDisposed = disposed

    /// The innermost live scope of this thread. Scopes disposed out of order are skipped, so
    /// nothing is adopted by a scope that will never free it.
    static member internal Current =
        let mutable s = DisposalScope.current
        while not (isNull s) && s.IsDisposed do
            s <- s.Parent
        if not (obj.ReferenceEquals(s, DisposalScope.current)) then DisposalScope.current <- s
        s

    /// Opens a scope nested in the current one and makes it current.
    static member Open() =
        let s = new DisposalScope(DisposalScope.current)
        DisposalScope.current <- s
        s

    member internal this.Adopt(t: Tensor) =
        owned.Add t
        t.Owner <- this

    /// A tensor of this scope was disposed early. `use` disposes in reverse order of creation,
    /// so dropping it from the end keeps a long loop inside one scope from growing the list.
    member internal _.Forget(t: Tensor) =
        let last = owned.Count - 1
        if not disposed && last >= 0 && obj.ReferenceEquals(owned.[last], t) then owned.RemoveAt last

    /// Moves `t` out of this scope into the enclosing one (or to no scope); returns `t`.
    member this.MoveOut(t: Tensor) =
        if obj.ReferenceEquals(t.Owner, this) then
            t.Owner <- null
            if not (isNull parent || parent.IsDisposed) then parent.Adopt t
        t

    /// Frees the owned tensors (those not moved out since).
    member private this.Release() =
        disposed <- true
        for k in owned.Count - 1 .. -1 .. 0 do
            let t = owned.[k]
            if obj.ReferenceEquals(t.Owner, this) then (t :> IDisposable).Dispose()
        owned.Clear()

    interface IDisposable with
        member this.Dispose() =
            if not disposed then
                this.Release()
                // Scopes close in LIFO order; a scope disposed out of order is skipped by Current.
                if obj.ReferenceEquals(DisposalScope.current, this) then DisposalScope.current <- parent

/// An n-dimensional array on the CPU with automatic differentiation, owning one native
/// tensor reference through a SafeHandle. It is released exactly once: by Dispose (directly or
/// by its disposal scope), or as a last resort by the handle's finalizer.
and [<Sealed; AllowNullLiteral>] Tensor private (handle: TensorHandle) =
    [<DefaultValue>]
    val mutable internal Owner: DisposalScope

    /// The raw pointer for a native call; the tensor must stay alive during the call.
    member internal t.Ptr =
        if handle.IsClosed then
            raise (ObjectDisposedException("Tensor", "the tensor was disposed (did its disposal scope end?)"))
        handle.DangerousGetHandle()

    member t.IsDisposed = handle.IsClosed

    interface IDisposable with
        member t.Dispose() =
            if not handle.IsClosed then
                handle.Dispose()
                // A disposed tensor keeps no link to its scope, so holding on to it does not
                // keep the scope (and everything it owns) reachable.
                let owner = t.Owner
                if not (isNull owner) then
                    t.Owner <- null
                    owner.Forget t

    /// Takes ownership of a native handle; the innermost disposal scope of the thread adopts it.
    static member internal OfPtr(p: nativeint) =
        let t = new Tensor(new TensorHandle(checkHandle p))
        let scope = DisposalScope.Current
        if not (isNull scope) then scope.Adopt t
        t

    // ---------------------------------------------------------------- metadata

    member t.Shape: int[] =
        let n = rc_tensor_ndim t.Ptr
        if n < 0 then raise (NativeError(lastError ()))
        let s = Array.zeroCreate<int64> n
        check (rc_tensor_shape (t.Ptr, s))
        Array.map int s

    member t.Dim = rc_tensor_ndim t.Ptr
    member t.Dtype = Dtype.ofCode (rc_tensor_dtype t.Ptr)
    member t.Numel = t.Shape |> Array.fold (*) 1

    member t.Size(dim: int) =
        let s = t.Shape
        s.[if dim < 0 then s.Length + dim else dim]

    override t.ToString() =
        if t.IsDisposed then "Tensor(disposed)"
        else sprintf "Tensor(%s%s)" (Dtype.name t.Dtype) (Shape.text t.Shape)

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
        let numel = Array.fold (*) 1L shape
        if numel <> int64 data.Length || shape |> Array.exists (fun s -> s < 0L) then
            invalidArg "shape" (sprintf "ofArray: shape %s needs %d elements, the array has %d" (Shape.text64 shape) numel data.Length)
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
        let numel = t.Numel
        if dst.Length <> numel then
            invalidArg "dst" (sprintf "copy: tensor %O has %d elements, destination has %d" t numel dst.Length)
        use p = fixed dst
        check (rc_tensor_copy_to (t.Ptr, NativePtr.toNativeInt p, int64 dst.Length * int64 (Dtype.size dtype)))

    /// The values in row-major order; 'T must match the dtype.
    member t.ToArray<'T when 'T: unmanaged>() : 'T[] =
        let a = Array.zeroCreate<'T> t.Numel
        t.CopyTo(Span<'T>(a))
        a

    /// The values converted to 'T's dtype (a temporary cast, freed at once).
    member private t.ToArrayAs<'T when 'T: unmanaged>(dtype: Dtype) : 'T[] =
        if t.Dtype = dtype then t.ToArray<'T>()
        else
            use c: Tensor = t.cast dtype
            c.ToArray<'T>()

    member t.ToFloat32s() = t.ToArrayAs<float32> Float32
    member t.ToFloat64s() = t.ToArrayAs<float> Float64
    member t.ToInt64s() = t.ToArrayAs<int64> Dtype.Int64
    member t.ToBools() = t.ToArrayAs<bool> Dtype.Bool

    /// The value of a one-element tensor.
    member t.ToScalar() =
        let mutable v = 0.0
        check (rc_tensor_item (t.Ptr, &v))
        v

    member t.ToFloat() = t.ToScalar()

    // ---------------------------------------------------------------- calling operators
    //
    // The path every operator takes, so it avoids per-call garbage: arguments are marshalled
    // into stack memory (arrays and strings are copied into a stack scratch area instead of
    // being pinned), results land in a stack buffer, and the arithmetic, unary and
    // reduction members build their native arguments directly (CallT, CallTT, CallTS, ...)
    // without allocating `Arg` values or a params array.

    /// Scratch words (8 bytes) an argument needs for its array or string payload.
    static member private ScratchWords(a: Arg) =
        match a with
        | Arg.Ints xs -> xs.Length
        | Arg.Floats xs -> xs.Length
        | Arg.Ts xs -> xs.Length
        | Arg.OptTs xs -> xs.Length
        | Arg.S s -> (Text.Encoding.UTF8.GetByteCount s + 8) / 8
        | Arg.Named (_, inner) -> Tensor.ScratchWords inner
        | _ -> 0

    static member private Take(scratch: nativeptr<int64>, used: byref<int>, words: int) =
        let p = NativePtr.add scratch used
        used <- used + words
        p

    /// The native form of `a`; payloads are copied to `scratch` from word `used` on.
    static member private ToNative(a: Arg, scratch: nativeptr<int64>, used: byref<int>) : RcArg =
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
            let p = Tensor.Take(scratch, &used, xs.Length)
            xs.AsSpan().CopyTo(Span<int64>(NativePtr.toVoidPtr p, xs.Length))
            r.Kind <- ArgKind.Ints
            r.P <- NativePtr.toNativeInt p
            r.N <- int64 xs.Length
        | Arg.Floats xs ->
            let p = Tensor.Take(scratch, &used, xs.Length)
            xs.AsSpan().CopyTo(Span<float>(NativePtr.toVoidPtr p, xs.Length))
            r.Kind <- ArgKind.Doubles
            r.P <- NativePtr.toNativeInt p
            r.N <- int64 xs.Length
        | Arg.Ts xs ->
            let p = NativePtr.ofNativeInt<nativeint> (NativePtr.toNativeInt (Tensor.Take(scratch, &used, xs.Length)))
            for k in 0 .. xs.Length - 1 do
                NativePtr.set p k xs.[k].Ptr
            r.Kind <- ArgKind.Tensors
            r.P <- NativePtr.toNativeInt p
            r.N <- int64 xs.Length
        | Arg.OptTs xs ->
            let p = NativePtr.ofNativeInt<nativeint> (NativePtr.toNativeInt (Tensor.Take(scratch, &used, xs.Length)))
            for k in 0 .. xs.Length - 1 do
                NativePtr.set p k (match xs.[k] with Some x -> x.Ptr | None -> 0n)
            r.Kind <- ArgKind.Tensors
            r.P <- NativePtr.toNativeInt p
            r.N <- int64 xs.Length
        | Arg.D dt ->
            r.Kind <- ArgKind.Dtype
            r.I <- int64 (Dtype.code dt)
        | Arg.S s ->
            let words = Tensor.ScratchWords a
            let p = Tensor.Take(scratch, &used, words)
            let bytes = Span<byte>(NativePtr.toVoidPtr p, words * 8)
            let n = Text.Encoding.UTF8.GetBytes(s.AsSpan(), bytes)
            bytes.[n] <- 0uy
            r.Kind <- ArgKind.String
            r.P <- NativePtr.toNativeInt p
        | Arg.G g ->
            r.Kind <- ArgKind.Generator
            r.P <- g.Handle
        | Arg.Named (name, inner) ->
            r <- Tensor.ToNative(inner, scratch, &used)
            r.Name <- Tensor.InternName name
        r

    static member private Invoke(op: Op, args: Arg[], native: nativeptr<RcArg>, scratch: nativeptr<int64>, out: nativeptr<RcValue>, capacity: int) =
        let mutable used = 0
        for k in 0 .. args.Length - 1 do
            NativePtr.set native k (Tensor.ToNative(args.[k], scratch, &used))
        let mutable count = 0
        let status = rc_op_call (op.Handle, native, args.Length, out, capacity, &count)
        // The native pointers stay valid only while their tensors are reachable.
        GC.KeepAlive args
        check status
        count

    /// Calls `op` writing at most `capacity` results to `out`; returns their count.
    static member private CallInto(op: Op, args: Arg[], out: nativeptr<RcValue>, capacity: int) =
        let native = NativePtr.stackalloc<RcArg> (max args.Length 1)
        let mutable words = 0
        for a in args do
            words <- words + Tensor.ScratchWords a
        if words <= 512 then
            // localloc needs an empty evaluation stack: bind it before the call.
            let scratch = NativePtr.stackalloc<int64> (max words 1)
            Tensor.Invoke(op, args, native, scratch, out, capacity)
        else
            let heap = Array.zeroCreate<int64> words
            use scratch = fixed heap
            Tensor.Invoke(op, args, native, scratch, out, capacity)

    [<ThreadStatic; DefaultValue>]
    static val mutable private manyResults: RcValue[]

    /// Calls a libtorch operator; results are flattened (tuples and lists in order).
    static member internal CallValues(op: Op, args: Arg[], capacity: int) : RcValue[] =
        if capacity <= 16 then
            let out = NativePtr.stackalloc<RcValue> capacity
            let count = Tensor.CallInto(op, args, out, capacity)
            let r = Array.zeroCreate<RcValue> count
            for k in 0 .. count - 1 do
                r.[k] <- NativePtr.get out k
            r
        else
            // Ops returning lists ask for a lot of room; one buffer per thread serves them all.
            let mutable buffer = Tensor.manyResults
            if isNull buffer || buffer.Length < capacity then
                buffer <- Array.zeroCreate capacity
                Tensor.manyResults <- buffer
            use out = fixed buffer
            let count = Tensor.CallInto(op, args, out, capacity)
            Array.sub buffer 0 count

    static member val private Names = System.Collections.Concurrent.ConcurrentDictionary<string, nativeint>()

    /// Keyword names live for the process: a handful of strings, marshalled once.
    static member private InternName(name: string) =
        match Tensor.Names.TryGetValue name with
        | true, p -> p
        | _ ->
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

    /// The first of `count` results as a tensor; the others are freed (ops that return more
    /// than asked for are rare, and nothing may leak).
    static member private First(op: Op, out: nativeptr<RcValue>, count: int) =
        for k in 1 .. count - 1 do
            let v = NativePtr.get out k
            if v.Kind = ArgKind.Tensor then rc_tensor_free v.T
        if count = 0 then raise (NativeError(sprintf "%s: returned nothing, expected a tensor" op.Name))
        let v = NativePtr.get out 0
        if v.Kind <> ArgKind.Tensor then
            raise (NativeError(sprintf "%s: expected a tensor result, received kind %d" op.Name v.Kind))
        Tensor.OfPtr v.T

    /// Calls an operator that returns one tensor.
    static member Call(op: Op, [<ParamArray>] args: Arg[]) =
        let out = NativePtr.stackalloc<RcValue> 4
        let count = Tensor.CallInto(op, args, out, 4)
        Tensor.First(op, out, count)

    /// Calls an operator that returns several tensors (a tuple or a list).
    static member CallMany(op: Op, [<ParamArray>] args: Arg[]) =
        let values = Tensor.CallValues(op, args, 4096)
        if values |> Array.exists (fun v -> v.Kind <> ArgKind.Tensor) then
            for v in values do
                if v.Kind = ArgKind.Tensor then rc_tensor_free v.T
            let kinds = values |> Array.map (fun v -> string v.Kind) |> String.concat ", "
            raise (NativeError(sprintf "%s: expected tensor results, received kinds [%s]" op.Name kinds))
        values |> Array.map (fun v -> Tensor.OfPtr v.T)

    /// Calls an in-place operator: the result aliases an argument, so only the extra handle is freed.
    static member CallInPlace(op: Op, [<ParamArray>] args: Arg[]) =
        let out = NativePtr.stackalloc<RcValue> 4
        let count = Tensor.CallInto(op, args, out, 4)
        for k in 0 .. count - 1 do
            let v = NativePtr.get out k
            if v.Kind = ArgKind.Tensor then rc_tensor_free v.T

    // Fixed-arity fast paths for the members below. Each fills the native arguments itself.

    static member inline private TensorArg(x: Tensor) =
        let mutable r = RcArg()
        r.Kind <- ArgKind.Tensor
        r.P <- x.Ptr
        r

    static member inline private IntArg(i: int64) =
        let mutable r = RcArg()
        r.Kind <- ArgKind.Int
        r.I <- i
        r

    static member inline private BoolArg(b: bool) =
        let mutable r = RcArg()
        r.Kind <- ArgKind.Bool
        r.I <- if b then 1L else 0L
        r

    /// A Scalar argument for an operation on `a`. On an integer tensor a whole number travels
    /// as an integer so the dtype is kept (libtorch promotes int64 ⊕ 2.0 to float32 but keeps
    /// int64 ⊕ 2); bool tensors keep libtorch's rule (mask * 1.0 is float32), and for float
    /// tensors the two are the same.
    static member private ScalarArg(a: Tensor, v: float) =
        let mutable r = RcArg()
        // Dtype codes 0, 3, 4: uint8, int32, int64.
        if Math.Round v = v && abs v < 9.0e15 && (let c = rc_tensor_dtype a.Ptr in c = 0 || c = 3 || c = 4) then
            r.Kind <- ArgKind.Int
            r.I <- int64 v
        else
            r.Kind <- ArgKind.Double
            r.D <- v
        r

    static member private Run(op: Op, native: nativeptr<RcArg>, n: int) =
        let out = NativePtr.stackalloc<RcValue> 4
        let mutable count = 0
        check (rc_op_call (op.Handle, native, n, out, 4, &count))
        Tensor.First(op, out, count)

    static member internal CallT(op: Op, a: Tensor) =
        let native = NativePtr.stackalloc<RcArg> 1
        NativePtr.set native 0 (Tensor.TensorArg a)
        let r = Tensor.Run(op, native, 1)
        GC.KeepAlive a
        r

    static member internal CallTT(op: Op, a: Tensor, b: Tensor) =
        let native = NativePtr.stackalloc<RcArg> 2
        NativePtr.set native 0 (Tensor.TensorArg a)
        NativePtr.set native 1 (Tensor.TensorArg b)
        let r = Tensor.Run(op, native, 2)
        GC.KeepAlive a
        GC.KeepAlive b
        r

    static member internal CallTTT(op: Op, a: Tensor, b: Tensor, c: Tensor) =
        let native = NativePtr.stackalloc<RcArg> 3
        NativePtr.set native 0 (Tensor.TensorArg a)
        NativePtr.set native 1 (Tensor.TensorArg b)
        NativePtr.set native 2 (Tensor.TensorArg c)
        let r = Tensor.Run(op, native, 3)
        GC.KeepAlive a
        GC.KeepAlive b
        GC.KeepAlive c
        r

    /// `op(a, scalar)`, the scalar as in ScalarArg.
    static member internal CallTS(op: Op, a: Tensor, scalar: float) =
        let native = NativePtr.stackalloc<RcArg> 2
        NativePtr.set native 0 (Tensor.TensorArg a)
        NativePtr.set native 1 (Tensor.ScalarArg(a, scalar))
        let r = Tensor.Run(op, native, 2)
        GC.KeepAlive a
        r

    /// `op(a, i)` for an int argument (a dim, a size).
    static member internal CallTI(op: Op, a: Tensor, i: int64) =
        let native = NativePtr.stackalloc<RcArg> 2
        NativePtr.set native 0 (Tensor.TensorArg a)
        NativePtr.set native 1 (Tensor.IntArg i)
        let r = Tensor.Run(op, native, 2)
        GC.KeepAlive a
        r

    /// `op(a, i, j)` for two int arguments (two dims, a dim and an index).
    static member internal CallTII(op: Op, a: Tensor, i: int64, j: int64) =
        let native = NativePtr.stackalloc<RcArg> 3
        NativePtr.set native 0 (Tensor.TensorArg a)
        NativePtr.set native 1 (Tensor.IntArg i)
        NativePtr.set native 2 (Tensor.IntArg j)
        let r = Tensor.Run(op, native, 3)
        GC.KeepAlive a
        r

    /// `op(a, dims)` for an int[] argument (a shape, a permutation, dims to flip).
    static member internal CallTShape(op: Op, a: Tensor, dims: seq<int>) =
        let d = match dims with :? (int[]) as d -> d | _ -> Array.ofSeq dims
        let native = NativePtr.stackalloc<RcArg> 2
        let buffer = NativePtr.stackalloc<int64> (max d.Length 1)
        for k in 0 .. d.Length - 1 do
            NativePtr.set buffer k (int64 d.[k])
        NativePtr.set native 0 (Tensor.TensorArg a)
        let mutable s = RcArg()
        s.Kind <- ArgKind.Ints
        s.P <- NativePtr.toNativeInt buffer
        s.N <- int64 d.Length
        NativePtr.set native 1 s
        let r = Tensor.Run(op, native, 2)
        GC.KeepAlive a
        r

    /// `op(a, [dim], keepDim)`: the reductions over one dimension.
    static member internal CallTDimKeep(op: Op, a: Tensor, dim: int, keepDim: bool) =
        let native = NativePtr.stackalloc<RcArg> 3
        let dims = NativePtr.stackalloc<int64> 1
        NativePtr.write dims (int64 dim)
        NativePtr.set native 0 (Tensor.TensorArg a)
        let mutable d = RcArg()
        d.Kind <- ArgKind.Ints
        d.P <- NativePtr.toNativeInt dims
        d.N <- 1L
        NativePtr.set native 1 d
        NativePtr.set native 2 (Tensor.BoolArg keepDim)
        let r = Tensor.Run(op, native, 3)
        GC.KeepAlive a
        r

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

    // ---------------------------------------------------------------- arithmetic

    // Scalars keep the tensor's dtype where they can: see ScalarArg.
    static member (+)(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.add, a, b)
    static member (+)(a: Tensor, b: float) = Tensor.CallTS(Ops.addScalar, a, b)
    static member (+)(a: float, b: Tensor) = Tensor.CallTS(Ops.addScalar, b, a)
    static member (-)(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.sub, a, b)
    static member (-)(a: Tensor, b: float) = Tensor.CallTS(Ops.subScalar, a, b)
    static member (-)(a: float, b: Tensor) = Tensor.CallTS(Ops.rsubScalar, b, a)
    static member (*)(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.mul, a, b)
    static member (*)(a: Tensor, b: float) = Tensor.CallTS(Ops.mulScalar, a, b)
    static member (*)(a: float, b: Tensor) = Tensor.CallTS(Ops.mulScalar, b, a)
    static member (/)(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.div, a, b)
    static member (/)(a: Tensor, b: float) = Tensor.CallTS(Ops.divScalar, a, b)
    static member (/)(a: float, b: Tensor) =
        use r = b.reciprocal ()
        Tensor.CallTS(Ops.mulScalar, r, a)
    static member (~-)(a: Tensor) = Tensor.CallT(Ops.neg, a)
    static member Pow(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.powTensor, a, b)
    /// A negative whole exponent stays a double: libtorch refuses int64 ** -1 but gives floats for int64 ** -1.0.
    static member Pow(a: Tensor, b: float) =
        if b < 0.0 then Tensor.Call(Ops.powScalar, Arg.T a, Arg.F b) else Tensor.CallTS(Ops.powScalar, a, b)
    member a.pow(b: float) = Tensor.Pow(a, b)
    member a.pow(b: Tensor) = Tensor.Pow(a, b)
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

    // ---------------------------------------------------------------- shape and views

    member a.reshape(shape: seq<int>) = Tensor.CallTShape(Ops.reshape, a, shape)
    member a.view(shape: seq<int>) = Tensor.CallTShape(Ops.view, a, shape)
    member a.flatten(?startDim: int, ?endDim: int) =
        Tensor.Call(Ops.flatten, Arg.T a, Arg.I(int64 (defaultArg startDim 0)), Arg.I(int64 (defaultArg endDim -1)))
    member a.permute(dims: seq<int>) = Tensor.CallTShape(Ops.permute, a, dims)
    member a.transpose(dim0: int, dim1: int) = Tensor.CallTII(Ops.transpose, a, int64 dim0, int64 dim1)
    /// Matrix transpose of the last two dimensions.
    member a.mT = a.transpose (-2, -1)
    member a.expand(shape: seq<int>) = Tensor.CallTShape(Ops.expand, a, shape)
    member a.expandAs(b: Tensor) = a.expand b.Shape
    member a.squeeze() = Tensor.CallT(Ops.squeeze, a)
    member a.squeeze(dim: int) = Tensor.CallTI(Ops.squeezeDim, a, int64 dim)
    member a.unsqueeze(dim: int) = Tensor.CallTI(Ops.unsqueeze, a, int64 dim)
    member a.contiguous() = Tensor.CallT(Ops.contiguous, a)
    member a.clone() = Tensor.CallT(Ops.clone, a)
    member a.cast(dtype: Dtype) = Tensor.CallTI(Ops.toDtype, a, int64 (Dtype.code dtype))
    /// Elements [start, start+length) along `dim` (a view).
    member a.narrow(dim: int, start: int, length: int) = Tensor.Call(Ops.narrow, Arg.T a, Arg.I(int64 dim), Arg.I(int64 start), Arg.I(int64 length))
    /// Elements [start, stop) by `step` along `dim` (a view).
    member a.slice(dim: int, start: int, stop: int, ?step: int) =
        Tensor.Call(Ops.slice, Arg.T a, Arg.I(int64 dim), Arg.I(int64 start), Arg.I(int64 stop), Arg.I(int64 (defaultArg step 1)))
    /// Index `index` of `dim`, removing that dimension (a view).
    member a.select(dim: int, index: int) = Tensor.CallTII(Ops.select, a, int64 dim, int64 index)
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
    member a.flip(dims: seq<int>) = Tensor.CallTShape(Ops.flip, a, dims)
    /// Tiles `a` `repeats` times along each dimension.
    member a.repeat(repeats: seq<int>) = Tensor.CallTShape(Ops.repeat, a, repeats)
    member a.repeatInterleave(repeats: int, dim: int) = Tensor.Call(Ops.repeatInterleave, Arg.T a, Arg.I(int64 repeats), Arg.I(int64 dim))
    member a.unbind(?dim: int) = Tensor.CallMany(Ops.unbind, Arg.T a, Arg.I(int64 (defaultArg dim 0)))
    member a.chunk(chunks: int, ?dim: int) = Tensor.CallMany(Ops.chunk, Arg.T a, Arg.I(int64 chunks), Arg.I(int64 (defaultArg dim 0)))
    member a.split(size: int, ?dim: int) = Tensor.CallMany(Ops.split, Arg.T a, Arg.I(int64 size), Arg.I(int64 (defaultArg dim 0)))
    member a.diagonal(?offset: int, ?dim1: int, ?dim2: int) =
        Tensor.Call(Ops.diagonal, Arg.T a, Arg.I(int64 (defaultArg offset 0)), Arg.I(int64 (defaultArg dim1 0)), Arg.I(int64 (defaultArg dim2 1)))
    /// Indices of non-zero elements, (n, dim) int64.
    member a.nonzero() = Tensor.Call(Ops.nonzero, Arg.T a)

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
    member a.detach() = Tensor.CallT(Ops.detach, a)

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

    static member shape(s: seq<int>) =
        match s with
        | :? (int[]) as a -> Arg.Ints(Array.map int64 a)
        | :? (int list) as l -> Arg.Ints(List.toArray l |> Array.map int64)
        | _ -> Arg.Ints(s |> Seq.map int64 |> Array.ofSeq)
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
