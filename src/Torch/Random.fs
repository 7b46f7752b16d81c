namespace Reconstruct.Torch

open System

[<Sealed>]
type SplitMix64(seed: uint64) =
    let mutable state = seed

    static member Mix(x: uint64) =
        let z = x + 0x9E3779B97F4A7C15UL
        let z = (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        let z = (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    static member Derive(seed: uint64, k: uint64) =
        let g = SplitMix64(seed ^^^ (0x9E3779B97F4A7C15UL * (k + 1UL)))
        SplitMix64(g.Next())

    member _.Next() : uint64 =
        let z = SplitMix64.Mix state
        state <- state + 0x9E3779B97F4A7C15UL
        z

    member g.Float() = float (g.Next() >>> 11) * (1.0 / 9007199254740992.0)
    member g.Uniform(lo: float, hi: float) = lo + (hi - lo) * g.Float()
    member g.Int(lo: int, hi: int) = lo + int (g.Next() % uint64 (hi - lo + 1))
    member g.Bool(p: float) = g.Float() < p

    member g.Gaussian() =
        let u1 = g.Float()
        let u2 = g.Float()
        sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * Math.PI * u2)

    member g.Pick(items: 'a[]) = items.[g.Int(0, items.Length - 1)]

    member g.Permutation(n: int) =
        let a = Array.init n id
        for i in n - 1 .. -1 .. 1 do
            let j = g.Int(0, i)
            let t = a.[i]
            a.[i] <- a.[j]
            a.[j] <- t
        a

module Seed =
    // FNV-1a over the name's UTF-16 code units: stable across runs, unlike String.GetHashCode.
    let private hashName (name: string) =
        let mutable h = 0xCBF29CE484222325UL
        for c in name do
            h <- (h ^^^ uint64 c) * 0x100000001B3UL
        h

    let child (seed: uint64) (name: string) = SplitMix64.Mix(seed ^^^ SplitMix64.Mix(hashName name))

    let item (seed: uint64) (k: uint64) = SplitMix64.Derive(seed, k).Next()

    let stream (seed: uint64) (name: string) = SplitMix64(child seed name)
