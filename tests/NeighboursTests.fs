/// UNICORN's neighbour memory: FIFO order and wrap-around, the choice against a brute-force
/// host reference, no choice when nothing is valid, lossless 8-bit images, checkpoint and
/// resume, and a flat live-tensor count.
module Reconstruct.Tests.NeighboursTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Stages
open Reconstruct.Tests.TestHelpers

/// `b` entries whose shape code's first value is the entry's id (ids from `first` on);
/// other fields random from `g`; images are k/255.
let private entries (g: Generator) (first: int) (b: int) (dsh: int) (dtx: int) (size: int) : Neighbours.Entries =
    let ids = Tensor.ofArray ([| for k in first .. first + b - 1 -> float32 k |], [ b; 1 ])
    { ShapeCodes = Tensor.cat ([ ids; Tensor.randn ([ b; dsh - 1 ], g) ], 1)
      TextureCodes = Tensor.randn ([ b; dtx ], g)
      Scales = Tensor.rand ([ b; 3 ], g) + 0.5
      Rotations = Rotation.random g b Float32
      Translations = Tensor.randn ([ b; 3 ], g)
      Images = (Tensor.randint (0L, 256L, [ b; 3; size; size ], g)).cast Float32 / 255.0 }

let private ids (memory: Neighbours.Memory) (slots: int64[]) =
    use scope = DisposalScope.Open()
    let e = Neighbours.gather memory (Tensor.ofArray slots)
    e.ShapeCodes.select(1, 0).ToFloat32s() |> Array.map int

let private degrees (a: float[]) (b: float[]) =
    // angle of aᵀb from its trace, on the host
    let trace = Seq.sum (seq { for i in 0..2 do for j in 0..2 -> a.[3 * i + j] * b.[3 * i + j] })
    Rotation.degrees (acos (max -1.0 (min 1.0 ((trace - 1.0) / 2.0))))

/// The choice by brute force: for each sample, the valid slots of its bin, then the nearest code.
let private bruteForce (memory: Neighbours.Memory) (bins: int64[]) (rotations: Tensor) (shapeCodes: Tensor) (textureCodes: Tensor) =
    use scope = DisposalScope.Open()
    let n = Neighbours.count memory
    let stored = Neighbours.gather memory (Tensor.arange n)
    let rows (t: Tensor) = let v = Scoped.host64 t in let w = v.Length / t.Size 0 in Array.init (t.Size 0) (fun k -> v.[k * w .. k * w + w - 1])
    let memR, memS, memT = rows stored.Rotations, rows stored.ShapeCodes, rows stored.TextureCodes
    let r, s, t = rows rotations, rows shapeCodes, rows textureCodes
    let nearest (code: float[]) (bank: float[][]) (valid: int[]) =
        if valid.Length = 0 then -1L
        else valid |> Array.minBy (fun m -> Array.map2 (fun x y -> (x - y) * (x - y)) code bank.[m] |> Array.sum) |> int64
    [| for b in 0 .. r.Length - 1 ->
        let low = 20.0 + 32.0 * float bins.[b]
        let valid = [| for m in 0 .. n - 1 do let d = degrees r.[b] memR.[m] in if d >= low && d < low + 32.0 then yield m |]
        nearest s.[b] memS valid, nearest t.[b] memT valid |]

[<Tests>]
let tests =
    testList "Neighbours" [
        test "push keeps FIFO order and wraps around, keeping the last C of a long push" {
            use scope = DisposalScope.Open()
            use g = generator 1
            use memory = Neighbours.create 5 3 2 4
            Expect.equal (Neighbours.count memory) 0 "empty at first"
            Neighbours.push memory (entries g 0 3 3 2 4)
            Expect.equal (Neighbours.count memory) 3 "three filled"
            Expect.equal (ids memory [| 0L; 1L; 2L |]) [| 0; 1; 2 |] "slots 0..2"
            Neighbours.push memory (entries g 3 4 3 2 4)
            Expect.equal (Neighbours.count memory) 5 "full"
            Expect.equal (ids memory [| 0L .. 4L |]) [| 5; 6; 2; 3; 4 |] "the two oldest overwritten"
            Expect.equal (Scoped.hostInt64 (snd (Neighbours.buffers memory |> List.find (fun (n, _) -> n = "neighbours.state")))) [| 2L; 5L |] "next slot 2, 5 filled"
            Neighbours.push memory (entries g 7 12 3 2 4)
            Expect.equal (ids memory [| 0L .. 4L |]) [| 17; 18; 14; 15; 16 |] "ids 14..18 from slot 2 on"
            Expect.equal (Neighbours.count memory) 5 "still full"
        }

        test "images come back exactly (8-bit storage) and the other fields as pushed" {
            use scope = DisposalScope.Open()
            use g = generator 2
            use memory = Neighbours.create 8 4 3 6
            let e = entries g 0 5 4 3 6
            Neighbours.push memory e
            Expect.equal (snd (Neighbours.buffers memory |> List.find (fun (n, _) -> n = "neighbours.images"))).Dtype Dtype.UInt8 "stored as uint8"
            let back = Neighbours.gather memory (Tensor.ofArray [| 4L; 0L; 2L |])
            let pick (t: Tensor) = t.indexSelect (0, Tensor.ofArray [| 4L; 0L; 2L |])
            Expect.equal back.Images.Dtype Float32 "images as float32"
            Expect.equal (back.Images.ToFloat32s()) ((pick e.Images).ToFloat32s()) "images bit-exact"
            for name, a, b in [ "ShapeCodes", back.ShapeCodes, e.ShapeCodes; "TextureCodes", back.TextureCodes, e.TextureCodes; "Scales", back.Scales, e.Scales
                                "Rotations", back.Rotations, e.Rotations; "Translations", back.Translations, e.Translations ] do
                Expect.equal (a.ToFloat32s()) ((pick b).ToFloat32s()) name
        }

        test "select agrees with a brute-force reference on random data" {
            use scope = DisposalScope.Open()
            use g = generator 3
            use memory = Neighbours.create 64 6 5 2
            Neighbours.push memory (entries g 0 40 6 5 2)
            Neighbours.push memory (entries g 40 40 6 5 2) // wrapped: 64 filled
            let queries = entries g 100 24 6 5 2
            use draw = generator 99
            let choice = Neighbours.select memory draw queries.Rotations queries.ShapeCodes queries.TextureCodes
            let bins = choice.Bins.ToInt64s()
            use again = generator 99
            Expect.equal bins ((Tensor.randint (0L, 5L, [ 24 ], again)).ToInt64s()) "bins are B draws in 0..4 from the generator"
            let expected = bruteForce memory bins queries.Rotations queries.ShapeCodes queries.TextureCodes
            Expect.equal (Array.zip (choice.Shape.ToInt64s()) (choice.Texture.ToInt64s())) expected "nearest valid slots"
            Expect.isGreaterThan (expected |> Array.filter (fun (s, _) -> s >= 0L) |> Array.length) 12 "most samples find a neighbour"
            Expect.isTrue (expected |> Array.exists (fun (s, t) -> s <> t)) "shape and texture neighbours differ somewhere"
        }

        test "select gives -1 when no entry is valid, and on an empty memory" {
            use scope = DisposalScope.Open()
            use g = generator 4
            use memory = Neighbours.create 16 2 2 2
            let queries = entries g 0 6 2 2 2
            let empty = Neighbours.select memory g queries.Rotations queries.ShapeCodes queries.TextureCodes
            Expect.equal (empty.Shape.ToInt64s()) (Array.create 6 -1L) "empty memory: shape"
            Expect.equal (empty.Texture.ToInt64s()) (Array.create 6 -1L) "empty memory: texture"
            // every entry within 20° of every query: no bin holds it
            let rotations = queries.Rotations.select(0, 0).unsqueeze(0).expand([ 6; 3; 3 ]).contiguous ()
            Neighbours.push memory { queries with Rotations = rotations }
            let same = Neighbours.select memory g rotations queries.ShapeCodes queries.TextureCodes
            Expect.equal (same.Shape.ToInt64s()) (Array.create 6 -1L) "all entries too close"
        }

        test "buffers round-trip through a checkpoint and the memory continues identically" {
            use scope = DisposalScope.Open()
            use dir = new TempDir()
            let path = IO.Path.Combine(dir.Path, "memory.safetensors")
            use data = generator 5
            use memory = Neighbours.create 10 3 4 4
            use draw = generator 6
            Neighbours.push memory (entries data 0 7 3 4 4)
            Neighbours.select memory draw (Rotation.random data 2 Float32) (Tensor.zeros [ 2; 3 ]) (Tensor.zeros [ 2; 4 ]) |> ignore
            Checkpoint.saveTraining path { Checkpoint.TrainingState.model [] with Buffers = Neighbours.buffers memory; Generators = [ "neighbours", draw ] } Checkpoint.Metadata.empty
            let continueWith (m: Neighbours.Memory) (g: Generator) =
                use more = generator 7
                Neighbours.push m (entries more 7 6 3 4 4)
                let q = entries more 20 9 3 4 4
                let c = Neighbours.select m g q.Rotations q.ShapeCodes q.TextureCodes
                c.Bins.ToInt64s(), c.Shape.ToInt64s(), c.Texture.ToInt64s()
            let original = continueWith memory draw
            use restored = Neighbours.create 10 3 4 4
            use other = generator 1234
            Checkpoint.restoreTraining path { Checkpoint.TrainingState.model [] with Buffers = Neighbours.buffers restored; Generators = [ "neighbours", other ] } |> ignore
            Expect.equal (Neighbours.count restored) 7 "count restored"
            Expect.equal (continueWith restored other) original "same choices after resuming"
            for (name, a), (_, b) in List.zip (Neighbours.buffers memory) (Neighbours.buffers restored) do
                Expect.equal (Scoped.host64 b) (Scoped.host64 a) (sprintf "%s after continuing" name)
        }

        testSequenced <| test "push, select and gather leave no live tensors behind" {
            use scope = DisposalScope.Open()
            use g = generator 8
            use memory = Neighbours.create 32 4 4 8
            let e = entries g 0 8 4 4 8
            let slots = Tensor.arange 8
            // whatever the calls leave in the caller's scope, beyond what they return, shows here
            let step () =
                let c = Neighbours.select memory g e.Rotations e.ShapeCodes e.TextureCodes
                Neighbours.push memory e
                let back = Neighbours.gather memory slots
                for t in [ c.Bins; c.Shape; c.Texture; back.ShapeCodes; back.TextureCodes; back.Scales; back.Rotations; back.Translations; back.Images ] do
                    (t :> IDisposable).Dispose()
            step ()
            let before = settledLiveCount ()
            for _ in 1..5 do step ()
            Expect.equal (settledLiveCount ()) before "live tensors"
        }
    ]
