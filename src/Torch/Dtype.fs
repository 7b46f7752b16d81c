namespace Reconstruct.Torch

open System
open Reconstruct.Torch.Native

/// Element types the framework uses. Codes are libtorch's ScalarType values.
type Dtype =
    | UInt8
    | Int32
    | Int64
    | Float32
    | Float64
    | Bool
    /// IEEE half precision: storage only (shipped models' weights); cast to Float32 to compute.
    | Float16

module Dtype =
    let code =
        function
        | UInt8 -> 0
        | Int32 -> 3
        | Int64 -> 4
        | Float32 -> 6
        | Float64 -> 7
        | Bool -> 11
        | Float16 -> 5

    let ofCode =
        function
        | 0 -> UInt8
        | 3 -> Int32
        | 4 -> Int64
        | 6 -> Float32
        | 7 -> Float64
        | 11 -> Bool
        | 5 -> Float16
        | c -> raise (NativeError(sprintf "unsupported dtype code %d" c))

    let name =
        function
        | UInt8 -> "uint8"
        | Int32 -> "int32"
        | Int64 -> "int64"
        | Float32 -> "float32"
        | Float64 -> "float64"
        | Bool -> "bool"
        | Float16 -> "float16"

    let size =
        function
        | UInt8 | Bool -> 1
        | Float16 -> 2
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
        elif t = typeof<Half> then Float16
        else invalidArg "T" (sprintf "no tensor dtype for .NET type %s" t.Name)
