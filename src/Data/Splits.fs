namespace Reconstruct.Data

open System
open Reconstruct.Torch

[<RequireQualifiedAccess>]
type Split =
    | Train
    | Val
    | Test

    member s.Name =
        match s with
        | Train -> "train"
        | Val -> "val"
        | Test -> "test"

    static member Parse(s: string) =
        match s with
        | "train" -> Train
        | "val" -> Val
        | "test" -> Test
        | _ -> invalidArg "split" (sprintf "Split.Parse: expected train, val or test, received '%s'" s)

module Splits =

    let counts (n: int) =
        let train = int (Math.Round(0.7 * float n, MidpointRounding.AwayFromZero))
        let valid = min (n - train) (int (Math.Round(0.1 * float n, MidpointRounding.AwayFromZero)))
        train, valid, n - train - valid

    let assign (seed: uint64) (ids: string seq) : (string * Split)[] =
        // Sorted first, so the order the ids come in does not matter.
        let sorted = ids |> Seq.toArray |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
        for k in 1 .. sorted.Length - 1 do
            if sorted.[k] = sorted.[k - 1] then invalidArg "ids" (sprintf "Splits.assign: id '%s' appears more than once" sorted.[k])
        let n = sorted.Length
        let train, valid, _ = counts n
        let order = SplitMix64(seed).Permutation n
        let split = Array.zeroCreate<Split> n
        order
        |> Array.iteri (fun rank i ->
            split.[i] <- if rank < train then Split.Train elif rank < train + valid then Split.Val else Split.Test)
        Array.init n (fun i -> sorted.[i], split.[i])
