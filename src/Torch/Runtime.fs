/// Process-wide settings of the tensor engine.
module Reconstruct.Torch.Runtime

open System
open System.Runtime.InteropServices
open Reconstruct.Torch.Native

/// Sets the number of threads libtorch's kernels use (default: all cores).
let setThreads (n: int) =
    ensureLoaded ()
    check (rc_runtime_set_threads n)

let threads () =
    ensureLoaded ()
    rc_runtime_threads ()

/// A JSON object: libtorch version, threads, cores, SIMD level, the BLAS library in use.
let info () =
    ensureLoaded ()
    Marshal.PtrToStringUTF8(checkHandle (rc_runtime_info ()))

/// Called once by everything that starts work: all cores unless RECONSTRUCT_THREADS says otherwise.
let initDefaults =
    lazy
        (let requested = Environment.GetEnvironmentVariable "RECONSTRUCT_THREADS"
         let n =
             match Int32.TryParse requested with
             | true, n when n > 0 -> n
             | _ -> Environment.ProcessorCount
         setThreads n)
