/// Long-running behaviour of a training loop: flat memory and determinism for a seed.
module Reconstruct.Tests.MemoryTests

open System
open System.IO
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

/// Resident set size of this process in MB, from the kernel's own accounting.
let residentMb () =
    File.ReadAllLines "/proc/self/status"
    |> Array.find (fun l -> l.StartsWith "VmRSS:")
    |> fun l -> float (l.Split(' ', StringSplitOptions.RemoveEmptyEntries).[1]) / 1024.0

/// A small conv model, its optimizer and a fixed batch, all from one seed.
let setup (seed: int) =
    let g = generator seed
    let model = ConvNet.create g [ 8; 16 ] [ 16; 4 ]
    let parameters = ConvNet.parameters model
    let optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-3 } parameters
    let x = Tensor.rand ([ 4; 3; 16; 16 ], g)
    let target = Tensor.rand ([ 4; 4 ], g)
    g, model, parameters, optimizer, x, target

let teardown (g: Generator, _, parameters, optimizer: Optim.Optimizer, x: Tensor, target: Tensor) =
    (optimizer :> IDisposable).Dispose()
    Layers.Named.dispose parameters
    (x :> IDisposable).Dispose()
    (target :> IDisposable).Dispose()
    (g :> IDisposable).Dispose()

[<Tests>]
let tests =
    testList "Memory" [
        testSequenced <| test "5000 conv training steps keep the live tensor count constant and memory flat" {
            let (_, model, _, optimizer, x, target) as state = setup 11
            ConvNet.trainStep model optimizer x target |> ignore
            let liveAfterOne = settledLiveCount ()
            for _ in 1..200 do ConvNet.trainStep model optimizer x target |> ignore
            GC.Collect()
            let rssBefore = residentMb ()
            let mutable last = 0.0
            for _ in 1..4800 do last <- ConvNet.trainStep model optimizer x target
            let liveAfterMany = settledLiveCount ()
            GC.Collect()
            let growth = residentMb () - rssBefore
            teardown state
            Expect.equal liveAfterMany liveAfterOne "liveAfterMany"
            Expect.isTrue (growth < 50.0) (sprintf "resident memory grew by %.1f MB over 4800 steps" growth)
            Expect.isTrue (Double.IsFinite last && last < 0.5) (sprintf "training diverged: last loss %g" last)
        }

        test "same seed gives the same initial weights and the same first 10 losses" {
            let run seed =
                let (_, model, parameters, optimizer, x, target) as state = setup seed
                let weights = parameters |> List.map (fun (n, t) -> n, t.ToFloat32s())
                let losses = Array.init 10 (fun _ -> ConvNet.trainStep model optimizer x target)
                teardown state
                weights, losses
            let w1, l1 = run 5
            let w2, l2 = run 5
            let w3, l3 = run 6
            for (n1, a), (n2, b) in List.zip w1 w2 do
                Expect.equal n2 n1 "n2"
                Expect.equal b a "b"
            Expect.equal l2 l1 "l2"
            // A different seed must differ, or the comparison above proves nothing.
            Expect.notEqual (snd w3.Head) (snd w1.Head) "snd w3.Head"
            Expect.notEqual l3 l1 "l3"
        }
    ]
