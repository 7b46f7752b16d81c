/// The GLB writer, checked by a small GLB reader written here from the glTF 2.0 specification:
/// header and chunk framing, alignment, accessor counts and bounds, the un-welded geometry,
/// UVs, flat normals and the embedded PNG.
module Reconstruct.Tests.GltfTests

open System
open System.IO
open System.Text
open System.Text.Json
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

/// A GLB as the specification frames it; fails on any framing error.
type private Glb = { Json: JsonElement; Bin: byte[] }

let private readGlb (bytes: byte[]) =
    let u32 (offset: int) = BitConverter.ToUInt32(bytes, offset)
    Expect.equal (u32 0) 0x46546C67u "magic \"glTF\""
    Expect.equal (u32 4) 2u "version 2"
    Expect.equal (int (u32 8)) bytes.Length "the header's length is the file's"
    let jsonLength = int (u32 12)
    Expect.equal (u32 16) 0x4E4F534Au "the first chunk is JSON"
    Expect.equal (jsonLength % 4) 0 "the JSON chunk's length is a multiple of 4"
    let binStart = 20 + jsonLength
    let binLength = int (u32 binStart)
    Expect.equal (u32 (binStart + 4)) 0x004E4942u "the second chunk is BIN"
    Expect.equal (binLength % 4) 0 "the BIN chunk's length is a multiple of 4"
    Expect.equal (binStart + 8 + binLength) bytes.Length "two chunks and nothing after them"
    let text = Encoding.UTF8.GetString(bytes, 20, jsonLength)
    Expect.equal (text.TrimEnd ' ').Length (text.TrimEnd().Length) "the JSON is padded with spaces"
    let json = (JsonDocument.Parse text).RootElement
    Expect.equal (json.GetProperty("asset").GetProperty("version").GetString()) "2.0" "asset.version"
    Expect.equal (json.GetProperty("buffers").[0].GetProperty("byteLength").GetInt32()) binLength "the buffer is the BIN chunk"
    { Json = json; Bin = bytes.[binStart + 8 .. binStart + 8 + binLength - 1] }

/// The bytes of bufferView `index`, after checking its alignment and bounds.
let private view (glb: Glb) (index: int) =
    let v = glb.Json.GetProperty("bufferViews").[index]
    let offset = match v.TryGetProperty "byteOffset" with | true, o -> o.GetInt32() | _ -> 0
    let length = v.GetProperty("byteLength").GetInt32()
    Expect.equal (offset % 4) 0 (sprintf "bufferView %d starts at a multiple of 4" index)
    Expect.isLessThanOrEqual (offset + length) glb.Bin.Length (sprintf "bufferView %d lies inside the buffer" index)
    glb.Bin.[offset .. offset + length - 1]

let private accessor (glb: Glb) (index: int) = glb.Json.GetProperty("accessors").[index]

let private attribute (glb: Glb) (name: string) =
    let primitive = glb.Json.GetProperty("meshes").[0].GetProperty("primitives").[0]
    match primitive.GetProperty("attributes").TryGetProperty name with
    | true, a -> Some(a.GetInt32())
    | _ -> None

/// An accessor's float components.
let private floats (glb: Glb) (index: int) =
    let a = accessor glb index
    Expect.equal (a.GetProperty("componentType").GetInt32()) 5126 "float components"
    let bytes = view glb (a.GetProperty("bufferView").GetInt32())
    let width = match a.GetProperty("type").GetString() with "VEC3" -> 3 | "VEC2" -> 2 | t -> failtestf "type %s" t
    let values = Array.init (bytes.Length / 4) (fun i -> BitConverter.ToSingle(bytes, 4 * i))
    Expect.equal values.Length (width * a.GetProperty("count").GetInt32()) "count × components fill the view"
    values

/// An icosphere stretched and moved off the origin, with the seam-aware spherical UVs (some
/// u above 1) of the unit sphere it came from.
let private sphere () =
    let unit = Mesh.icosphere 1
    let uvs = UVMap.spherical unit.Vertices unit.Faces
    let vertices = (Mesh.scaleAxes (0.5, 0.25, 0.125) unit.Vertices + Tensor.ofArray ([| 0.1f; -0.2f; 0.3f |], [ 1; 1; 3 ])).contiguous ()
    Mesh.withUVs uvs (Mesh.create vertices unit.Faces)

/// An odd number of bytes, so the BIN chunk needs padding after the image.
let private fakePng = Array.init 13 (fun i -> byte (0x89 + 7 * i))

[<Tests>]
let tests =
    testList "Gltf" [
        test "a textured GLB reads back: framing, alignment, counts, bounds, un-welded corners, UVs, normals, the PNG" {
            use _ = DisposalScope.Open()
            let mesh = sphere ()
            let f = Mesh.faceCount mesh
            use g = new Generator(5UL)
            let texture = Tensor.rand ([ 3; 8; 16 ], g)
            let mutable encoded = None
            let glb = readGlb (Gltf.glbBytes (fun t -> encoded <- Some t.Shape; fakePng) texture mesh)
            Expect.equal encoded (Some [| 3; 8; 16 |]) "the texture went to the encoder"
            let position, normal, uv = attribute glb "POSITION", attribute glb "NORMAL", attribute glb "TEXCOORD_0"
            Expect.isSome position "POSITION"
            Expect.isSome normal "NORMAL"
            Expect.isSome uv "TEXCOORD_0"
            let primitive = glb.Json.GetProperty("meshes").[0].GetProperty("primitives").[0]
            for index in [ position.Value; normal.Value; uv.Value; primitive.GetProperty("indices").GetInt32() ] do
                Expect.equal ((accessor glb index).GetProperty("count").GetInt32()) (3 * f) "3F vertices, 3F indices"
            // Corner k of face f is vertex 3f + k.
            let v, faces = Mesh.toArrays mesh
            let p = floats glb position.Value
            for i in 0 .. f - 1 do
                for k in 0..2 do
                    for c in 0..2 do
                        Expect.equal p.[9 * i + 3 * k + c] (float32 v.[faces.[i].[k]].[c]) "positions are the un-welded corners"
            let a = accessor glb position.Value
            let bound (name: string) = [| for x in a.GetProperty(name).EnumerateArray() -> x.GetSingle() |]
            Expect.equal (bound "min") (Array.init 3 (fun c -> v |> Array.map (fun x -> float32 x.[c]) |> Array.min)) "POSITION min is the vertices' min"
            Expect.equal (bound "max") (Array.init 3 (fun c -> v |> Array.map (fun x -> float32 x.[c]) |> Array.max)) "POSITION max is the vertices' max"
            let expectedUv = (UVMap.faceCoords mesh.UVs.Value).ToFloat32s()
            Expect.equal (floats glb uv.Value) expectedUv "TEXCOORD_0 is the per-corner UVs, v = 0 at the top as in glTF"
            Expect.isTrue (expectedUv |> Array.exists (fun x -> x > 1.0f)) "the seam's u above 1 are kept (the sampler repeats)"
            let n = floats glb normal.Value
            let expectedNormals = (Mesh.faceNormals mesh.Vertices mesh.Faces).ToFloat32s()
            for i in 0 .. f - 1 do
                for k in 0..2 do
                    for c in 0..2 do
                        Expect.floatClose { absolute = 1e-6; relative = 1e-5 } (float n.[9 * i + 3 * k + c]) (float expectedNormals.[3 * i + c]) "flat outward normals (the winding kept)"
            let indexAccessor = accessor glb (primitive.GetProperty("indices").GetInt32())
            Expect.equal (indexAccessor.GetProperty("componentType").GetInt32()) 5125 "uint32 indices"
            let ib = view glb (indexAccessor.GetProperty("bufferView").GetInt32())
            Expect.equal (Array.init (3 * f) (fun i -> BitConverter.ToUInt32(ib, 4 * i))) (Array.init (3 * f) uint32) "indices 0 .. 3F-1"
            let image = glb.Json.GetProperty("images").[0]
            Expect.equal (image.GetProperty("mimeType").GetString()) "image/png" "mimeType"
            Expect.equal (view glb (image.GetProperty("bufferView").GetInt32())) fakePng "the image is the PNG given"
            let material = glb.Json.GetProperty("materials").[0]
            Expect.isTrue (material.GetProperty("doubleSided").GetBoolean()) "doubleSided"
            Expect.isTrue (fst (material.GetProperty("extensions").TryGetProperty "KHR_materials_unlit")) "unlit"
            Expect.equal (material.GetProperty("pbrMetallicRoughness").GetProperty("metallicFactor").GetDouble()) 0.0 "fallback: not metallic"
            Expect.equal (glb.Json.GetProperty("samplers").[0].GetProperty("wrapS").GetInt32()) 10497 "u repeats"
        }

        test "writeGlb writes glbBytes atomically; a real PNG decodes back to the texture" {
            use dir = new TempDir()
            use _ = DisposalScope.Open()
            let mesh = sphere ()
            use g = new Generator(6UL)
            let texture = Tensor.rand ([ 3; 4; 8 ], g)
            let path = dir.File "mesh.glb"
            Gltf.writeGlb path Image.encodePng texture mesh
            let bytes = File.ReadAllBytes path
            Expect.equal bytes (Gltf.glbBytes Image.encodePng texture mesh) "the file is glbBytes"
            Expect.equal (dir.Entries()) [| "mesh.glb" |] "no temporary file left"
            let glb = readGlb bytes
            let png = view glb (glb.Json.GetProperty("images").[0].GetProperty("bufferView").GetInt32())
            let decoded = Image.decode "embedded.png" png
            Expect.isLessThanOrEqual (((decoded - texture).abs ()).max().ToScalar()) (0.5 / 255.0 + 1e-6) "the embedded PNG is the texture"
        }

        test "an untextured GLB has positions, normals and indices, a grey lit material, no image" {
            use _ = DisposalScope.Open()
            let mesh = Mesh.icosphere 0
            let glb = readGlb (Gltf.untexturedGlbBytes mesh)
            Expect.isNone (attribute glb "TEXCOORD_0") "no UVs"
            Expect.isFalse (fst (glb.Json.TryGetProperty "images")) "no image"
            let material = glb.Json.GetProperty("materials").[0]
            Expect.isFalse (fst (material.TryGetProperty "extensions")) "lit"
            Expect.equal ((floats glb (attribute glb "POSITION").Value).Length) (9 * 20) "3 corners × 20 faces"
        }

        test "refuses a batch of two, a textured mesh without UVs, a texture that is not (3, H, W), naming the argument" {
            use _ = DisposalScope.Open()
            let mesh = sphere ()
            let texture = Tensor.zeros [ 3; 4; 4 ]
            let e1 = Expect.catchAnyT<ArgumentException> (fun () -> Gltf.glbBytes (fun _ -> fakePng) texture (Mesh.expandBatch 2 mesh) |> ignore) "batch of two"
            Expect.stringContains e1.Message "batch of one" "batch"
            let e2 = Expect.catchAnyT<ArgumentException> (fun () -> Gltf.glbBytes (fun _ -> fakePng) texture { mesh with UVs = None } |> ignore) "no UVs"
            Expect.stringContains e2.Message "no UVs" "UVs"
            let e3 = Expect.catchAnyT<ArgumentException> (fun () -> Gltf.glbBytes (fun _ -> fakePng) (Tensor.zeros [ 4; 4 ]) mesh |> ignore) "texture"
            Expect.stringContains e3.Message "texture" "texture"
        }
    ]
