/// Seeded randomness on the host, the same numbers on every platform and .NET version (unlike
/// System.Random). Every random draw of data generation, splits, backgrounds and benchmarks
/// comes from one explicit seed through a tree of derived seeds: a part of the program asks
/// for `Seed.child seed "its name"` and cannot shift the numbers another part sees.
namespace Reconstruct.Torch

/// A SplitMix64 stream (Steele, Lea and Flood 2014): 64-bit state, period 2^64.
[<Sealed>]
type SplitMix64 =
    new: seed: uint64 -> SplitMix64

    /// A stream for item `k` of a family seeded by `seed`, independent of the others.
    static member Derive: seed: uint64 * k: uint64 -> SplitMix64

    /// SplitMix64's output function of one state: a bijective mix of 64 bits, used to
    /// decorrelate consecutive seeds.
    static member Mix: x: uint64 -> uint64

    /// The next 64 random bits.
    member Next: unit -> uint64

    /// Uniform in [0, 1), 53 bits.
    member Float: unit -> float

    /// Uniform in [lo, hi).
    member Uniform: lo: float * hi: float -> float

    /// Uniform integer in [lo, hi] (both included).
    member Int: lo: int * hi: int -> int

    /// True with probability p.
    member Bool: p: float -> bool

    /// A standard normal draw (Box-Muller; two uniforms per draw).
    member Gaussian: unit -> float

    /// One of `items`, uniformly.
    member Pick: items: 'a[] -> 'a

    /// A random permutation of 0 .. n-1 (Fisher-Yates).
    member Permutation: n: int -> int[]

/// The seed tree: named and numbered children of a seed.
module Seed =
    /// The seed of the part called `name` below `seed` ("data/backgrounds", "splits", ...).
    val child: seed: uint64 -> name: string -> uint64

    /// The seed of item `k` below `seed` (an instance, an epoch).
    val item: seed: uint64 -> k: uint64 -> uint64

    /// A stream for the part called `name` below `seed`.
    val stream: seed: uint64 -> name: string -> SplitMix64
