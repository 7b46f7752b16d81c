/// The layering of the library, read from the source tree: the compile order of
/// Reconstruct.Core.fsproj is Torch → Geometry → Render → Data → Eval → Stages → Pipelines →
/// Train → App → Bench → Cli, and a file names only its own layer and those below it.
module Reconstruct.Tests.ArchitectureTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

let private layers = [| "Torch"; "Geometry"; "Render"; "Data"; "Eval"; "Stages"; "Pipelines"; "Train"; "App"; "Bench"; "Cli" |]

/// F# sources under `dir`, build outputs and hidden folders left out.
let rec private sources (dir: string) : string seq =
    seq {
        for f in Directory.EnumerateFiles dir do
            if f.EndsWith ".fs" || f.EndsWith ".fsi" || f.EndsWith ".fsx" then yield f
        for d in Directory.EnumerateDirectories dir do
            let name = Path.GetFileName d
            if not (name.StartsWith "." || name = "bin" || name = "obj" || name = "kernels" || name = "artifacts") then
                yield! sources d
    }

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

        test "no F# file outside src/Torch names the P/Invoke declarations" {
            let root = repoRoot ()
            let torch = Path.Combine(root, "src", "Torch") + string Path.DirectorySeparatorChar
            // this file spells the patterns it looks for
            let self = Path.Combine(root, "tests", "ArchitectureTests.fs")
            // `Native.` followed by a name, except the file name Native.fs(i) in prose
            let uses = Regex(@"\bopen\s+Reconstruct\.Torch\.Native\b|\bNative\s*\.\s*(?!fsi?\b)[A-Za-z_]")
            let scanned = sources root |> Seq.filter (fun f -> not (f.StartsWith torch) && f <> self) |> Array.ofSeq
            // the walk must have found the library, or an empty result would prove nothing
            Expect.contains scanned (Path.Combine(root, "src", "Render", "Rasterizer.fs")) "scanned"
            Expect.isTrue (scanned.Length > 40) (sprintf "only %d F# files found under %s" scanned.Length root)
            let offenders =
                [ for f in scanned do
                      for i, line in Array.indexed (File.ReadAllLines f) do
                          if uses.IsMatch line then yield sprintf "%s:%d: %s" (Path.GetRelativePath(root, f)) (i + 1) (line.Trim()) ]
            Expect.isTrue offenders.IsEmpty ("use Tensor, Autograd or Kernels instead of Native outside src/Torch:\n" + String.Join("\n", offenders))
        }

        test "the P/Invoke module is internal and its error type public" {
            let native = typeof<Tensor>.Assembly.GetType("Reconstruct.Torch.Native")
            Expect.isNotNull native "native"
            Expect.isFalse native.IsPublic "Reconstruct.Torch.Native must be internal"
            Expect.isTrue (typeof<NativeError>.IsPublic) "NativeError must stay catchable by users"
        }
    ]
