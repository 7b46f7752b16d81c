/// What the data layer promises: procedural shapes byte-identical to the code before the
/// split, unknown categories named, one seed tree for a whole dataset render (same seed, same
/// bytes), atomic writes (files and whole benchmarks) that leave nothing half-written, and one
/// OBJ parser for meshes and textured models.
module Reconstruct.Tests.DataIntegrityTests

open System
open System.IO
open System.Threading
open System.Security.Cryptography
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

/// Files the atomic writers would leave behind if a write were interrupted or not renamed.
let private temporaries (dir: string) =
    Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories)

// ---------------------------------------------------------------------- procedural

/// SHA-256 of shapes 0, 1 and 5 of seeds 7 and 2024 (positions, faces, UVs, atlas and its
/// size, parameters) with the recipe's revision: revision 1 recorded from Procedural.fs before
/// it was split into parts, appearance and categories; a recipe changed on purpose raises its
/// revision (so cached renders of the old one are not reused) and records its new digest here.
let private recorded =
    [ "chair", 1, "cc66d663dfd8c9113054f732a414314d5db4ee64018fe63cae61d50157fc2818"
      "table", 1, "0a6c958ee075b63cd3b265e3325409652c7538df7243df627c007f9cfdadd904"
      "car", 2, "8d054c6d9f875ac9e757e9375c754045befd38ccb85022727e29db05469ae687"
      "airplane", 1, "ea372ea95008579c78b4eada09288734ced06b5d1cfd6af6e360d1263c10dfe5"
      "vase", 1, "a679016e4767ee459d770cc8f82c96bcf3dc45b55d4f19bba70191be3eaf80c9" ]

let private digest (category: string) =
    use sha = IncrementalHash.CreateHash HashAlgorithmName.SHA256
    let add (values: Array) (size: int) =
        let bytes = Array.zeroCreate<byte> (values.Length * size)
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length)
        sha.AppendData bytes
    for seed in [ 7UL; 2024UL ] do
        for k in [ 0; 1; 5 ] do
            let s = Procedural.shape category seed k
            let m = Procedural.toArrays s
            add m.Positions 4
            add m.Faces 4
            add m.FaceUVs 4
            add m.Atlas 4
            add [| m.AtlasHeight; m.AtlasWidth |] 4
            add (s.Parameters |> List.map snd |> Array.ofList) 8
    Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant()

// ---------------------------------------------------------------------- one seed tree

/// Two procedural chairs from `seed` (shapes, splits) written as a benchmark under both
/// protocols with `renderSeed` (wild views and backgrounds).
let private renderAll (dir: string) (seed: uint64) (renderSeed: uint64) =
    let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView; DatasetRender.Wild 64 ]; Seed = renderSeed; WildViews = 3 }
    let summary = DatasetRender.writeBenchmark dir options CancellationToken.None ignore (DatasetRender.proceduralInstances "chair" seed 2)
    Expect.equal summary.Images [ DatasetRender.MultiView, 48; DatasetRender.Wild 64, 6 ] "summary.Images"

/// A wild benchmark of `instances` in `root`, 64 px, `views` views each.
let private writeWild (root: string) (seed: uint64) (views: int) (cancel: CancellationToken) (progress: int -> unit) (instances: seq<DatasetRender.Instance>) =
    DatasetRender.writeBenchmark root { Protocols = [ DatasetRender.Wild 64 ]; Seed = seed; WildViews = views } cancel progress instances |> ignore

/// The "view" object of each index row, by instance id and image name.
let private viewsOf (index: string) =
    File.ReadAllLines index
    |> Array.map (fun line ->
        use row = Text.Json.JsonDocument.Parse line
        let r = row.RootElement
        (r.GetProperty("instance").GetString(), r.GetProperty("image").GetString()), r.GetProperty("view").GetRawText())
    |> Map.ofArray

[<Tests>]
let tests =
    testList "DataIntegrity" [
        test "procedural shapes are byte-identical to those before the split" {
            Expect.equal Procedural.categories (recorded |> List.map (fun (c, _, _) -> c)) "Procedural.categories"
            for category, revision, expected in recorded do
                Expect.equal (Procedural.revision category) revision (sprintf "%s: Procedural.revision" category)
                let actual = digest category
                Expect.isTrue (actual = expected) (sprintf "%s: the shapes differ from those recorded for revision %d (now %s)" category revision actual)
        }

        test "an unknown procedural category is a one-line error naming the known ones" {
            for call, fn in [ (fun () -> Procedural.shape "boat" 1UL 0 |> ignore), "Procedural.shape"
                              (fun () -> Procedural.generate "Chair" 1UL 1 |> ignore), "Procedural.generate" ] do
                let e = Expect.catchT<ArgumentException> (fun () -> call ()) "call ()"
                Expect.stringStarts e.Message (fn + ": unknown category '") "e.Message"
                Expect.stringContains e.Message "known: chair, table, car, airplane, vase" "e.Message"
                Expect.stringDoesNotContain e.Message "\n" "e.Message"
        }

        test "a dataset rendered twice from one seed is the same to the byte and another seed differs" {
            let a, b, c, d = tempDir (), tempDir (), tempDir (), tempDir ()
            try
                renderAll a 7UL 7UL
                renderAll b 7UL 7UL
                renderAll c 8UL 8UL
                renderAll d 7UL 8UL
                let sa, sb, sc, sd = snapshot a, snapshot b, snapshot c, snapshot d
                // ground truth (OBJ, MTL, PNG), 48 multi-view and 6 wild images, two indexes, benchmark.json
                Expect.equal sa.Length (2 * 3 + 48 + 6 + 2 + 1) "sa.Length"
                Expect.isEmpty (temporaries a) "temporaries a"
                Expect.equal (Array.map fst sb) (Array.map fst sa) "Array.map fst sb"
                for (name, x), (_, y) in Array.zip sa sb do
                    Expect.isTrue (x = y) (sprintf "%s differs between two renders with the same seed" name)
                // another seed: other shapes, other views and backgrounds; no wild image repeats
                let images (prefix: string) (s: (string * byte[])[]) =
                    s |> Array.filter (fun (n, _) -> n.StartsWith prefix && n.EndsWith ".png") |> Array.map snd
                Expect.equal ((images "wild64" sc).Length) 6 "(images \"wild64\" sc).Length"
                for x in images "wild64" sa do
                    Expect.all (images "wild64" sc) ((fun y -> x = y) >> not) "images \"wild64\" sc"
                // the same shapes under another render seed: the same multi-view images, other wild ones
                Expect.equal (images "multiview" sd) (images "multiview" sa) "images \"multiview\" sd"
                for x in images "wild64" sa do
                    Expect.all (images "wild64" sd) ((fun y -> x = y) >> not) "images \"wild64\" sd"
            finally
                for dir in [ a; b; c; d ] do Directory.Delete(dir, true)
        }

        test "an instance's wild views come from its own stream whatever the order of the instances" {
            let forward, backward = tempDir (), tempDir ()
            try
                let instances () = DatasetRender.proceduralInstances "vase" 3UL 2
                writeWild forward 11UL 3 CancellationToken.None ignore (instances ())
                writeWild backward 11UL 3 CancellationToken.None ignore (instances () |> Seq.rev)
                let a = viewsOf (Path.Combine(forward, "wild64", "index.jsonl"))
                let b = viewsOf (Path.Combine(backward, "wild64", "index.jsonl"))
                Expect.equal a.Count 6 "a.Count"
                Expect.equal b a "b"
                // the first view of an instance is the first draw of its stream
                for id in [ for k in 0..1 -> Procedural.id "vase" 3UL k ] do
                    let v = DatasetRender.wildView (DatasetRender.viewStream 11UL (DatasetRender.Wild 64) id)
                    let image = Path.Combine("vase", DatasetRender.instanceStem id, "view_00.png")
                    use first = Text.Json.JsonDocument.Parse a.[(id, image)]
                    Expect.equal (first.RootElement.GetProperty("azimuth").GetDouble()) v.Azimuth "first.RootElement.GetProperty(\"azimuth\").GetDouble()"
                    Expect.equal (first.RootElement.GetProperty("roll").GetDouble()) v.Roll "first.RootElement.GetProperty(\"roll\").GetDouble()"
            finally
                for d in [ forward; backward ] do Directory.Delete(d, true)
        }

        // ---------------------------------------------------------------------- atomic writes

        test "a benchmark write that fails or is cancelled leaves the previous one as it was and no temporary folder" {
            use dir = new TempDir()
            let root = dir.File "table"
            writeWild root 5UL 1 CancellationToken.None ignore (DatasetRender.proceduralInstances "table" 5UL 2)
            let before = snapshot root
            let unchanged (what: string) =
                Expect.equal (dir.Entries()) [| "table" |] (sprintf "%s: entries beside the benchmark" what)
                Expect.isTrue (snapshot root = before) (sprintf "%s: the benchmark changed" what)
                Expect.isEmpty (temporaries dir.Path) (sprintf "%s: temporary files" what)
            // other views, and the source fails after the first instance's images are written
            let failing = seq { yield! DatasetRender.proceduralInstances "table" 6UL 1; failwith "no second instance" }
            let e = Expect.catchT<Exception> (fun () -> writeWild root 6UL 2 CancellationToken.None ignore failing) "a failing source"
            Expect.equal e.Message "no second instance" "e.Message"
            unchanged "failed"
            // cancelled once the first instance is done
            use cancel = new CancellationTokenSource()
            Expect.throwsT<OperationCanceledException> (fun () -> writeWild root 6UL 2 cancel.Token (fun _ -> cancel.Cancel()) (DatasetRender.proceduralInstances "table" 5UL 3)) "cancelled"
            unchanged "cancelled"
        }

        test "mesh writers replace files whole and name the path they cannot write" {
            let dir = tempDir ()
            try
                use scope = DisposalScope.Open()
                let mesh =
                    Mesh.ofArrays [| [| 0.0; 0.0; 0.0 |]; [| 1.0; 0.0; 0.0 |]; [| 0.0; 1.0; 0.0 |] |] [| [| 0; 1; 2 |] |]
                    |> Mesh.withUVs { Coords = Tensor.ofArray ([| 0.0f; 0.0f; 1.0f; 0.0f; 0.0f; 1.0f |], [ 3; 2 ]); Faces = Tensor.ofArray ([| 0L; 1L; 2L |], [ 1; 3 ]) }
                let texture = Tensor.ones [ 3; 4; 4 ]
                let writers: (string * (string -> unit)) list =
                    [ "m.obj", (fun p -> MeshIO.writeObj p mesh)
                      "t.obj", (fun p -> MeshIO.writeObjTextured p Image.encodePng texture mesh)
                      "m.off", (fun p -> MeshIO.writeOff p mesh)
                      "a.ply", (fun p -> MeshIO.writePly p false mesh)
                      "b.ply", (fun p -> MeshIO.writePly p true mesh) ]
                for name, write in writers do
                    let path = Path.Combine(dir, name)
                    File.WriteAllText(path, "old")
                    write path
                    let back = MeshIO.read path
                    Expect.equal (back.Vertices.ToFloat32s()) (mesh.Vertices.ToFloat32s()) "back.Vertices.ToFloat32s()"
                    let missing = Path.Combine(dir, "no such folder", name)
                    match Expect.catchAnyT<exn> (fun () -> write missing) "write missing" with
                    | Files.FileWriteError (path, _) -> Expect.stringContains path "no such folder" "path"
                    | e -> failwithf "%s: expected Files.FileWriteError, received %s: %s" name (e.GetType().Name) e.Message
                Expect.equal (Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort) [| "a.ply"; "b.ply"; "m.obj"; "m.off"; "t.mtl"; "t.obj"; "t.png" |] "Directory.GetFiles dir |> Array.map Path.GetFileName |> Array.sort"
            finally
                Directory.Delete(dir, true)
        }

        // ---------------------------------------------------------------------- one OBJ parser

        test "meshes and textured models read the same geometry and the same errors from one parser" {
            let text = "mtllib a.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nusemtl red # paint\nf 1/1 2/2 3/3 4/4\nusemtl blue\nf -4/-4 -2/-2 -1/-1\n"
            use scope = DisposalScope.Open()
            let mesh = MeshIO.parseObj "q.obj" text
            let model = Wavefront.parseObj "q.obj" text
            Expect.equal model.Positions (mesh.Vertices.ToFloat32s() |> Array.map float) "model.Positions"
            Expect.equal (model.Faces |> Array.map int64) (mesh.Faces.ToInt64s()) "model.Faces |> Array.map int64"
            // MeshIO flips v to the framework's convention; the textured model keeps OBJ's
            let uv = mesh.UVs.Value
            let coords = uv.Coords.ToFloat32s()
            let corners = uv.Faces.ToInt64s()
            for k in 0 .. corners.Length - 1 do
                let t = model.FaceTexCoords.[k]
                Expect.equal (float coords.[2 * int corners.[k]]) model.TexCoords.[2 * t] "float coords.[2 * int corners.[k]]"
                Expect.equal (float coords.[2 * int corners.[k] + 1]) (1.0 - model.TexCoords.[2 * t + 1]) "float coords.[2 * int corners.[k] + 1]"
            Expect.equal model.MaterialNames [| "red"; "blue" |] "model.MaterialNames"
            Expect.equal model.FaceMaterials [| 0; 0; 1 |] "model.FaceMaterials"
            Expect.equal model.Libraries [ "a.mtl" ] "model.Libraries"
            // the same message from both readers, with the line
            for bad, message in
                [ "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", "bad.obj:4: face uses vertex 9, but the file has 3 vertices"
                  "v 0 0 0\nv 1 0 0\nv 1 2\n", "bad.obj:3: vertex needs 3 numbers, found 2 in 'v 1 2'"
                  "v 0 0 0\nf -2 1 1\n", "bad.obj:2: relative vertex index -2 reaches before the first of 1 in 'f -2 1 1'" ] do
                let e1 = Expect.catchT<MeshFileException> (fun () -> MeshIO.parseObj "bad.obj" bad |> ignore) "MeshIO.parseObj \"bad.obj\" bad"
                let e2 = Expect.catchT<MeshFileException> (fun () -> Wavefront.parseObj "bad.obj" bad |> ignore) "Wavefront.parseObj \"bad.obj\" bad"
                Expect.equal e1.Message message "e1.Message"
                Expect.equal e2.Message message "e2.Message"
            // what a mesh file refuses, a model from the wild drops: a two-corner face, a repeated corner
            let loose = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2\nf 1 1 2\nf 1 2 3\n"
            Expect.throwsT<MeshFileException> (fun () -> MeshIO.parseObj "loose.obj" loose |> ignore) "MeshIO.parseObj \"loose.obj\" loose"
            let kept = Wavefront.parseObj "loose.obj" loose
            Expect.equal kept.Faces [| 0; 1; 2 |] "kept.Faces"
            Expect.equal kept.DegenerateFaces 2 "kept.DegenerateFaces"
        }
    ]
