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

    // ---------------------------------------------------------------- arithmetic operators

    // Operators stay intrinsic: extension members cannot provide operator overloads (F#
    // warning FS1215; `+`, `*`, `**` ... resolve through the type's own static members).

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
        use r = Tensor.CallT(Ops.reciprocal, b)
        Tensor.CallTS(Ops.mulScalar, r, a)
    static member (~-)(a: Tensor) = Tensor.CallT(Ops.neg, a)
    static member Pow(a: Tensor, b: Tensor) = Tensor.CallTT(Ops.powTensor, a, b)
    /// A negative whole exponent stays a double: libtorch refuses int64 ** -1 but gives floats for int64 ** -1.0.
    static member Pow(a: Tensor, b: float) =
        if b < 0.0 then Tensor.Call(Ops.powScalar, Arg.T a, Arg.F b) else Tensor.CallTS(Ops.powScalar, a, b)
    member a.pow(b: float) = Tensor.Pow(a, b)
    member a.pow(b: Tensor) = Tensor.Pow(a, b)

    // ---------------------------------------------------------------- conversion and indexing syntax

    // Intrinsic because the members above (ToArrayAs) and the indexer syntax (t.[i], t.[a..b])
    // use them; the other shape members are in TensorShape.fs.
    member a.cast(dtype: Dtype) = Tensor.CallTI(Ops.toDtype, a, int64 (Dtype.code dtype))
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

// Generator members that need Tensor, which is declared after Generator.
type Generator with
    /// The generator's full state: a uint8 vector (libtorch's CPU mt19937 state, the same bytes
    /// as PyTorch's `torch.Generator.get_state()`), to store in a checkpoint.
    member g.GetState() : Tensor = Tensor.OfPtr(rc_generator_get_state g.Handle)

    /// Restores a state returned by `GetState`: the generator then draws the same numbers again.
    member g.SetState(state: Tensor) =
        check (rc_generator_set_state (g.Handle, state.Ptr))
        GC.KeepAlive state
