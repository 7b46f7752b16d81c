/// Benchmark data: catalogue parsing, OBJ + MTL into one texture atlas, normalisation,
/// splits, dataset preparation (on a synthetic library, no download) and the procedural
/// categories. Oracles: hand-written properties and OBJ text with known answers, textures
/// built here from known texel values (exact through 8-bit PNG), brute-force geometry checks.
module Reconstruct.Tests.DatasetTests

open System
open System.Collections.Generic
open System.IO
open System.IO.Compression
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

// ---------------------------------------------------------------------- helpers

let private seeds = Arb.fromGen (Gen.choose (0, 1_000_000))

/// A texture of h × w texels with distinct known values k/255 (exact through 8-bit PNG).
let private knownTexture (salt: int) (h: int) (w: int) =
    Array.init (3 * h * w) (fun k -> float32 ((k * 37 + salt * 101) % 251) / 255.0f)

let private pngOf (h: int) (w: int) (texels: float32[]) =
    use scope = DisposalScope.Open()
    Image.encodePng (Tensor.ofArray (texels, [ 3; h; w ]))

let private ascii (s: string) = Encoding.Latin1.GetBytes s

/// A ZIP file at `path` holding the given files.
let private writeZip (path: string) (files: (string * byte[]) list) =
    use zip = ZipFile.Open(path, ZipArchiveMode.Create)
    for name, bytes in files do
        use s = zip.CreateEntry(name).Open()
        s.Write(bytes, 0, bytes.Length)

/// The texel (c, row, column) of an image (3·h·w) containing the point (u, v), v down.
let private texelAt (image: float32[]) (h: int) (w: int) (c: int) (u: float, v: float) =
    let x = Math.Clamp(int (floor (u * float w)), 0, w - 1)
    let y = Math.Clamp(int (floor (v * float h)), 0, h - 1)
    image.[(c * h + y) * w + x]

let private reader (files: (string * byte[]) list) =
    let d = dict files
    fun (p: string) ->
        match d.TryGetValue p with
        | true, b -> Some b
        | _ -> None

// ---------------------------------------------------------------------- catalogue

let private catalogueText =
    String.concat
        "\n"
        [ "# test catalogue"
          "id=Test#Library"
          "name=Test catalog"
          "license=CC-BY 3.0 \\u00a9 Someone"
          "! another comment"
          "id#1=Test#chair1"
          "name#1=Wooden chair"
          "category#1=Living room"
          "creator#1=Ann \\"
          "   Author"
          "model#1=/test/chair1/chair1.obj"
          "width#1=40"
          "depth#1=20"
          "height#1=80"
          "modelRotation#1=1 0 0 0 0 1 0 -1 0"
          "id#2 = Test#table"
          "name#2 : Round table"
          "category#2=Living room"
          "model#2=/test/table/table.obj"
          "width#2=100"
          "depth#2=100"
          "height#2=75"
          "id#3=Test#nomodel"
          "name#3=Ghost chair"
          "width#3=1"
          "depth#3=1"
          "height#3=1"
          "id#4=Test#badsize"
          "name#4=Broken stool"
          "model#4=/test/stool/stool.obj"
          "width#4=wide"
          "depth#4=1"
          "height#4=1"
          "id#5=Test#wheel"
          "name#5=Wheelchair"
          "model#5=/test/wheel/wheel.obj"
          "width#5=60"
          "depth#5=60"
          "height#5=90" ]

// ---------------------------------------------------------------------- OBJ + MTL and the atlas

let private texA = knownTexture 1 4 8
let private texB = knownTexture 2 6 5

/// Texel-centre coordinates (OBJ convention, v up) of texel (row, column) of an h × w texture.
let private centre (h: int) (w: int) (row: int, col: int) = (float col + 0.5) / float w, 1.0 - (float row + 0.5) / float h

let private objWithMaterials (h1, w1) (h2, w2) =
    // Face 1: material a, in [0, 1]. Face 2: material a, shifted by +1 in u and -2 in v (tiling).
    // Face 3: material b. Face 4: Kd-only material c. Face 5: material a across two periods in u.
    // Face 6: material d whose texture is missing.
    let uvA = [ centre h1 w1 (0, 0); centre h1 w1 (3, 7); centre h1 w1 (1, 4) ]
    let uvA2 = uvA |> List.map (fun (u, v) -> u + 1.0, v - 2.0)
    let uvB = [ centre h2 w2 (5, 4); centre h2 w2 (2, 1); centre h2 w2 (0, 3) ]
    let uvSpan = [ centre h1 w1 (1, 6); (let u, v = centre h1 w1 (1, 2) in u + 1.0, v); centre h1 w1 (2, 7) ]
    let vts = uvA @ uvA2 @ uvB @ uvSpan
    let sb = StringBuilder()
    sb.Append("mtllib model.mtl\n") |> ignore
    for x, y, z in [ 0.0, 0.0, 0.0; 1.0, 0.0, 0.0; 0.0, 1.0, 0.0; 0.0, 0.0, 1.0; 2.0, 0.0, 0.0 ] do
        sb.AppendFormat(Globalization.CultureInfo.InvariantCulture, "v {0} {1} {2}\n", x, y, z) |> ignore
    for u, v in vts do
        sb.AppendFormat(Globalization.CultureInfo.InvariantCulture, "vt {0:R} {1:R}\n", u, v) |> ignore
    sb.Append("vn 0 0 1\n") |> ignore
    sb.Append("usemtl a\nf 1/1/1 2/2/1 3/3/1\nf 1/4/1 3/5/1 4/6/1\nusemtl b\nf 2/7/1 3/8/1 4/9/1\n") |> ignore
    sb.Append("usemtl c\nf 1 2 4\nusemtl a\nf 2/10 3/11 4/12\nusemtl d\nf 1//1 3//1 2//1\n") |> ignore
    // A line and a polygon with a repeated corner: dropped, not fatal. Vertex 5 is unused.
    sb.Append("l 1 2\nf 1 1 2\n") |> ignore
    sb.ToString(), vts

let private mtlText =
    "newmtl a\nKd 0.1 0.2 0.3\nmap_Kd textures\\a.png\n\nnewmtl b\nKd 1 1 1\nd 0.5\nmap_Kd C:/Users/someone/Desktop/b.png\n"
    + "newmtl c\nKd 0.2 0.4 0.6\nnewmtl d\nKd 0.9 0.1 0.1\nmap_Kd nowhere.jpg\n"

let private unitBoxArrays (sx: float32, sy: float32, sz: float32) =
    let s = ProceduralParts.box "b" (0.0, 0.0, 0.0) (float sx, float sy, float sz)
    { Positions = s.Positions |> Array.map float32
      Faces = s.Faces
      FaceUVs = s.UVs |> Array.map float32
      Atlas = Array.create 3 0.5f
      AtlasHeight = 1
      AtlasWidth = 1 }

let private volumeOf (m: MeshArrays) = ProceduralParts.signedVolume (m.Positions |> Array.map float) m.Faces

// ---------------------------------------------------------------------- prepare on a synthetic library

let private modelFiles (dir: string) (texture: bool) =
    let obj =
        "mtllib m.mtl\nv -1 0 -1\nv 1 0 -1\nv 1 0 1\nv -1 0 1\nv 0 2 0\nvt 0 0\nvt 1 0\nvt 0.5 1\n"
        + "usemtl skin\nf 1/1 2/2 5/3\nf 2/1 3/2 5/3\nf 3/1 4/2 5/3\nf 4/1 1/2 5/3\nf 1/1 4/2 3/3 2/2\n"
    [ dir + "/m.obj", ascii obj
      dir + "/m.mtl", ascii (if texture then "newmtl skin\nKd 1 0 0\nmap_Kd skin.png\n" else "newmtl skin\nKd 0 1 0\n")
      dir + "/LICENSE.txt", ascii ("licence of " + dir) ]
    @ (if texture then [ dir + "/skin.png", pngOf 4 8 texA ] else [])

let private libraryFiles () =
    let props =
        String.concat
            "\n"
            [ "name=Synthetic catalog"
              "license=CC0"
              for i in 1 .. 12 do
                  sprintf "id#%d=Syn#chair%d" i i
                  sprintf "name#%d=Chair %d" i i
                  sprintf "category#%d=Living room" i
                  sprintf "creator#%d=Maker %d" i i
                  sprintf "model#%d=/syn/chair%d/m.obj" i (if i = 12 then 99 else i)
                  sprintf "width#%d=50" i
                  sprintf "depth#%d=40" i
                  sprintf "height#%d=90" i
              "id#20=Syn#table"
              "name#20=Table"
              "model#20=/syn/table/m.obj"
              "width#20=120"
              "depth#20=80"
              "height#20=75" ]
    [ "PluginFurnitureCatalog.properties", ascii props ]
    @ List.concat [ for i in 1 .. 11 -> modelFiles (sprintf "syn/chair%d" i) (i % 2 = 0) ]
    @ modelFiles "syn/table" false

// ---------------------------------------------------------------------- procedural

let private shapesOf (category: string) = [ for seed in [ 3UL; 11UL ] do for k in 0 .. 3 -> Procedural.shape category seed k ]

[<Tests>]
let tests =
    testList "Dataset" [
        test "properties_parser_handles_escapes_separators_continuations_and_comments" {
            let p = Properties.parse "a=1\n  b : two words \nc\\:d=e\\u00e9\\tf\n# x=9\n!y=8\nlong=first \\\n    second\nempty=\nkey value"
            Expect.equal p.["a"] "1" "p.[\"a\"]"
            Expect.equal p.["b"] "two words " "p.[\"b\"]"
            Expect.equal p.["c:d"] "e\u00e9\tf" "p.[\"c:d\"]"
            Expect.equal p.["long"] "first second" "p.[\"long\"]"
            Expect.equal p.["empty"] "" "p.[\"empty\"]"
            Expect.equal p.["key"] "value" "p.[\"key\"]"
            Expect.isFalse (p.ContainsKey "x" || p.ContainsKey "# x" || p.ContainsKey "y") "p.ContainsKey \"x\" || p.ContainsKey \"# x\" || p.ContainsKey \"y\""
        }

        test "catalogue_entries_are_parsed_and_unusable_ones_reported_with_the_reason" {
            let entries, problems = Catalogue.entries "Test.sh3f" (Properties.parse catalogueText)
            Expect.equal (entries |> List.map (fun e -> e.Id)) [ "Test#chair1"; "Test#table"; "Test#wheel" ] "entries |> List.map (fun e -> e.Id)"
            let chair = entries.Head
            Expect.equal chair.Name "Wooden chair" "chair.Name"
            Expect.equal chair.Category "Living room" "chair.Category"
            Expect.equal chair.Creator "Ann Author" "chair.Creator"
            Expect.equal chair.Model "test/chair1/chair1.obj" "chair.Model"
            Expect.equal chair.LibraryName "Test catalog" "chair.LibraryName"
            Expect.equal chair.Licence "CC-BY 3.0 \u00a9 Someone" "chair.Licence"
            Expect.equal (chair.WidthCm, chair.DepthCm, chair.HeightCm) (40.0, 20.0, 80.0) "(chair.WidthCm, chair.DepthCm, chair.HeightCm)"
            Expect.equal chair.ModelRotation.Value [| 1.0; 0.0; 0.0; 0.0; 0.0; 1.0; 0.0; -1.0; 0.0 |] "chair.ModelRotation.Value"
            Expect.equal entries.[1].Name "Round table" "entries.[1].Name"
            Expect.isTrue entries.[1].ModelRotation.IsNone "entries.[1].ModelRotation.IsNone"
            Expect.equal (problems |> List.map (fun p -> p.Id)) [ "Test#nomodel"; "Test#badsize" ] "problems |> List.map (fun p -> p.Id)"
            Expect.stringContains problems.[0].Reason "no model#3" "problems.[0].Reason"
            Expect.stringContains problems.[1].Reason "width#4" "problems.[1].Reason"
        }

        test "category_rules_select_by_name_patterns_and_source_category" {
            let rules =
                Catalogue.parseRules
                    "test.json"
                    """{ "_comment": "x", "chair": { "include": ["\\bchairs?\\b"], "exclude": ["wheel"] },
                 "table": { "include": ["table"], "sourceCategories": ["Kitchen"] } }"""
            Expect.equal (rules |> List.map (fun r -> r.Name)) [ "chair"; "table" ] "rules |> List.map (fun r -> r.Name)"
            let entries, _ = Catalogue.entries "Test.sh3f" (Properties.parse catalogueText)
            let names rule = entries |> List.filter (Catalogue.matches rule) |> List.map (fun e -> e.Name)
            Expect.equal (names rules.[0]) [ "Wooden chair" ] "names rules.[0]"
            // "Round table" is in the Living room, not the Kitchen.
            Expect.isEmpty (names rules.[1]) "names rules.[1]"
            let bad = Expect.catchT<ArgumentException> (fun () -> Catalogue.parseRules "bad.json" """{ "x": { "include": ["("] } }""" |> ignore) "Catalogue.parseRules \"bad.json\" \"\"\"{ \"x\": { \"include\": [\"(\"] } }\"\"\""
            Expect.stringContains bad.Message "'x'" "bad.Message"
            Expect.throwsT<ArgumentException> (fun () -> Catalogue.parseRules "bad.json" """{ "x": { "exclude": ["a"] } }""" |> ignore) "Catalogue.parseRules \"bad.json\" \"\"\"{ \"x\": { \"exclude\": [\"a\"] } }\"\"\""
        }

        test "shipped_category_rules_sort_known_names" {
            let rules = Catalogue.defaultRules ()
            let entry name category =
                { Library = "L"; LibraryName = ""; Licence = ""; Index = 1; Id = name; Name = name; Category = category; Tags = ""; Creator = ""
                  Model = "m.obj"; WidthCm = 1.0; DepthCm = 1.0; HeightCm = 1.0; ModelRotation = None }
            let categoriesOf name category =
                rules |> List.filter (fun r -> Catalogue.matches r (entry name category)) |> List.map (fun r -> r.Name)
            for name, category, expected in
                [ "Armchair", "Living room", [ "chair" ]
                  "Bar stool", "Kitchen", [ "chair" ]
                  "Wheelchair", "Miscellaneous", []
                  "Coffee table", "Living room", [ "table" ]
                  "Bedside table", "Bedroom", []
                  "Desk lamp", "Lights", [ "lamp" ]
                  "Sofa 2 seats", "Living room", [ "sofa" ]
                  "Winchester armchair", "Living room", [ "chair" ]
                  "Bunk bed", "Bedroom", [ "bed" ]
                  "Bookcase", "Office", [ "cabinet" ]
                  "Ford Focus", "Vehicles", [ "car" ]
                  "Truck", "Vehicles", [] ] do
                Expect.isTrue (expected = categoriesOf name category) (sprintf "%s (%s): expected %A, got %A" name category expected (categoriesOf name category))
        }

        test "obj_mtl_atlas_texels_at_remapped_uvs_equal_the_source_texels" {
            let text, vts = objWithMaterials (4, 8) (6, 5)
            let files =
                [ "m/model.obj", ascii text
                  "m/model.mtl", ascii mtlText
                  "m/textures/a.png", pngOf 4 8 texA
                  "m/b.png", pngOf 6 5 texB ]
            let r = Wavefront.load ObjLoadOptions.Defaults (reader files) "m/model.obj"
            let m = r.Arrays
            Expect.equal m.FaceCount 6 "m.FaceCount"
            // Vertex 5 is used by no face and is dropped.
            Expect.equal m.VertexCount 4 "m.VertexCount"
            let sample (f: int) (corner: int) (c: int) =
                texelAt m.Atlas m.AtlasHeight m.AtlasWidth c (float m.FaceUVs.[6 * f + 2 * corner], float m.FaceUVs.[6 * f + 2 * corner + 1])
            let expectTexture (f: int) (corner: int) (tex: float32[]) (h: int) (w: int) (u: float, vObj: float) =
                for c in 0 .. 2 do
                    // OBJ v is upwards; the source texel row counts from the top.
                    let u = u - floor u
                    let v = 1.0 - vObj
                    let v = v - floor v
                    Expect.equal (sample f corner c) (texelAt tex h w c (u, v)) "sample f corner c"
            for corner in 0 .. 2 do
                expectTexture 0 corner texA 4 8 vts.[corner]
                expectTexture 1 corner texA 4 8 vts.[3 + corner]
                expectTexture 2 corner texB 6 5 vts.[6 + corner]
                expectTexture 4 corner texA 4 8 vts.[9 + corner]
                for c, kd in List.indexed [ 0.2f; 0.4f; 0.6f ] do
                    Expect.equal (sample 3 corner c) kd "sample 3 corner c"
                for c, kd in List.indexed [ 0.9f; 0.1f; 0.1f ] do
                    Expect.equal (sample 5 corner c) kd "sample 5 corner c"
            // Every coordinate lies in [0, 1] and the tiling face stays unclamped.
            for x in m.FaceUVs do Expect.isInRange x 0.0f 1.0f "x"
            let warnings = String.Join("\n", r.Warnings)
            Expect.stringContains warnings "nowhere.jpg" "warnings"
            Expect.stringContains warnings "translucent" "warnings"
            Expect.stringContains warnings "degenerate" "warnings"
            Expect.stringDoesNotContain warnings "clamped" "warnings"
        }

        test "atlas_with_one_copy_per_cell_clamps_faces_spanning_several_repeats" {
            let text, _ = objWithMaterials (4, 8) (6, 5)
            let files =
                [ "model.obj", ascii text; "model.mtl", ascii mtlText; "textures/a.png", pngOf 4 8 texA; "b.png", pngOf 6 5 texB ]
            let r = Wavefront.load { ObjLoadOptions.Defaults with MaxRepeats = 1 } (reader files) "model.obj"
            Expect.exists r.Warnings (fun w -> w.StartsWith "1 of 6 faces span more than 1 texture repeats") "r.Warnings"
        }

        testPropertyWithConfig (propertyConfig 40) "atlas_packing_is_disjoint_and_inside_with_padding" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let sizes = Array.init (rng.Next(1, 20)) (fun _ -> rng.Next(1, 70), rng.Next(1, 70))
                let padding = rng.Next(0, 4)
                let cells, h, w = Atlas.pack padding sizes
                for i in 0 .. cells.Length - 1 do
                    let c = cells.[i]
                    Expect.equal (c.Height, c.Width) (fst sizes.[i], snd sizes.[i]) "(c.Height, c.Width)"
                    Expect.isTrue (c.X - padding >= 0 && c.Y - padding >= 0 && c.X + c.Width + padding <= w && c.Y + c.Height + padding <= h) "c.X - padding >= 0 && c.Y - padding >= 0 && c.X + c.Width + padding <..."
                    for j in i + 1 .. cells.Length - 1 do
                        let d = cells.[j]
                        let apart =
                            c.X + c.Width + padding <= d.X - padding || d.X + d.Width + padding <= c.X - padding
                            || c.Y + c.Height + padding <= d.Y - padding || d.Y + d.Height + padding <= c.Y - padding
                        Expect.isTrue apart (sprintf "cells %d and %d overlap: %A %A" i j c d)))

        test "wrap_axis_shifts_by_whole_periods_and_clamps_beyond_the_cell" {
            let v = [| 1.25; 1.5; 2.0 |]
            Expect.isFalse (Atlas.wrapAxis 1 v) "Atlas.wrapAxis 1 v"
            Expect.equal v [| 0.25; 0.5; 1.0 |] "v"
            let w = [| -0.5; 0.25; 0.5 |]
            Expect.equal (Atlas.periodsOf w) 2 "Atlas.periodsOf w"
            Expect.isFalse (Atlas.wrapAxis 2 w) "Atlas.wrapAxis 2 w"
            Expect.equal w [| 0.25; 0.625; 0.75 |] "w"
            let x = [| 0.5; 3.5; 1.0 |]
            Expect.isTrue (Atlas.wrapAxis 2 x) "Atlas.wrapAxis 2 x"
            for a in x do Expect.isInRange a 0.0 1.0 "a"
        }

        test "obj_errors_name_the_file_and_line_and_oversized_models_are_refused" {
            let bad = reader [ "bad.obj", ascii "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n" ]
            let e = Expect.catchT<ModelLoadException> (fun () -> Wavefront.load ObjLoadOptions.Defaults bad "bad.obj" |> ignore) "Wavefront.load ObjLoadOptions.Defaults bad \"bad.obj\""
            Expect.stringContains e.Message "bad.obj" "e.Message"
            Expect.stringContains e.Message "vertex 9" "e.Message"
            let e2 = Expect.catchT<ModelLoadException> (fun () -> Wavefront.load ObjLoadOptions.Defaults bad "missing.obj" |> ignore) "Wavefront.load ObjLoadOptions.Defaults bad \"missing.obj\""
            Expect.stringContains e2.Reason "not found" "e2.Reason"
            let two = reader [ "t.obj", ascii "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3 4\n" ]
            let e3 = Expect.catchT<ModelLoadException> (fun () -> Wavefront.load { ObjLoadOptions.Defaults with MaxFaces = 1 } two "t.obj" |> ignore) "Wavefront.load { ObjLoadOptions.Defaults with MaxFaces = 1 } two \"t.obj\""
            Expect.stringContains e3.Reason "2 triangles, more than the limit of 1" "e3.Reason"
            // Without a material library the model still loads, grey, with a warning.
            let r = Wavefront.load ObjLoadOptions.Defaults (reader [ "t.obj", ascii "mtllib gone.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n" ]) "t.obj"
            Expect.exists r.Warnings (fun w -> w.Contains "gone.mtl") "r.Warnings"
            Expect.equal r.Arrays.Atlas.[0] 0.8f "r.Arrays.Atlas.[0]"
        }

        // ---------------------------------------------------------------------- normalisation

        testPropertyWithConfig (propertyConfig 50) "normalisation_fits_the_unit_cube_with_the_longest_extent_touching_the_bound" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let n = rng.Next(2, 40)
                let scale = Array.init 3 (fun _ -> 10.0 ** rng.NextDouble() * 3.0)
                let offset = Array.init 3 (fun _ -> rng.NextDouble() * 200.0 - 100.0)
                let p = Array.init (3 * n) (fun k -> float32 (offset.[k % 3] + scale.[k % 3] * rng.NextDouble()))
                let q = TexturedMesh.normalisePositions p
                let lo, hi = TexturedMesh.bounds q
                let extents = Array.init 3 (fun a -> float hi.[a] - float lo.[a])
                let longest = Array.findIndex (fun e -> e = Array.max extents) extents
                for x in q do Expect.isInRange x (-0.5f - 1e-6f) (0.5f + 1e-6f) "x"
                Expect.equalRounded 5 extents.[longest] 1.0 "extents.[longest]"
                Expect.equalRounded 5 (float lo.[longest]) (-0.5) "float lo.[longest]"
                Expect.equalRounded 5 (float hi.[longest]) 0.5 "float hi.[longest]"
                for a in 0 .. 2 do
                    Expect.equalRounded 5 (0.5 * (float lo.[a] + float hi.[a])) 0.0 "0.5 * (float lo.[a] + float hi.[a])"
                // Proportions are kept.
                let before =
                    let l, h = TexturedMesh.bounds p
                    Array.init 3 (fun a -> float h.[a] - float l.[a])
                for a in 0 .. 2 do
                    Expect.equalRounded 4 extents.[a] (before.[a] / Array.max before) "extents.[a]"))

        test "placement_rotates_then_sizes_to_the_catalogue_and_keeps_faces_outward" {
            let entry rotation =
                { Library = "L"; LibraryName = ""; Licence = ""; Index = 1; Id = "x"; Name = "x"; Category = ""; Tags = ""; Creator = ""
                  Model = "m.obj"; WidthCm = 100.0; DepthCm = 25.0; HeightCm = 50.0; ModelRotation = rotation }
            let model = unitBoxArrays (2.0f, 1.0f, 3.0f)
            let extents (m: MeshArrays) =
                let lo, hi = TexturedMesh.bounds m.Positions
                Array.init 3 (fun a -> float hi.[a] - float lo.[a])
            // No rotation: stretched to 100 x 50 x 25 (x, y, z), then normalised: 1, 0.5, 0.25.
            let placed, note = FurnitureModel.place (entry None) model
            assertClose 1e-6 0.0 [| 1.0; 0.5; 0.25 |] (extents placed)
            Expect.isTrue note.IsSome "note.IsSome"
            Expect.isTrue (volumeOf placed > 0.0) "volumeOf placed > 0.0"
            // A rotation (x, y, z) -> (x, z, -y) and a reflection (x, y, z) -> (-x, y, z): sizes are
            // those of the catalogue either way, faces still point outwards.
            let turn = [| 1.0; 0.0; 0.0; 0.0; 0.0; 1.0; 0.0; -1.0; 0.0 |]
            for r in [ turn; [| -1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |] ] do
                let placed, _ = FurnitureModel.place (entry (Some r)) model
                assertClose 1e-6 0.0 [| 1.0; 0.5; 0.25 |] (extents placed)
                Expect.isTrue (volumeOf placed > 0.0) (sprintf "rotation %A turned the faces inwards" r)
            // The rotation puts the model's z on y and its y on -z.
            let placed, _ = FurnitureModel.place (entry (Some turn)) model
            for i in 0 .. model.VertexCount - 1 do
                Expect.equal (sign placed.Positions.[3 * i + 1]) (sign model.Positions.[3 * i + 2]) "sign placed.Positions.[3 * i + 1]"
                Expect.equal (sign placed.Positions.[3 * i + 2]) (-(sign model.Positions.[3 * i + 1])) "sign placed.Positions.[3 * i + 2]"
        }

        // ---------------------------------------------------------------------- splits

        testPropertyWithConfig (propertyConfig 40) "splits_are_deterministic_disjoint_complete_and_70_10_20" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let n = rng.Next(0, 300)
                let ids = Array.init n (fun i -> sprintf "id-%d-%d" i (rng.Next()))
                let a = Splits.assign (uint64 seed) ids
                let b = Splits.assign (uint64 seed) (Array.rev ids)
                Expect.equal b a "b"
                Expect.equal (Array.sort (a |> Array.map fst)) (Array.sort ids) "Array.sort (a |> Array.map fst)"
                let count s = a |> Array.filter (fun (_, x) -> x = s) |> Array.length
                Expect.isInRange (float (count Split.Train)) (0.7 * float n - 1.0) (0.7 * float n + 1.0) "float (count Split.Train)"
                Expect.isInRange (float (count Split.Val)) (0.1 * float n - 1.0) (0.1 * float n + 1.0) "float (count Split.Val)"
                Expect.isInRange (float (count Split.Test)) (0.2 * float n - 1.0) (0.2 * float n + 1.0) "float (count Split.Test)"))

        test "splits_depend_on_the_seed_and_reject_duplicate_ids" {
            let ids = Array.init 60 (sprintf "m%02d")
            let a = Splits.assign 1UL ids
            let b = Splits.assign 2UL ids
            Expect.notEqual b a "b"
            Expect.throwsT<ArgumentException> (fun () -> Splits.assign 1UL [ "x"; "y"; "x" ] |> ignore) "Splits.assign 1UL [ \"x\"; \"y\"; \"x\" ]"
        }

        testSequenced <| test "prepare_on_a_synthetic_library_writes_models_manifest_splits_and_failures" {
            use dir = new TempDir()
            // The layout `fetch` leaves after dpkg-deb -x: nothing is downloaded.
            let furniture = Path.Combine(dir.Path, "sweethome3d-furniture", "usr", "share", "sweethome3d", "furniture")
            Directory.CreateDirectory furniture |> ignore
            writeZip (Path.Combine(furniture, "Syn.sh3f")) (libraryFiles ())
            let options = { PrepareOptions.Defaults dir.Path with Rules = Catalogue.parseRules "t" """{ "chair": { "include": ["chair"] }, "table": { "include": ["table"] } }""" }
            let live = settledLiveCount ()
            let report = Furniture.prepareWith options [ "chair" ] 7UL
            // Texture decoding and the OBJ export free their tensors.
            Expect.equal Tensor.LiveCount live "Tensor.LiveCount"
            let chairs = Expect.single report.Categories "report.Categories"
            Expect.equal chairs.Entries.Length 11 "chairs.Entries.Length"
            let failure = Expect.single chairs.Failures "chairs.Failures"
            Expect.equal failure.Id "Syn#chair12" "failure.Id"
            Expect.stringContains failure.Reason "not found" "failure.Reason"
            let count s = chairs.Entries |> List.filter (fun e -> e.Split = s) |> List.length
            Expect.equal (count Split.Train, count Split.Val, count Split.Test) (8, 1, 2) "(count Split.Train, count Split.Val, count Split.Test)"
            Expect.equal (chairs.Entries |> List.map (fun e -> e.Info.Id, e.Split)) (Splits.assign 7UL (chairs.Entries |> List.map (fun e -> e.Info.Id)) |> List.ofArray) "chairs.Entries |> List.map (fun e -> e.Info.Id, e.Split)"
            // Each model is on disk, normalised, with its licence file and metadata.
            for e in chairs.Entries do
                Expect.isTrue (File.Exists e.Obj) e.Obj
                Expect.equal e.Info.Licence "CC0" "e.Info.Licence"
                Expect.stringStarts e.Info.Creator "Maker " "e.Info.Creator"
                let copy = Expect.single e.LicenceCopies "e.LicenceCopies"
                Expect.equal (File.ReadAllText copy) ("licence of " + (e.Info.Source.Split(":/").[1] |> Path.GetDirectoryName).Replace('\\', '/')) "File.ReadAllText copy"
                use scope = DisposalScope.Open()
                let m = Furniture.load e
                Expect.equal m.FaceUVs.Shape [| 6; 3; 2 |] "m.FaceUVs.Shape"
                let p = m.Vertices.ToFloat32s()
                let lo, hi = TexturedMesh.bounds p
                // 50 x 90 x 40 cm: height is the longest side.
                Expect.equalRounded 5 (hi.[1] - lo.[1]) 1.0f "hi.[1] - lo.[1]"
                Expect.equalRounded 5 (hi.[0] - lo.[0]) (50.0f / 90.0f) "hi.[0] - lo.[0]"
            // The manifest reads back to the same entries; a second run reuses them.
            let read, failures, _ = FurnitureManifest.read chairs.Manifest
            Expect.equal (read |> List.map (fun e -> e.Info.Id)) (chairs.Entries |> List.map (fun e -> e.Info.Id)) "read |> List.map (fun e -> e.Info.Id)"
            Expect.equal (read |> List.map (fun e -> e.Split)) (chairs.Entries |> List.map (fun e -> e.Split)) "read |> List.map (fun e -> e.Split)"
            Expect.equal ((Expect.single failures "failures").Reason) failure.Reason "(single failures).Reason"
            Expect.isTrue (File.ReadAllText(Path.Combine(Path.GetDirectoryName chairs.Manifest, "ATTRIBUTION.txt")).Contains "Maker 3") "File.ReadAllText(Path.Combine(Path.GetDirectoryName chairs.Manifest,..."
            let again = Furniture.prepareWith options [ "chair" ] 7UL
            Expect.equal again.Categories.Head.Reused 12 "again.Categories.Head.Reused"
            Expect.equal again.Categories.Head.Loaded 0 "again.Categories.Head.Loaded"
            let unknown = Expect.catchT<ArgumentException> (fun () -> Furniture.prepareWith options [ "boat" ] 7UL |> ignore) "Furniture.prepareWith options [ \"boat\" ] 7UL"
            Expect.stringContains unknown.Message "boat" "unknown.Message"
        }

        test "fetch_extracts_a_cached_package_given_a_relative_cache_folder" {
            use dir = new TempDir()
            // A stand-in package built with dpkg-deb and left where `apt-get download` puts it, so
            // nothing is downloaded; the cache is named relative to the working directory, as the
            // default `.cache/data` is.
            let tree = Path.Combine(dir.Path, "pkg")
            let furniture = Path.Combine(tree, "usr", "share", "sweethome3d", "furniture")
            Directory.CreateDirectory(Path.Combine(tree, "DEBIAN")) |> ignore
            Directory.CreateDirectory furniture |> ignore
            File.WriteAllText(Path.Combine(tree, "DEBIAN", "control"), "Package: sweethome3d-furniture\nVersion: 9.9-1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
            writeZip (Path.Combine(furniture, "Syn.sh3f")) (libraryFiles ())
            let cache = Path.Combine(dir.Path, "cache")
            let debs = Directory.CreateDirectory(Path.Combine(cache, "debs")).FullName
            let psi = Diagnostics.ProcessStartInfo("dpkg-deb", UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
            for a in [ "--build"; "--root-owner-group"; tree; Path.Combine(debs, "sweethome3d-furniture_9.9-1_all.deb") ] do
                psi.ArgumentList.Add a
            use p = Diagnostics.Process.Start psi
            let err = p.StandardError.ReadToEnd()
            p.WaitForExit()
            Expect.isTrue (p.ExitCode = 0) ("dpkg-deb --build: " + err)
            let relative = Path.GetRelativePath(Environment.CurrentDirectory, cache)
            Expect.isFalse (Path.IsPathRooted relative) relative
            let libraries = Furniture.fetch relative ignore
            let library = Expect.single libraries "libraries"
            Expect.equal library (Path.Combine(Path.GetFullPath cache, "sweethome3d-furniture", "usr", "share", "sweethome3d", "furniture", "Syn.sh3f")) "library"
            Expect.isFalse (Directory.Exists(Path.Combine(cache, "sweethome3d-furniture.partial"))) "Directory.Exists(Path.Combine(cache, \"sweethome3d-furniture.partial\"))"
            // A second call finds the extracted tree and does not need the package any more.
            File.Delete(Path.Combine(debs, "sweethome3d-furniture_9.9-1_all.deb"))
            Expect.equal (Furniture.fetch relative ignore) libraries "Furniture.fetch relative ignore"
        }

        test "procedural_shapes_are_mirror_symmetric_in_x" {
            for category in Procedural.categories do
                for s in shapesOf category do
                    let m = Procedural.toArrays s
                    let n = m.VertexCount
                    let p = m.Positions
                    let mutable worst = 0.0
                    for i in 0 .. n - 1 do
                        let mutable best = Double.MaxValue
                        for j in 0 .. n - 1 do
                            let dx = float (-p.[3 * i] - p.[3 * j])
                            let dy = float (p.[3 * i + 1] - p.[3 * j + 1])
                            let dz = float (p.[3 * i + 2] - p.[3 * j + 2])
                            best <- min best (dx * dx + dy * dy + dz * dz)
                        worst <- max worst best
                    Expect.isTrue (sqrt worst < 1e-5) (sprintf "%s seed %d #%d: a mirrored vertex is %g from the nearest vertex" category s.Seed s.Index (sqrt worst))
        }

        test "procedural_parts_are_closed_consistently_oriented_and_outward" {
            for category in Procedural.categories do
                for s in shapesOf category do
                    for part in s.Parts do
                        let edges = Dictionary<struct (int * int), int>()
                        for f in 0 .. part.Faces.Length / 3 - 1 do
                            let t = part.Faces.[3 * f .. 3 * f + 2]
                            Expect.isTrue (t.[0] <> t.[1] && t.[1] <> t.[2] && t.[0] <> t.[2]) (sprintf "%s %s: degenerate face %d" category part.Name f)
                            for k in 0 .. 2 do
                                let e = struct (t.[k], t.[(k + 1) % 3])
                                edges.[e] <- (match edges.TryGetValue e with | true, c -> c + 1 | _ -> 1)
                        for KeyValue (struct (a, b), c) in edges do
                            // Each directed edge once, its reverse once: every edge has exactly two faces, opposite windings.
                            Expect.isTrue (c = 1 && edges.ContainsKey(struct (b, a))) (sprintf "%s %s: edge %d-%d used %d times, reverse %b" category part.Name a b c (edges.ContainsKey(struct (b, a))))
                        Expect.isTrue (ProceduralParts.signedVolume part.Positions part.Faces > 0.0) (sprintf "%s %s faces inwards" category part.Name)
                        for x in part.UVs do Expect.isInRange x 0.0 1.0 "x"
        }

        test "procedural_shapes_vary_within_a_category_and_fit_the_unit_cube" {
            for category in Procedural.categories do
                let shapes = shapesOf category
                let boxes =
                    shapes
                    |> List.map (fun s ->
                        let m = Procedural.toArrays s
                        for x in m.Positions do Expect.isInRange x (-0.5f - 1e-6f) (0.5f + 1e-6f) "x"
                        let lo, hi = TexturedMesh.bounds m.Positions
                        Expect.equalRounded 5 (Array.init 3 (fun a -> hi.[a] - lo.[a]) |> Array.max) 1.0f "Array.init 3 (fun a -> hi.[a] - lo.[a]) |> Array.max"
                        Array.init 3 (fun a -> Math.Round(float (hi.[a] - lo.[a]), 3)))
                Expect.isTrue ((boxes |> List.distinct |> List.length) = boxes.Length) (sprintf "%s: repeated bounding boxes %A" category boxes)
                let partCounts = shapes |> List.map (fun s -> s.Parts.Length) |> List.distinct
                Expect.isTrue (partCounts.Length >= 2) (sprintf "%s: every shape has %A parts" category partCounts)
        }

        test "procedural_generation_is_deterministic_for_a_seed" {
            for category in Procedural.categories do
                use scope = DisposalScope.Open()
                let a = Procedural.generate category 5UL 3 |> List.map TexturedMesh.toArrays
                let b = Procedural.generate category 5UL 5 |> List.map TexturedMesh.toArrays
                let c = Procedural.generate category 6UL 3 |> List.map TexturedMesh.toArrays
                for x, y in List.zip a (List.take 3 b) do
                    Expect.equal y.Positions x.Positions "y.Positions"
                    Expect.equal y.Faces x.Faces "y.Faces"
                    Expect.equal y.FaceUVs x.FaceUVs "y.FaceUVs"
                    Expect.equal y.Atlas x.Atlas "y.Atlas"
                Expect.notEqual c.Head.Positions a.Head.Positions "c.Head.Positions"
        }

        test "procedural_swatches_mirror_onto_themselves" {
            for category in Procedural.categories do
                for s in shapesOf category do
                    for part in s.Parts do
                        let img = ProceduralAppearance.swatch part
                        let n = ProceduralAppearance.swatchSize
                        for c in 0 .. 2 do
                            for y in 0 .. n - 1 do
                                for x in 0 .. n - 1 do
                                    Expect.equal img.[(c * n + y) * n + n - 1 - x] img.[(c * n + y) * n + x] "img.[(c * n + y) * n + n - 1 - x]"
            let part = { (ProceduralParts.box "b" (0.0, 0.0, 0.0) (1.0, 1.0, 1.0)) with Colour = (1.0f, 0.0f, 0.0f); Accent = (0.0f, 0.0f, 1.0f); Pattern = Pattern.Checks 3 }
            let img = ProceduralAppearance.swatch part
            // Red and blue alternate: corners red, the cell to the right of the corner blue.
            Expect.equal img.[0] 1.0f "img.[0]"
            Expect.equal img.[ProceduralAppearance.swatchSize / 3] 0.0f "img.[ProceduralAppearance.swatchSize / 3]"
            Expect.equal img.[2 * ProceduralAppearance.swatchSize * ProceduralAppearance.swatchSize + ProceduralAppearance.swatchSize / 3] 1.0f "img.[2 * ProceduralAppearance.swatchSize * ProceduralAppearance.swatc..."
        }

        test "procedural_meshes_export_as_obj_and_read_back" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let m = Procedural.generate "car" 1UL 1 |> List.exactlyOne
            let f = m.Faces.Size 0
            Expect.equal m.FaceUVs.Shape [| f; 3; 2 |] "m.FaceUVs.Shape"
            Expect.equal (m.Atlas.Size 0) 3 "m.Atlas.Size 0"
            let mesh = TexturedMesh.toMesh m
            Expect.equal mesh.Vertices.Shape [| 1; m.Vertices.Size 0; 3 |] "mesh.Vertices.Shape"
            Expect.equal mesh.UVs.Value.Coords.Shape [| 3 * f; 2 |] "mesh.UVs.Value.Coords.Shape"
            let path = Path.Combine(dir.Path, "car.obj")
            TexturedMesh.writeObj path m
            let back = TexturedMesh.readObjArrays path
            let orig = TexturedMesh.toArrays m
            assertClose 1e-6 1e-5 (orig.Positions |> Array.map float) (back.Positions |> Array.map float)
            Expect.equal back.Faces orig.Faces "back.Faces"
            assertClose 1e-6 1e-5 (orig.FaceUVs |> Array.map float) (back.FaceUVs |> Array.map float)
            // The atlas goes through 8-bit PNG.
            assertClose (0.5 / 255.0 + 1e-6) 0.0 (orig.Atlas |> Array.map float) (back.Atlas |> Array.map float)
            Expect.throwsT<ArgumentException> (fun () -> Procedural.generate "boat" 1UL 1 |> ignore) "Procedural.generate \"boat\" 1UL 1"
        }
    ]
