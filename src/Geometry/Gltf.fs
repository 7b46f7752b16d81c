module Reconstruct.Geometry.Gltf

open System
open System.IO
open System.Text
open System.Text.Json
open Reconstruct.Torch

// The numeric codes of the glTF 2.0 specification (they are OpenGL's enums).
let private Float = 5126
let private UnsignedInt = 5125
let private ArrayBuffer = 34962
let private ElementArrayBuffer = 34963
let private Linear = 9729
let private Repeat = 10497
let private ClampToEdge = 33071
let private Triangles = 4

let private GlbMagic = 0x46546C67u // "glTF" read as a little-endian uint32
let private JsonChunk = 0x4E4F534Au // "JSON"
let private BinChunk = 0x004E4942u // "BIN\0"

let private pad4 (n: int) = (n + 3) &&& ~~~3

/// The un-welded mesh: corner k of face f is vertex 3f + k.
type private Corners =
    { /// 9F values, x y z per corner.
      Positions: float32[]
      /// 9F values, the face's unit normal at each of its corners.
      Normals: float32[]
      /// 6F values (u, v) per corner, v = 0 the top row, when textured.
      TexCoords: float32[] option }

let private unweld (fn: string) (textured: bool) (mesh: Mesh) =
    if Mesh.batchSize mesh <> 1 then invalidArg "mesh" (sprintf "%s: needs a batch of one mesh, received a batch of %d" fn (Mesh.batchSize mesh))
    Mesh.validate fn mesh
    let f = Mesh.faceCount mesh
    // An accessor's count must be at least 1.
    if f < 1 then invalidArg "mesh" (sprintf "%s: the mesh has no faces" fn)
    let v = Scoped.host64 mesh.Vertices
    let faces = Scoped.hostInt64 mesh.Faces
    let positions = Array.zeroCreate<float32> (9 * f)
    let normals = Array.zeroCreate<float32> (9 * f)
    for i in 0 .. f - 1 do
        let corner k c = v.[3 * int faces.[3 * i + k] + c]
        for k in 0..2 do
            for c in 0..2 do
                positions.[9 * i + 3 * k + c] <- float32 (corner k c)
        let e1 = Array.init 3 (fun c -> corner 1 c - corner 0 c)
        let e2 = Array.init 3 (fun c -> corner 2 c - corner 0 c)
        let n = [| e1.[1] * e2.[2] - e1.[2] * e2.[1]; e1.[2] * e2.[0] - e1.[0] * e2.[2]; e1.[0] * e2.[1] - e1.[1] * e2.[0] |]
        let length = sqrt (n.[0] * n.[0] + n.[1] * n.[1] + n.[2] * n.[2])
        // glTF requires unit normals; a degenerate face covers no pixel, so any unit vector does.
        let unit = if length > 0.0 && Double.IsFinite length then Array.map (fun x -> x / length) n else [| 0.0; 1.0; 0.0 |]
        for k in 0..2 do
            for c in 0..2 do
                normals.[9 * i + 3 * k + c] <- float32 unit.[c]
    let texCoords =
        if not textured then None
        else
            match mesh.UVs with
            | None -> invalidArg "mesh" (sprintf "%s: the mesh has no UVs (untexturedGlbBytes writes a mesh without them)" fn)
            | Some uv ->
                if uv.Faces.Shape <> [| f; 3 |] then
                    invalidArg "mesh" (sprintf "%s: the UV faces are %s, the mesh has %d faces" fn (Shape.text uv.Faces.Shape) f)
                if uv.Coords.Dim <> 2 || uv.Coords.Size 1 <> 2 then
                    invalidArg "mesh" (sprintf "%s: the UV coordinates must be (T, 2), received %s" fn (Shape.text uv.Coords.Shape))
                let coords = Scoped.host64 uv.Coords
                let index = Scoped.hostInt64 uv.Faces
                let t = coords.Length / 2
                Some(
                    Array.init (6 * f) (fun j ->
                        let c = index.[j / 2]
                        if c < 0L || c >= int64 t then
                            invalidArg "mesh" (sprintf "%s: face %d uses UV coordinate %d of %d" fn (j / 6) c t)
                        let x = coords.[2 * int c + j % 2]
                        if not (Double.IsFinite x) then invalidArg "mesh" (sprintf "%s: UV coordinate %d is not finite" fn c)
                        float32 x)
                )
    { Positions = positions; Normals = normals; TexCoords = texCoords }

let private floatBytes (values: float32[]) =
    use stream = new MemoryStream(4 * values.Length)
    use w = new BinaryWriter(stream)
    // BinaryWriter is little endian on every platform, as glTF requires.
    for x in values do
        w.Write x
    w.Flush()
    stream.ToArray()

let private uintBytes (count: int) =
    use stream = new MemoryStream(4 * count)
    use w = new BinaryWriter(stream)
    for i in 0 .. count - 1 do
        w.Write(uint32 i)
    w.Flush()
    stream.ToArray()

/// The GLB of the un-welded mesh, with the PNG as its base colour when given.
let private glb (corners: Corners) (png: byte[] option) =
    let count = corners.Positions.Length / 3
    // bufferViews in order: positions, normals, [texcoords], indices, [image].
    let views =
        [ yield "POSITION", floatBytes corners.Positions
          yield "NORMAL", floatBytes corners.Normals
          match corners.TexCoords with
          | Some uv -> yield "TEXCOORD_0", floatBytes uv
          | None -> ()
          yield "indices", uintBytes count
          match png with
          | Some bytes -> yield "image", bytes
          | None -> () ]
    // Every bufferView starts at a multiple of 4 (accessors of 4-byte components need it).
    let offsets = views |> List.scan (fun offset (_, bytes: byte[]) -> pad4 (offset + bytes.Length)) 0
    let binLength = pad4 (List.last offsets)
    let viewIndex name = views |> List.findIndex (fun (n, _) -> n = name)
    let mins, maxs =
        Array.init 3 (fun c -> Seq.min (seq { for i in 0 .. count - 1 -> corners.Positions.[3 * i + c] })),
        Array.init 3 (fun c -> Seq.max (seq { for i in 0 .. count - 1 -> corners.Positions.[3 * i + c] }))
    let json =
        use stream = new MemoryStream()
        do
            use w = new Utf8JsonWriter(stream)
            let obj (name: string) (body: unit -> unit) =
                w.WriteStartObject name
                body ()
                w.WriteEndObject()
            let arr (name: string) (body: unit -> unit) =
                w.WriteStartArray name
                body ()
                w.WriteEndArray()
            let item (body: unit -> unit) =
                w.WriteStartObject()
                body ()
                w.WriteEndObject()
            w.WriteStartObject()
            obj "asset" (fun () ->
                w.WriteString("version", "2.0")
                w.WriteString("generator", "Reconstruct"))
            if png.IsSome then arr "extensionsUsed" (fun () -> w.WriteStringValue "KHR_materials_unlit")
            w.WriteNumber("scene", 0)
            arr "scenes" (fun () -> item (fun () -> arr "nodes" (fun () -> w.WriteNumberValue 0)))
            arr "nodes" (fun () -> item (fun () -> w.WriteNumber("mesh", 0)))
            let accessors = [ "POSITION"; "NORMAL" ] @ (if corners.TexCoords.IsSome then [ "TEXCOORD_0" ] else []) @ [ "indices" ]
            let accessorIndex name = List.findIndex ((=) name) accessors
            arr "meshes" (fun () ->
                item (fun () ->
                    arr "primitives" (fun () ->
                        item (fun () ->
                            obj "attributes" (fun () ->
                                for a in accessors do
                                    if a <> "indices" then w.WriteNumber(a, accessorIndex a))
                            w.WriteNumber("indices", accessorIndex "indices")
                            w.WriteNumber("material", 0)
                            w.WriteNumber("mode", Triangles)))))
            arr "materials" (fun () ->
                item (fun () ->
                    obj "pbrMetallicRoughness" (fun () ->
                        match png with
                        | Some _ -> obj "baseColorTexture" (fun () -> w.WriteNumber("index", 0))
                        | None ->
                            arr "baseColorFactor" (fun () ->
                                for c in [ 0.7; 0.7; 0.7; 1.0 ] do
                                    w.WriteNumberValue c)
                        w.WriteNumber("metallicFactor", 0)
                        w.WriteNumber("roughnessFactor", 1))
                    w.WriteBoolean("doubleSided", true)
                    if png.IsSome then obj "extensions" (fun () -> obj "KHR_materials_unlit" ignore)))
            if png.IsSome then
                arr "textures" (fun () ->
                    item (fun () ->
                        w.WriteNumber("sampler", 0)
                        w.WriteNumber("source", 0)))
                arr "samplers" (fun () ->
                    item (fun () ->
                        w.WriteNumber("magFilter", Linear)
                        w.WriteNumber("minFilter", Linear)
                        // u wraps (the seam); v runs pole to pole in [0, 1], and repeating it
                        // would blend the south pole's row into the north pole's.
                        w.WriteNumber("wrapS", Repeat)
                        w.WriteNumber("wrapT", ClampToEdge)))
                arr "images" (fun () ->
                    item (fun () ->
                        w.WriteNumber("bufferView", viewIndex "image")
                        w.WriteString("mimeType", "image/png")))
            arr "buffers" (fun () -> item (fun () -> w.WriteNumber("byteLength", binLength)))
            arr "bufferViews" (fun () ->
                for i, (name, bytes) in List.indexed views do
                    item (fun () ->
                        w.WriteNumber("buffer", 0)
                        w.WriteNumber("byteOffset", offsets.[i])
                        w.WriteNumber("byteLength", bytes.Length)
                        match name with
                        | "indices" -> w.WriteNumber("target", ElementArrayBuffer)
                        | "image" -> ()
                        | _ -> w.WriteNumber("target", ArrayBuffer)))
            arr "accessors" (fun () ->
                for a in accessors do
                    item (fun () ->
                        w.WriteNumber("bufferView", viewIndex a)
                        w.WriteNumber("componentType", (if a = "indices" then UnsignedInt else Float))
                        w.WriteNumber("count", count)
                        w.WriteString("type", (match a with "indices" -> "SCALAR" | "TEXCOORD_0" -> "VEC2" | _ -> "VEC3"))
                        if a = "POSITION" then
                            arr "min" (fun () -> for x in mins do w.WriteNumberValue x)
                            arr "max" (fun () -> for x in maxs do w.WriteNumberValue x)))
            w.WriteEndObject()
        stream.ToArray()
    let jsonLength = pad4 json.Length
    let total = 12 + 8 + jsonLength + 8 + binLength
    use stream = new MemoryStream(total)
    do
        use w = new BinaryWriter(stream, Encoding.UTF8, true)
        w.Write GlbMagic
        w.Write 2u
        w.Write(uint32 total)
        w.Write(uint32 jsonLength)
        w.Write JsonChunk
        w.Write json
        // The JSON chunk is padded with spaces, the binary one with zeros (the spec's choice).
        for _ in json.Length .. jsonLength - 1 do
            w.Write ' 'B
        w.Write(uint32 binLength)
        w.Write BinChunk
        for i, (_, bytes) in List.indexed views do
            for _ in int stream.Position - (12 + 8 + jsonLength + 8) .. offsets.[i] - 1 do
                w.Write 0uy
            w.Write bytes
        for _ in int stream.Position - (12 + 8 + jsonLength + 8) .. binLength - 1 do
            w.Write 0uy
    let bytes = stream.ToArray()
    if bytes.Length <> total then failwithf "Gltf: wrote %d bytes, the header says %d" bytes.Length total
    bytes

let glbBytes (encodePng: Tensor -> byte[]) (texture: Tensor) (mesh: Mesh) =
    if texture.Dim <> 3 || texture.Size 0 <> 3 then
        invalidArg "texture" (sprintf "Gltf.glbBytes: texture must be (3, H, W), received %s" (Shape.text texture.Shape))
    let corners = unweld "Gltf.glbBytes" true mesh
    glb corners (Some(encodePng texture))

let writeGlb (path: string) (encodePng: Tensor -> byte[]) (texture: Tensor) (mesh: Mesh) =
    Files.writeBytesAtomically path (glbBytes encodePng texture mesh)

let untexturedGlbBytes (mesh: Mesh) =
    glb (unweld "Gltf.untexturedGlbBytes" false mesh) None
