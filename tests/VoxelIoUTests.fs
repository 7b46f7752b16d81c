/// 3D IoU by SoftRas' protocol: surface voxelisation and flood fill against analytic volumes,
/// against the parity method on closed meshes, on open and nearly closed meshes, and the IoU
/// of the eval (in the true object frame, for the reference rows too).
module Reconstruct.Tests.VoxelIoUTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Eval
open Reconstruct.Tests.TestHelpers

let private n = 32
let private h = 1.0 / float n

/// An axis-aligned box [lo, hi] as 8 corners and 12 outward triangles; `without` drops the
/// two triangles of these sides ("+y" for the lid).
let private box (lo: float[]) (hi: float[]) (without: string list) =
    let corner i = [| (if i &&& 1 = 0 then lo.[0] else hi.[0]); (if i &&& 2 = 0 then lo.[1] else hi.[1]); (if i &&& 4 = 0 then lo.[2] else hi.[2]) |]
    let quads =
        [ "-x", [| 0; 4; 6; 2 |]; "+x", [| 1; 3; 7; 5 |]
          "-y", [| 0; 1; 5; 4 |]; "+y", [| 2; 6; 7; 3 |]
          "-z", [| 0; 2; 3; 1 |]; "+z", [| 4; 5; 7; 6 |] ]
    let faces =
        [| for side, q in quads do
               if not (List.contains side without) then
                   yield [| q.[0]; q.[1]; q.[2] |]
                   yield [| q.[0]; q.[2]; q.[3] |] |]
    Array.init 8 corner, faces

let private count (grid: bool[]) = grid |> Array.sumBy (fun b -> if b then 1 else 0)
let private volume (grid: bool[]) = float (count grid) * h ** 3.0

let private toMesh (v: float[][], f: int[][]) = Mesh.ofArrays v f

let private sphere (radius: float) (level: int) =
    let v, f = Mesh.icosphereArrays level
    v |> Array.map (Array.map (fun x -> radius * x)), f

/// The voxels [lo + k h, lo + (k + 1) h) of the grid over [-0.5, 0.5] that the closed interval
/// [a, b] meets.
let private cellsMet (a: float) (b: float) =
    let first = int (floor ((a + 0.5) / h))
    let last = min (n - 1) (int (floor ((b + 0.5) / h)))
    first, last

[<Tests>]
let tests =
    testList "VoxelIoU" [
        test "the solid of a box is the voxels it meets but those that only graze an edge; its volume is the box's within a voxel layer" {
            let lo, hi = [| -0.3; -0.22; -0.41 |], [| 0.27; 0.35; 0.1 |]
            let solid = box lo hi [] ||> Voxels.solid n -0.5 0.5
            let ranges = Array.init 3 (fun a -> cellsMet lo.[a] hi.[a])
            let c = Voxels.centres n -0.5 0.5
            // Faces are rasterised through voxel centres (as SoftRas does): a voxel the box meets
            // is solid when its centre column along some axis crosses the box (two of its centre
            // coordinates within the box), or when it holds a corner.
            let expected =
                Array.init (n * n * n) (fun k ->
                    let idx = [| k / (n * n); (k / n) % n; k % n |]
                    let met = Array.forall2 (fun i (f, l) -> i >= f && i <= l) idx ranges
                    let within = Array.init 3 (fun a -> c.[idx.[a]] >= lo.[a] && c.[idx.[a]] <= hi.[a]) |> Array.filter id |> Array.length
                    let corner = Array.forall2 (fun i (f, l) -> i = f || i = l) idx ranges
                    met && (within >= 2 || corner))
            Expect.equal solid expected "solid = the voxels the box meets, but those grazing an edge"
            let analytic = Array.map2 (-) hi lo |> Array.fold (*) 1.0
            let outer = ranges |> Array.fold (fun v (f, l) -> v * float (l - f + 1) * h) 1.0
            Expect.isInRange (volume solid) analytic outer (sprintf "volume %g vs analytic %g" (volume solid) analytic)
        }

        test "the solid of a sphere holds every voxel inside and none a voxel away; its volume is the ball's within a voxel layer" {
            let r = 0.4
            let v, f = sphere r 3
            let solid = Voxels.solid n -0.5 0.5 v f
            let c = Voxels.centres n -0.5 0.5
            // The level-3 icosphere's faces lie within 0.4 % of the radius inside the sphere.
            for k in 0 .. solid.Length - 1 do
                let d = sqrt (c.[k / (n * n)] ** 2.0 + c.[(k / n) % n] ** 2.0 + c.[k % n] ** 2.0)
                if d < 0.99 * r && not solid.[k] then failwithf "voxel %d at distance %g is inside the sphere, not solid" k d
                if d > r + sqrt 3.0 * h / 2.0 && solid.[k] then failwithf "voxel %d at distance %g is outside, solid" k d
            let ball (radius: float) = 4.0 / 3.0 * Math.PI * radius ** 3.0
            Expect.isInRange (volume solid) (ball (0.99 * r)) (ball (r + h)) (sprintf "volume %g vs ball %g" (volume solid) (ball r))
        }

        test "on closed meshes the flood fill gives the parity solid plus the surface voxels" {
            let blob =
                let v, f = Mesh.icosphereArrays 3
                v |> Array.map (fun p ->
                    let r = 1.0 + 0.3 * p.[0] + 0.2 * p.[1] * p.[1] - 0.25 * p.[2] * p.[0]
                    [| 0.4 * r * p.[0]; 0.3 * r * p.[1]; 0.25 * r * p.[2] |]), f
            for name, (v, f) in [ "sphere", sphere 0.37 3; "box", box [| -0.31; -0.2; -0.13 |] [| 0.22; 0.4; 0.3 |] []; "blob", blob ] do
                let parity = Voxels.occupancy n -0.5 0.5 v f
                let surface = Voxels.surface n -0.5 0.5 v f
                let solid = Voxels.solid n -0.5 0.5 v f
                Expect.equal solid (Array.map2 (||) parity surface) (sprintf "%s: flood fill = parity ∪ surface" name)
                Expect.isTrue (count parity > 1000) (sprintf "%s: a real volume (%d voxels)" name (count parity))
        }

        test "an open box (no lid) has no inside: the fill enters and leaves the walls; a crack narrower than a voxel is sealed" {
            let lo, hi = [| -0.3; -0.3; -0.3 |], [| 0.3; 0.3; 0.3 |]
            let closed = box lo hi [] ||> Voxels.solid n -0.5 0.5
            let openV, openF = box lo hi [ "+y" ]
            let opened = Voxels.solid n -0.5 0.5 openV openF
            Expect.equal opened (Voxels.surface n -0.5 0.5 openV openF) "open box: solid = its surface voxels"
            Expect.isTrue (float (count opened) < 0.4 * float (count closed)) (sprintf "open box %d voxels, closed %d" (count opened) (count closed))
            // The lid as its own quad, shrunk by 0.005 (a sixth of a voxel) on every side: the
            // mesh is open along a thin slit, as real furniture models often are.
            let lidV, lidF = box [| -0.295; 0.3; -0.295 |] [| 0.295; 0.3; 0.295 |] [ "-x"; "+x"; "-y"; "-z"; "+z" ]
            let cracked = Voxels.solid n -0.5 0.5 (Array.append openV lidV) (Array.append openF (lidF |> Array.map (Array.map ((+) 8))))
            Expect.equal cracked closed "the cracked box is as solid as the closed one"
        }

        test "3D IoU: a mesh with itself 1, with a disjoint mesh 0, with a cube shifted by half its side ≈ 1/3" {
            use _ = DisposalScope.Open()
            let cube = toMesh (box [| -0.26; -0.24; -0.23 |] [| 0.24; 0.26; 0.27 |] [])
            Expect.equal (ShapeEval.iou3d n 0.5 cube cube) 1.0 "itself"
            let far = toMesh (box [| 0.3; 0.3; 0.3 |] [| 0.45; 0.45; 0.45 |] [])
            Expect.equal (ShapeEval.iou3d n 0.5 cube far) 0.0 "disjoint"
            let shifted = toMesh (box [| -0.01; -0.24; -0.23 |] [| 0.49; 0.26; 0.27 |] [])
            let iou = ShapeEval.iou3d n 0.5 cube shifted
            Expect.isTrue (abs (iou - 1.0 / 3.0) < 0.03) (sprintf "half-shifted cube IoU %g, analytic 1/3" iou)
        }

        test "eval: iou_3d is in the true object frame for the reference rows, without normalisation or ICP" {
            use _ = DisposalScope.Open()
            use g = new Generator(3UL)
            // A truth off-centre and smaller than the unit box: normalising either mesh would change the IoU.
            let truth = toMesh (box [| -0.1; -0.3; -0.2 |] [| 0.35; 0.2; 0.1 |] [])
            let template = Template.unicorn 0.4
            let options = { ShapeEvalOptions.Defaults with Points = 2000; Alignment = AlignmentMode.Icp { IcpOptions.Defaults with Iterations = 5 } }
            let row = ShapeEval.templateReference g options template truth
            let direct = ShapeEval.iou3d 32 0.5 template truth
            Expect.equal (ShapeEval.metrics row |> List.find (fst >> (=) "iou_3d") |> snd) direct "template row iou_3d = iou3d in the true frame"
            Expect.isTrue (direct > 0.05 && direct < 0.9) (sprintf "template IoU %g" direct)
            let noisy = ShapeEval.noisyTruthReference g options ShapeEval.ReferenceNoise truth
            Expect.isTrue (noisy.VoxelIoU.Value > 0.85) (sprintf "noisy truth IoU %g" noisy.VoxelIoU.Value)
        }

        test "eval over a rendered benchmark: iou_3d of both reference rows, in the true object frame, in every report format" {
            use dir = new TempDir()
            let root = dir.File "chair"
            let options: Reconstruct.Data.DatasetRender.BenchmarkOptions = { Protocols = [ Reconstruct.Data.DatasetRender.MultiView ]; Seed = 2UL; WildViews = 0 }
            Reconstruct.Data.DatasetRender.writeBenchmark root options Threading.CancellationToken.None ignore (Reconstruct.Data.DatasetRender.proceduralInstances "chair" 2UL 3) |> ignore
            let first = (Reconstruct.Data.MultiView.entries root).[0]
            let run: Reconstruct.App.Benchmark.Options =
                { CacheDir = dir.File "no-cache"; Benchmarks = Some dir.Path; Categories = [ "chair" ]; Split = first.Split; Predictions = None
                  MethodName = "prediction"; Shape = { ShapeEvalOptions.Defaults with Points = 500; Alignment = AlignmentMode.Icp { IcpOptions.Defaults with Iterations = 3 } }
                  Seed = 0; NoiseSigma = ShapeEval.ReferenceNoise; Limit = 1; GridInstances = 0; GridView = 3; Grid = Reconstruct.App.GridOptions.Defaults }
            let report, _ = Reconstruct.App.Benchmark.run run Threading.CancellationToken.None ignore
            Expect.isTrue (List.contains "iou_3d" report.Metrics) "the report has the column"
            let iouOf (row: Reconstruct.App.InstanceScores) = row.Values |> List.find (fst >> (=) "iou_3d") |> snd
            let template = report.Rows |> List.find (fun r -> r.Method = Reconstruct.App.EvalReport.TemplateReference)
            let noisy = report.Rows |> List.find (fun r -> r.Method = Reconstruct.App.EvalReport.NoisyTruthReference)
            Expect.equal template.Instance first.Id "the first instance of the split"
            use _ = DisposalScope.Open()
            let truth = MeshIO.read first.Mesh
            Expect.equal (iouOf template) (ShapeEval.iou3d 32 0.5 (Template.unicorn 0.4) truth) "template row: iou3d of the template as placed, against the truth as stored"
            Expect.isTrue (iouOf template < 0.5 && iouOf noisy > 0.7) (sprintf "template %g, noisy truth %g" (iouOf template) (iouOf noisy))
            Expect.stringContains (Reconstruct.App.EvalReport.toMarkdown report) "| iou_3d |" "Markdown column"
            Expect.stringContains (Reconstruct.App.EvalReport.toCsv report) "iou_3d_mean" "CSV column"
            Expect.stringContains (Reconstruct.App.EvalReport.toJson report) "\"iou_3d\"" "JSON field"
        }

        test "eval --benchmarks with a missing or malformed index: one line naming the file, exit 2, no report" {
            use dir = new TempDir()
            let index = IO.Path.Combine(dir.Path, "car", "multiview", "index.jsonl")
            let check (what: string) =
                let run = runCliIn dir.Path 120 [ "eval"; "--benchmarks"; dir.Path; "--categories"; "car"; "--report"; dir.File "report" ]
                Expect.equal run.ExitCode 2 (sprintf "%s: exit code; stderr: %s" what run.Stderr)
                Expect.stringContains run.Stderr index (what + ": names the index")
                Expect.isFalse (IO.Directory.Exists(dir.File "report")) (what + ": no report")
            check "missing"
            IO.Directory.CreateDirectory(IO.Path.GetDirectoryName index) |> ignore
            IO.File.WriteAllText(index, "{\"image\": \"a.png\", \"instance\": \"x\"}\n")
            check "no split field"
        }

    ]
