/// The layering of the library, read from the source tree: the compile order of
/// Reconstruct.Core.fsproj is Torch → Geometry → Render → Data → Eval → Stages → Pipelines →
/// Train → App → Bench → Cli, and a file names only its own layer and those below it.
module Reconstruct.Tests.ArchitectureTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open Reconstruct.Tests.TestHelpers

let private layers = [| "Torch"; "Geometry"; "Render"; "Data"; "Eval"; "Stages"; "Pipelines"; "Train"; "App"; "Bench"; "Cli" |]

/// The checkout: the folder above the test assembly that holds Reconstruct.Core.fsproj.
let private repoRoot () =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then failwith "no Reconstruct.Core.fsproj above the test assembly"
        elif File.Exists(Path.Combine(dir.FullName, "Reconstruct.Core.fsproj")) then dir.FullName
        else up dir.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// The library's compiled files in compile order, as paths relative to the checkout.
let private compileOrder () =
    let root = repoRoot ()
    let project = File.ReadAllText(Path.Combine(root, "Reconstruct.Core.fsproj"))
    [ for m in Regex.Matches(project, "<Compile Include=\"([^\"]+)\"") -> m.Groups.[1].Value ]

/// The layer of a source path "src/<Layer>/...".
let private layerOf (path: string) =
    match path.Split('/') with
    | [| "src"; layer; _ |] when Array.contains layer layers -> Array.IndexOf(layers, layer)
    | _ -> failwithf "%s is not in a layer folder src/<%s>/" path (String.Join("|", layers))

/// The layers a source text names: `open Reconstruct.X` and qualified `Reconstruct.X.` uses.
let private layersNamed (text: string) =
    [ for m in Regex.Matches(text, @"\bReconstruct\.([A-Z][A-Za-z]*)") do
          let name = m.Groups.[1].Value
          if Array.contains name layers then yield name ]
    |> List.distinct

/// Where a file names a layer above its own, as "file names Layer" lines.
let private upwardReferences (allowed: int -> string -> bool) =
    let root = repoRoot ()
    [ for path in compileOrder () do
          let own = layerOf path
          let text = File.ReadAllText(Path.Combine(root, path))
          for name in layersNamed text do
              if not (allowed own name) then yield sprintf "%s names %s" path name ]

[<Tests>]
let tests =
    testList "Architecture" [
        test "the compile order follows the layer order" {
            let order = compileOrder ()
            Expect.isTrue (order.Length > 40) (sprintf "read only %d files from Reconstruct.Core.fsproj" order.Length)
            let misplaced =
                order
                |> List.pairwise
                |> List.filter (fun (a, b) -> layerOf b < layerOf a)
                |> List.map (fun (a, b) -> sprintf "%s after %s" b a)
            Expect.isTrue misplaced.IsEmpty ("files out of layer order: " + String.Join("; ", misplaced))
        }

        test "no file names a layer above its own" {
            let bad = upwardReferences (fun own name -> Array.IndexOf(layers, name) <= own)
            Expect.isTrue bad.IsEmpty (String.Join("; ", bad))
        }

        test "the metrics depend on nothing but Torch and Geometry" {
            let evalLayer = Array.IndexOf(layers, "Eval")
            let bad =
                upwardReferences (fun own name -> own <> evalLayer || List.contains name [ "Torch"; "Geometry"; "Eval" ])
            Expect.isTrue bad.IsEmpty (String.Join("; ", bad))
        }

        test "tests do not use the benchmarks" {
            let testsDir = Path.Combine(repoRoot (), "tests")
            let bad =
                [ for path in Directory.GetFiles(testsDir, "*.fs") do
                      if Regex.IsMatch(File.ReadAllText path, @"open\s+Reconstruct\.Bench\b|\bReconstruct\.Bench\.[A-Z]") then yield Path.GetFileName path ]
            Expect.isTrue bad.IsEmpty ("tests that use Reconstruct.Bench: " + String.Join(", ", bad))
        }
    ]
