namespace Reconstruct.Data

/// Which part of a dataset a model is in.
[<RequireQualifiedAccess>]
type Split =
    | Train
    | Val
    | Test

    /// "train", "val" or "test" (as in manifests and index files).
    member Name: string

    /// The split named "train", "val" or "test"; ArgumentException for anything else.
    static member Parse: s: string -> Split

/// Instance-level splits of any dataset (prepared real models, procedural instances): each
/// item is in exactly one part, 70/10/20.
module Splits =

    /// Numbers of train, val and test items for n items: 70 % and 10 % rounded, the rest test.
    val counts: n: int -> int * int * int

    /// Assigns ids to splits 70/10/20: the ids are sorted (so the order they come in does not
    /// matter), shuffled by `SplitMix64(seed).Permutation`, and cut. Returns (id, split) in
    /// sorted id order. Ids must be distinct (ArgumentException naming a repeated one).
    val assign: seed: uint64 -> ids: string seq -> (string * Split)[]
