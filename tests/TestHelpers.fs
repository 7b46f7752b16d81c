/// What every test relies on: tolerances per dtype, finite-difference gradient checks in
/// float64, and FsCheck properties that print the seed to replay a failure.
module Reconstruct.Tests.TestHelpers

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open Reconstruct.Torch

// Tests share the process-wide live-tensor counter and the machine's two cores.
[<assembly: CollectionBehavior(DisableTestParallelization = true)>]
do ()

/// The process-wide live-tensor count once earlier tests' dropped tensors are finalized: read
/// as a test's baseline, so that a handle finalized later in the test cannot look like a
/// change (a collection can start at any allocation). Later readings stay plain, so a leak
/// the test makes still shows.
let settledLiveCount () =
    for _ in 1..3 do
        GC.Collect()
        GC.WaitForPendingFinalizers()
    Tensor.LiveCount

/// Absolute/relative tolerances, one row per dtype.
let tolerance =
    function
    | Float64 -> 1e-9, 1e-7
    | _ -> 1e-5, 1e-4

/// Fails with both arrays when they differ beyond atol + rtol·|expected|.
let assertClose (atol: float) (rtol: float) (expected: float[]) (actual: float[]) =
    Assert.Equal(expected.Length, actual.Length)
    let bad =
        Array.zip expected actual
        |> Array.indexed
        |> Array.filter (fun (_, (e, a)) -> not (abs (e - a) <= atol + rtol * abs e) || Double.IsNaN a <> Double.IsNaN e)
    if bad.Length > 0 then
        let k, (e, a) = bad.[0]
        failwithf "%d of %d values differ; first at %d: expected %.10g, actual %.10g" bad.Length expected.Length k e a

let assertTensorClose (expected: Tensor) (actual: Tensor) =
    Assert.Equal<int[]>(expected.Shape, actual.Shape)
    let atol, rtol = tolerance actual.Dtype
    assertClose atol rtol (expected.ToFloat64s()) (actual.ToFloat64s())

/// Central finite differences of a scalar function of x (float64), one coordinate at a time.
let finiteDifference (f: Tensor -> Tensor) (x: Tensor) (eps: float) =
    let values = x.ToFloat64s()
    let shape = x.Shape
    Array.init values.Length (fun k ->
        let at delta =
            let v = Array.copy values
            v.[k] <- v.[k] + delta
            use scope = DisposalScope.Open()
            use _ = Autograd.noGrad ()
            (f (Tensor.ofArray (v, shape))).ToScalar()
        (at eps - at -eps) / (2.0 * eps))

/// Checks the autograd gradient of a scalar f at x (float64) against central differences.
let gradcheck (name: string) (f: Tensor -> Tensor) (x: Tensor) =
    if x.Dtype <> Float64 then failwithf "%s: gradcheck wants float64 input, received %A" name x.Dtype
    use scope = DisposalScope.Open()
    let analytic = (Autograd.grad f x).ToFloat64s()
    let numeric = finiteDifference f x 1e-6
    try assertClose 1e-6 1e-4 numeric analytic
    with e -> failwithf "%s: analytic gradient differs from finite differences: %s" name e.Message

/// Runs an FsCheck property with a fixed number of cases; the failure message carries the
/// seed (Replay) so the case can be pasted back.
let checkProperty (name: string) (maxTest: int) (property: Property) =
    let config = Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithName(name)
    Check.One(config, property)

/// A fresh seeded generator for a test.
let generator (seed: int) = new Generator(uint64 seed)
