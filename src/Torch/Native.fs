/// P/Invoke declarations of the native library's C ABI (kernels/include/rc_*.h), one to one.
/// Internal to src/Torch: `Tensor`, `Autograd`, `Kernels` and friends wrap it, and the rest of
/// the library goes through them (a test checks that no file outside src/Torch names it).
module internal Reconstruct.Torch.Native

#nowarn "9"

open System
open System.IO
open System.Reflection
open System.Runtime.InteropServices

[<Literal>]
let Lib = "reconstruct_native"

/// One argument of rc_op_call; layout mirrors `rc_arg` in rc_op.h (48 bytes).
[<Struct; StructLayout(LayoutKind.Sequential)>]
type RcArg =
    val mutable Kind: int32
    val mutable Reserved: int32
    val mutable I: int64
    val mutable D: float
    val mutable P: nativeint
    val mutable N: int64
    val mutable Name: nativeint

/// One result of rc_op_call; layout mirrors `rc_value` (32 bytes).
[<Struct; StructLayout(LayoutKind.Sequential)>]
type RcValue =
    val mutable Kind: int32
    val mutable Reserved: int32
    val mutable I: int64
    val mutable D: float
    val mutable T: nativeint

module ArgKind =
    let [<Literal>] None = 0
    let [<Literal>] Tensor = 1
    let [<Literal>] Int = 2
    let [<Literal>] Double = 3
    let [<Literal>] Bool = 4
    let [<Literal>] Ints = 5
    let [<Literal>] Doubles = 6
    let [<Literal>] Tensors = 7
    let [<Literal>] Dtype = 8
    let [<Literal>] String = 9
    let [<Literal>] Generator = 10

[<DllImport(Lib)>] extern nativeint rc_error_message()
[<DllImport(Lib)>] extern void rc_error_clear()

[<DllImport(Lib)>] extern nativeint rc_tensor_from_data(nativeint data, int64 nbytes, int32 dtype, int64[] shape, int32 ndim)
[<DllImport(Lib)>] extern void rc_tensor_free(nativeint t)
[<DllImport(Lib)>] extern nativeint rc_tensor_share(nativeint t)
[<DllImport(Lib)>] extern int64 rc_tensor_live_count()
[<DllImport(Lib)>] extern int32 rc_tensor_ndim(nativeint t)
[<DllImport(Lib)>] extern int32 rc_tensor_shape(nativeint t, int64[] shape)
[<DllImport(Lib)>] extern int32 rc_tensor_dtype(nativeint t)
[<DllImport(Lib)>] extern int32 rc_tensor_copy_to(nativeint t, nativeint dst, int64 nbytes)
[<DllImport(Lib)>] extern int32 rc_tensor_item(nativeint t, float& value)
[<DllImport(Lib)>] extern int32 rc_tensor_requires_grad(nativeint t)
[<DllImport(Lib)>] extern int32 rc_tensor_set_requires_grad(nativeint t, int32 requiresGrad)
[<DllImport(Lib)>] extern nativeint rc_tensor_grad(nativeint t)
[<DllImport(Lib)>] extern int32 rc_tensor_set_grad(nativeint t, nativeint grad)
[<DllImport(Lib)>] extern int32 rc_tensor_is_leaf(nativeint t)

[<DllImport(Lib)>] extern nativeint rc_op_find(string name, string overload)
[<DllImport(Lib)>] extern nativeint rc_op_schema(nativeint op)
[<DllImport(Lib)>] extern int32 rc_op_call(nativeint op, RcArg* args, int32 nargs, RcValue* out, int32 capacity, int32& count)

[<DllImport(Lib)>] extern int32 rc_autograd_backward(nativeint[] outputs, nativeint[] grads, int32 n, int32 retainGraph, int32 createGraph)
[<DllImport(Lib)>] extern int32 rc_autograd_grad(nativeint[] outputs, nativeint[] grads, int32 n, nativeint[] inputs, int32 m, int32 retainGraph, int32 createGraph, int32 allowUnused, nativeint[] result)
[<DllImport(Lib)>] extern int32 rc_autograd_set_enabled(int32 enabled)
[<DllImport(Lib)>] extern int32 rc_autograd_is_enabled()

[<DllImport(Lib)>] extern nativeint rc_generator_new(uint64 seed)
[<DllImport(Lib)>] extern void rc_generator_free(nativeint g)
[<DllImport(Lib)>] extern nativeint rc_generator_get_state(nativeint g)
[<DllImport(Lib)>] extern int32 rc_generator_set_state(nativeint g, nativeint state)

[<DllImport(Lib)>] extern nativeint rc_optim_adam_new(nativeint[] ps, int32 n, float lr, float beta1, float beta2, float eps, float weightDecay, int32 amsgrad, int32 decoupled)
[<DllImport(Lib)>] extern nativeint rc_optim_sgd_new(nativeint[] ps, int32 n, float lr, float momentum, float dampening, float weightDecay, int32 nesterov)
[<DllImport(Lib)>] extern void rc_optim_free(nativeint o)
[<DllImport(Lib)>] extern int32 rc_optim_step(nativeint o)
[<DllImport(Lib)>] extern int32 rc_optim_zero_grad(nativeint o)
[<DllImport(Lib)>] extern int32 rc_optim_set_lr(nativeint o, float lr)
[<DllImport(Lib)>] extern int32 rc_optim_get_lr(nativeint o, float& lr)
[<DllImport(Lib)>] extern nativeint rc_optim_state_get(nativeint o, int32 param, string key)
[<DllImport(Lib)>] extern int32 rc_optim_state_set(nativeint o, int32 param, string key, nativeint value)

[<DllImport(Lib)>] extern int32 rc_runtime_set_threads(int32 n)
[<DllImport(Lib)>] extern int32 rc_runtime_threads()
[<DllImport(Lib)>] extern nativeint rc_runtime_info()

[<DllImport(Lib)>] extern int32 rc_raster_soft(nativeint faceVertices, nativeint faceColors, int64 height, int64 width, float sigma, float gamma, float epsBg, float distEps, float znear, float zfar, int32 doubleSide, float[] background, int32 simd, nativeint[] outs)
[<DllImport(Lib)>] extern int32 rc_raster_topk(nativeint verts, nativeint faces, int64 height, int64 width, int64 facesPerPixel, float blurRadius, int32 perspectiveCorrect, int32 cullBackfaces, float znear, int32 simd, nativeint[] outs)
[<DllImport(Lib)>] extern int32 rc_raster_layered(nativeint verts, nativeint faces, nativeint faceUvs, nativeint uvImage, int64 height, int64 width, int64 facesPerPixel, float blurRadius, float sigma, int32 perspectiveCorrect, int32 cullBackfaces, float znear, float[] background, int32 simd, nativeint[] outs)
[<DllImport(Lib)>] extern int32 rc_raster_hard_textured(nativeint verts, nativeint points, nativeint faces, nativeint faceUvs, nativeint atlas, nativeint background, int64 supersample, float znear, float ambient, float diffuse, float[] lightDirection, int32 twoSided, int32 simd, nativeint[] outs)
[<DllImport(Lib)>] extern int32 rc_raster_points(nativeint xy, nativeint depth, nativeint rgb, int64 height, int64 width, float sigma2, float radius, float sharpness, float depthOffset, nativeint[] outs)
[<DllImport(Lib)>] extern int32 rc_raster_simd_available()

[<DllImport(Lib)>] extern float rc_bench_add_loop(int64 iterations)
[<DllImport(Lib)>] extern int32 rc_bench_train_steps(int32 batch, int32 size, int32 steps, uint64 seed, float[] stepMs)

[<DllImport(Lib)>] extern nativeint rc_image_read([<MarshalAs(UnmanagedType.LPUTF8Str)>] string path, int64 maxPixels, int32 keep16bit)
[<DllImport(Lib)>] extern nativeint rc_image_decode(nativeint data, int64 nbytes, [<MarshalAs(UnmanagedType.LPUTF8Str)>] string name, int64 maxPixels, int32 keep16bit)
[<DllImport(Lib)>] extern int32 rc_image_info(nativeint data, int64 nbytes, [<MarshalAs(UnmanagedType.LPUTF8Str)>] string name, int64& width, int64& height, int32& channels, int32& bits)
[<DllImport(Lib)>] extern nativeint rc_image_encode(nativeint image, int32 format, int32 quality)

let lastError () =
    let p = rc_error_message ()
    if p = 0n then "unknown native error" else Marshal.PtrToStringUTF8 p

let inline check (status: int32) =
    if status <> 0 then raise (NativeError(lastError ()))

let inline checkHandle (h: nativeint) =
    if h = 0n then raise (NativeError(lastError ()))
    h

/// Where the native library is looked for, in order: $RECONSTRUCT_NATIVE_DIR, the directory of
/// this assembly, and kernels/build above it (so F# scripts run from a checkout find it).
let private candidates () =
    let env = Environment.GetEnvironmentVariable "RECONSTRUCT_NATIVE_DIR"
    let asmDir = Path.GetDirectoryName(typeof<RcArg>.Assembly.Location)
    let rec upwards (dir: string) =
        seq {
            if not (isNull dir) then
                yield Path.Combine(dir, "kernels", "build")
                yield! upwards (Path.GetDirectoryName dir)
        }
    seq {
        if not (String.IsNullOrEmpty env) then yield env
        yield asmDir
        yield! upwards asmDir
        yield! upwards (Directory.GetCurrentDirectory())
    }
    |> Seq.map (fun d -> Path.Combine(d, "libreconstruct_native.so"))

let private resolver =
    DllImportResolver(fun name _ _ ->
        if name <> Lib then 0n
        else
            match candidates () |> Seq.tryFind File.Exists with
            | Some path -> NativeLibrary.Load path
            | None ->
                raise (DllNotFoundException(
                    "libreconstruct_native.so not found (looked in $RECONSTRUCT_NATIVE_DIR, next to Reconstruct.Core.dll and in kernels/build); run `dotnet fsi build.fsx native`")))

let mutable private installed = false

/// Installs the library resolver once; called by every type that touches the native side.
let ensureLoaded () =
    if not installed then
        lock resolver (fun () ->
            if not installed then
                NativeLibrary.SetDllImportResolver(typeof<RcArg>.Assembly, resolver)
                installed <- true)
