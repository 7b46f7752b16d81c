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

/// Called once by everything that starts work: all cores unless RECONSTRUCT_THREADS asks for
/// fewer. More threads than cores only oversubscribe them (100000 made libtorch hang while
/// creating its pool), so a larger value is capped at the core count.
let initDefaults =
    lazy
        (let requested = Environment.GetEnvironmentVariable "RECONSTRUCT_THREADS"
         let n =
             match Int32.TryParse requested with
             | true, n when n > 0 -> min n Environment.ProcessorCount
             | _ -> Environment.ProcessorCount
         setThreads n)
