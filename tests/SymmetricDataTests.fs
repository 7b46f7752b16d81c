/// The symmetric protocol (Unsup3d-style data): depth maps that agree with the geometry, their
/// 16-bit PNG encoding, the views and framing, the seeded lights, determinism, and the front.
module Reconstruct.Tests.SymmetricDataTests

open System
open System.IO
open System.Text.Json
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

let private protocol = DatasetRender.Symmetric 64

let private write (dir: string) (category: string) (seed: uint64) (count: int) (views: int) =
    let options: DatasetRender.BenchmarkOptions = { Protocols = [ protocol ]; Seed = seed; WildViews = views }
    DatasetRender.writeBenchmark dir options Threading.CancellationToken.None ignore (DatasetRender.proceduralInstances category seed count)

let private rows (dir: string) =
    File.ReadAllLines(Path.Combine(dir, "symmetric64", "index.jsonl")) |> Array.map (fun l -> (JsonDocument.Parse l).RootElement)

let private number (e: JsonElement) (path: string list) =
    (path |> List.fold (fun (e: JsonElement) name -> e.GetProperty name) e).GetDouble()

let private viewOf (row: JsonElement) : DatasetRender.View =
    let v = row.GetProperty "view"
    let shift = v.GetProperty "shift"
    { Azimuth = number v [ "azimuth" ]
      Elevation = number v [ "elevation" ]
      Roll = number v [ "roll" ]
      Distance = number v [ "distance" ]
      Scale = number v [ "scale" ]
      ShiftX = shift.[0].GetDouble()
      ShiftY = shift.[1].GetDouble() }

let private file (dir: string) (relative: string) = Path.Combine(dir, "symmetric64", relative)

/// The closest point of triangle (a, b, c) to p (Ericson, Real-Time Collision Detection 5.1.5).
let private closest (p: float[]) (a: float[]) (b: float[]) (c: float[]) =
    let sub (x: float[]) (y: float[]) = Array.map2 (-) x y
    let dot (x: float[]) (y: float[]) = Array.fold2 (fun s u v -> s + u * v) 0.0 x y
    let along (o: float[]) (d: float[]) t = Array.map2 (fun u v -> u + t * v) o d
    let ab, ac, ap = sub b a, sub c a, sub p a
    let d1, d2 = dot ab ap, dot ac ap
    if d1 <= 0.0 && d2 <= 0.0 then a
    else
        let bp = sub p b
        let d3, d4 = dot ab bp, dot ac bp
        if d3 >= 0.0 && d4 <= d3 then b
        else
            let vc = d1 * d4 - d3 * d2
            if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 then along a ab (d1 / (d1 - d3))
            else
                let cp = sub p c
                let d5, d6 = dot ab cp, dot ac cp
                if d6 >= 0.0 && d5 <= d6 then c
                else
                    let vb = d5 * d2 - d1 * d6
                    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 then along a ac (d2 / (d2 - d6))
                    else
                        let va = d3 * d6 - d5 * d4
                        if va <= 0.0 && d4 - d3 >= 0.0 && d5 - d6 >= 0.0 then along b (sub c b) ((d4 - d3) / ((d4 - d3) + (d5 - d6)))
                        else
                            let denom = 1.0 / (va + vb + vc)
                            let v, w = vb * denom, vc * denom
                            Array.map3 (fun x y z -> x + v * y + w * z) a ab ac

let private distanceToMesh (p: float[]) (points: float[]) (faces: int64[]) =
    let vertex (k: int64) = [| points.[3 * int k]; points.[3 * int k + 1]; points.[3 * int k + 2] |]
    seq {
        for f in 0 .. faces.Length / 3 - 1 ->
            let q = closest p (vertex faces.[3 * f]) (vertex faces.[3 * f + 1]) (vertex faces.[3 * f + 2])
            sqrt (Array.fold2 (fun s u v -> s + (u - v) * (u - v)) 0.0 p q)
    }
    |> Seq.min

/// RGBA of the image as float32 [4·H·W] planar.
let private rgba (path: string) = (Image.loadRgba path).ToFloat32s()

[<Tests>]
let tests =
    testList "SymmetricData" [
        test "a 16-bit grey PNG decodes to the samples written" {
            use dir = new TempDir()
            let h, w = 5, 7
            let samples = Array.init (h * w) (fun k -> uint16 ((k * 9973 + 1) % 65536))
            samples.[0] <- 0us
            samples.[1] <- 65535us
            let path = dir.File "grey16.png"
            Image.saveGrey16 path h w samples
            let info = Image.info path
            Expect.equal (info.Bits, info.Channels, info.Width, info.Height) (16, 1, w, h) "header"
            use raw = Image.readRaw Image.defaultMaxPixels true path
            let back = raw.ToFloat32s() |> Array.map (fun f -> uint16 (Math.Round(float f * 65535.0)))
            Expect.equal back samples "samples"
        }

        test "a depth map round-trips within half a quantisation step, background 0" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            use g = generator 3
            let depth = Tensor.rand ([ 16; 16 ], g) * 4.0 + 0.5
            let background = (Tensor.rand ([ 16; 16 ], g)).lt 0.3
            let depth = Tensor.where (background, depth.zerosLike (), depth)
            let path = dir.File "depth.png"
            DepthMap.save path DatasetRender.depthScale depth
            let back, mask = DepthMap.load path DatasetRender.depthScale
            Expect.equal back.Shape [| 16; 16 |] "depth shape"
            Expect.equal (mask.ToBools()) (background.logicalNot().ToBools()) "mask"
            let worst = (back - depth).abs().max().ToScalar()
            Expect.isLessThanOrEqual worst (DatasetRender.depthScale / 2.0 + 1e-6) "|read - written|"
            Expect.isTrue ((back.maskedSelect background).abs().max().ToScalar() = 0.0) "background reads 0"
        }

        test "the depth map agrees with the mesh and is 0 on the background" {
            use dir = new TempDir()
            write dir.Path "car" 11UL 1 3 |> ignore
            use mesh = Procedural.mesh "car" 11UL 0
            let faces = mesh.Faces.ToInt64s()
            let fx, _ = Camera.focalNdc (Camera.square DatasetRender.fovDegrees 64)
            let all = rows dir.Path
            Expect.equal all.Length 3 "rows"
            for row in all do
                use scope = DisposalScope.Open()
                let view = viewOf row
                let depthRow = row.GetProperty "depth"
                let scale = number depthRow [ "scale" ]
                let depth, mask = DepthMap.load (file dir.Path (depthRow.GetProperty("image").GetString())) scale
                let z, covered = depth.ToFloat32s(), mask.ToBools()
                let points = (DatasetRender.cameraPoints [| view |] mesh.Vertices).ToFloat32s() |> Array.map float
                let alpha = (rgba (file dir.Path (row.GetProperty("image").GetString()))).[3 * 4096 ..]
                Expect.isGreaterThan (covered |> Array.filter id |> Array.length) 300 "foreground pixels"
                for p in 0 .. 4095 do
                    if alpha.[p] = 0.0f then Expect.equal z.[p] 0.0f (sprintf "pixel %d: background with depth" p)
                // pixels spread over the object, unprojected, lie on its surface: within the
                // quantisation (half of 1e-4 along the ray) and float32 rounding
                let foreground = [| for p in 0 .. 4095 do if covered.[p] then yield p |]
                let distances =
                    [| for p in foreground |> Array.indexed |> Array.filter (fun (k, _) -> k % 29 = 0) |> Array.map snd ->
                           let i, j = p / 64, p % 64
                           let zz = float z.[p]
                           let x, y = (2.0 * float j + 1.0) / 64.0 - 1.0, (2.0 * float i + 1.0) / 64.0 - 1.0
                           distanceToMesh [| x * zz / fx; y * zz / fx; zz |] points faces, (i, j) |]
                let worst, (i, j) = Array.max distances
                Expect.isLessThan worst 6e-5 (sprintf "pixel (%d, %d) is %g from the mesh" i j worst)
        }

        test "views: azimuth within 60 degrees of the front, elevation -10..30, the object fills 80-90% of the frame" {
            use dir = new TempDir()
            write dir.Path "chair" 4UL 2 4 |> ignore
            let all = rows dir.Path
            Expect.equal all.Length 8 "rows"
            for row in all do
                let v = viewOf row
                Expect.isInRange v.Azimuth -60.0 60.0 "azimuth"
                Expect.isInRange v.Elevation -10.0 30.0 "elevation"
                Expect.equal v.Roll 0.0 "roll"
                let alpha = (rgba (file dir.Path (row.GetProperty("image").GetString()))).[3 * 4096 ..]
                let on = [| for p in 0 .. 4095 do if alpha.[p] > 0.0f then yield p / 64, p % 64 |]
                let i0, i1 = on |> Array.map fst |> Array.min, on |> Array.map fst |> Array.max
                let j0, j1 = on |> Array.map snd |> Array.min, on |> Array.map snd |> Array.max
                // a box edge inside a pixel still marks it: the pixel box is up to 2 px larger
                let side = float (max (i1 - i0 + 1) (j1 - j0 + 1))
                Expect.isInRange side (0.8 * 64.0) (0.9 * 64.0 + 2.0) (sprintf "%s: larger side of the alpha box" (row.GetProperty("image").GetString()))
                Expect.isLessThanOrEqual (abs (float (i0 + i1 + 1) / 2.0 - 32.0)) 1.0 "box centred vertically"
                Expect.isLessThanOrEqual (abs (float (j0 + j1 + 1) / 2.0 - 32.0)) 1.0 "box centred horizontally"
        }

        test "the same seed gives the same files, another seed others; lights from the instance's stream, in range" {
            use a = new TempDir()
            use b = new TempDir()
            use c = new TempDir()
            for dir, seed in [ a, 5UL; b, 5UL; c, 6UL ] do
                let summary = write dir.Path "vase" seed 2 2
                Expect.equal summary.Images [ protocol, 4 ] "images"
            let sa, sb, sc = snapshot a.Path, snapshot b.Path, snapshot c.Path
            // per image a view and a depth map; the two models (obj, mtl, png), the index, benchmark.json
            Expect.equal sa.Length (2 * 4 + 2 * 3 + 2) "files"
            Expect.equal (Array.map fst sb) (Array.map fst sa) "names"
            for (name, x), (_, y) in Array.zip sa sb do
                Expect.isTrue (x = y) (sprintf "%s differs between two renders with the same seed" name)
            let pngs (s: (string * byte[])[]) = s |> Array.filter (fun (n, _) -> n.StartsWith "symmetric64" && n.EndsWith ".png") |> Array.map snd
            for x in pngs sa do
                Expect.all (pngs sc) ((fun y -> x = y) >> not) "no image repeats under another seed"
            let all = rows a.Path
            for row in all do
                let light = row.GetProperty "light"
                let d = [| for k in 0..2 -> (light.GetProperty "direction").[k].GetDouble() |]
                Expect.floatClose Accuracy.high (sqrt (Array.sumBy (fun x -> x * x) d)) 1.0 "unit direction"
                // towards the camera (-z) within 45 degrees
                Expect.isGreaterThanOrEqual (-d.[2]) (cos (Math.PI / 4.0) - 1e-12) "in the cone"
                Expect.isInRange (number light [ "ambient" ]) 0.2 0.6 "ambient"
                Expect.isInRange (number light [ "diffuse" ]) 0.4 0.8 "diffuse"
            // the first image of an instance: its stream's first view, then its first light
            let first = all.[0]
            let id = first.GetProperty("instance").GetString()
            use mesh = Procedural.mesh "vase" 5UL 0
            Expect.equal id mesh.Info.Id "first instance"
            let rng = DatasetRender.viewStream 5UL protocol id
            let view = DatasetRender.symmetricView rng mesh.Vertices
            let light = DatasetRender.randomLight rng
            Expect.equal (viewOf first) view "first view"
            let x, y, z = light.Direction
            Expect.equal [| for k in 0..2 -> (first.GetProperty "light").GetProperty("direction").[k].GetDouble() |] [| x; y; z |] "first light direction"
            Expect.equal (number first [ "light"; "ambient" ]) light.Ambient "first ambient"
        }

        test "reconstruct data --procedural car --protocol symmetric --views 2 renders only symmetric64" {
            use dir = new TempDir()
            let r = runCliIn dir.Path 300 [ "data"; "--procedural"; "car"; "--count"; "2"; "--protocol"; "symmetric"; "--views"; "2"; "--output"; "D" ]
            Expect.equal r.ExitCode 0 (sprintf "exit code (stderr: %s)" r.Stderr)
            let root = Path.Combine(dir.File "D", "car")
            Expect.sequenceEqual (Directory.GetFileSystemEntries root |> Array.map Path.GetFileName |> Array.sort) [ "benchmark.json"; "models"; "symmetric64" ] "benchmark folders"
            let all = rows root
            Expect.equal all.Length 4 "rows"
            for row in all do
                Expect.isTrue (File.Exists(file root (row.GetProperty("depth").GetProperty("image").GetString()))) "depth map written"
        }

        test "a car seen from the front azimuth shows its pale headlights, from behind its red tail lights" {
            // Lit straight from the camera with no ambient, a face turned to the camera shows its texel.
            let light: Reconstruct.Render.HardLight = { Ambient = 0.0; Diffuse = 1.0; Direction = (0.0, 0.0, -1.0); TwoSided = false }
            for k in 0..2 do
                use scope = DisposalScope.Open()
                use car = Procedural.mesh "car" 42UL k
                let views = [| for az in [ DatasetRender.frontAzimuth; DatasetRender.frontAzimuth + 180.0 ] -> { DatasetRender.nmrView az with Elevation = 10.0 } |]
                let rgb, _ = DatasetRender.renderLit 64 car views [| light; light |] (Tensor.ones [ 2; 3; 64; 64 ])
                let count (k: int) (test: float32 -> float32 -> float32 -> bool) =
                    let v = rgb.[k].ToFloat32s()
                    Seq.init 4096 (fun p -> test v.[p] v.[4096 + p] v.[8192 + p]) |> Seq.filter id |> Seq.length
                // the headlight texel is (0.98, 0.96, 0.82), the tail light's (0.85, 0.08, 0.06)
                let pale r g b = r > 0.9f && g > 0.88f && b > 0.7f && b < 0.9f
                let red r g b = r > 0.7f && g < 0.2f && b < 0.2f
                let front, back = 0, 1
                Expect.isGreaterThan (count front pale) (count back pale + 4) (sprintf "car %d: pale headlight pixels front vs back" k)
                Expect.isGreaterThan (count back red) (count front red + 4) (sprintf "car %d: red tail light pixels back vs front" k)
        }
    ]
