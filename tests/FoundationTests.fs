/// The Torch layer's shared helpers: seeded randomness and its seed tree, atomic files and
/// shape text. Oracles: SplitMix64's published reference outputs, the file system, literals.
module Reconstruct.Tests.FoundationTests

open System
open System.IO
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

[<Tests>]
let tests =
    testList "Foundation" [
        test "SplitMix64 gives the reference implementation's outputs" {
            // The first outputs of Vigna's splitmix64.c for seed 1234567.
            let g = SplitMix64 1234567UL
            let expected = [| 6457827717110365317UL; 3203168211198807973UL; 9817491932198370423UL; 4593380528125082431UL; 16408922859458223821UL |]
            Expect.equal (Array.init 5 (fun _ -> g.Next())) expected "Array.init 5 (fun _ -> g.Next())"
        }

        test "setThreads sizes OpenBLAS's own pool as well as libtorch's" {
            // The build installs OpenBLAS (libopenblas0-pthread) as the BLAS libtorch calls.
            let blasThreads () =
                use info = Text.Json.JsonDocument.Parse(Runtime.info ())
                let root = info.RootElement
                Expect.stringContains (root.GetProperty("blas").GetString()) "openblas" "the BLAS in use"
                root.GetProperty("blas_threads").GetInt32()
            let before = Runtime.threads ()
            try
                for n in [ 1; 2 ] do
                    Runtime.setThreads n
                    Expect.equal (blasThreads ()) n (sprintf "OpenBLAS threads after setThreads %d" n)
            finally Runtime.setThreads before
        }

        test "SplitMix64 draws stay in their ranges and a permutation is one" {
            let g = SplitMix64 7UL
            for _ in 1..10_000 do
                let f = g.Float()
                Expect.isInRange f 0.0 (Math.BitDecrement 1.0) "f"
                Expect.isInRange (g.Int(-3, 4)) (-3) 4 "g.Int(-3, 4)"
            let p = g.Permutation 100
            Expect.equal (Array.sort p) (Array.init 100 id) "Array.sort p"
            let gaussians = Array.init 20_000 (fun _ -> g.Gaussian())
            let mean = Array.average gaussians
            let var = gaussians |> Array.averageBy (fun x -> (x - mean) * (x - mean))
            // 20,000 draws: the standard error of the mean is 0.007, of the variance 0.01.
            Expect.isInRange mean (-0.03) 0.03 "mean"
            Expect.isInRange var 0.95 1.05 "var"
        }

        test "the seed tree is deterministic and its branches differ" {
            Expect.equal (Seed.child 42UL "data/backgrounds") (Seed.child 42UL "data/backgrounds") "Seed.child 42UL \"data/backgrounds\""
            let children = [ for name in [ "a"; "b"; "data"; "data/"; "splits" ] do for seed in [ 0UL; 1UL; 42UL ] -> Seed.child seed name ]
            Expect.equal ((List.distinct children).Length) children.Length "(List.distinct children).Length"
            let items = [ for k in 0UL .. 999UL -> Seed.item 42UL k ]
            Expect.equal ((List.distinct items).Length) 1000 "(List.distinct items).Length"
            let a, b = Seed.stream 42UL "x", Seed.stream 42UL "x"
            Expect.equal (Array.init 4 (fun _ -> b.Next())) (Array.init 4 (fun _ -> a.Next())) "Array.init 4 (fun _ -> b.Next())"
        }

        test "an atomic write replaces the file whole or not at all" {
            let dir = tempDir ()
            try
                let path = Path.Combine(dir, "out.txt")
                Files.writeTextAtomically path "first"
                Files.writeTextAtomically path "second"
                Expect.equal (File.ReadAllText path) "second" "File.ReadAllText path"
                let e =
                    Expect.catchT<InvalidOperationException> (fun () ->
                        Files.writeAtomically path (fun stream ->
                            stream.Write([| 1uy; 2uy |], 0, 2)
                            invalidOp "failed half-way")) "Files.writeAtomically path (fun stream -> stream.Write([| 1uy; 2uy |]..."
                Expect.equal e.Message "failed half-way" "e.Message"
                Expect.equal (File.ReadAllText path) "second" "File.ReadAllText path"
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName) [| "out.txt" |] "Directory.GetFiles dir |> Array.map Path.GetFileName"
                let missing = Path.Combine(dir, "no", "such", "out.bin")
                let error = Expect.catchAnyT<exn> (fun () -> Files.writeBytesAtomically missing [| 0uy |]) "Files.writeBytesAtomically missing [| 0uy |]"
                match error with
                | Files.FileWriteError (p, _) -> Expect.equal p missing "p"
                | other -> failwithf "expected FileWriteError, got %s" (other.GetType().Name)
                Expect.stringContains error.Message missing "error.Message"
                Expect.stringContains error.Message "does not exist" "error.Message"
            finally
                Directory.Delete(dir, true)
        }

        test "shapes are spelled one way in messages" {
            Expect.equal (Shape.text [| 2; 3 |]) "[2, 3]" "Shape.text [| 2; 3 |]"
            Expect.equal (Shape.text [||]) "[]" "Shape.text [||]"
            Expect.equal (Shape.describe Float32 [| 4 |]) "float32 [4]" "Shape.describe Float32 [| 4 |]"
            let e = Expect.catchT<ArgumentException> (fun () -> Shape.expect "Mesh.create" "vertices" [| 2; 5; 4 |] [ 3 ] [ 3 ]) "Shape.expect \"Mesh.create\" \"vertices\" [| 2; 5; 4 |] [ 3 ] [ 3 ]"
            Expect.stringStarts e.Message "Mesh.create: vertices must have shape [..., 3] with rank in [3], received [2, 5, 4]" "e.Message"
            Shape.expect "f" "x" [| 7; 2; 3 |] [ 3 ] [ -1; 3 ]
            let faces = Expect.catchT<ArgumentException> (fun () -> Shape.expectFaces "f" Int32 [| 5; 3 |]) "Shape.expectFaces \"f\" Int32 [| 5; 3 |]"
            Expect.stringStarts faces.Message "f: faces must be (F, 3) int64, received int32 [5, 3]" "faces.Message"
        }
    ]
