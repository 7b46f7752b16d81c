namespace Reconstruct.Geometry

open System
open System.Buffers.Binary
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Text
open Reconstruct.Torch

/// A mesh file could not be read: `Message` is one line, "file:line: what is wrong" (for
/// binary PLY data "file: byte N: ...").
type MeshFileException(file: string, line: int, detail: string) =
    inherit Exception(if line > 0 then sprintf "%s:%d: %s" file line detail else sprintf "%s: %s" file detail)
    member _.File = file
    /// 1-based line number, 0 when the error has no line (binary data, whole-file checks).
    member _.Line = line
    member _.Detail = detail

/// Reading and writing OBJ (+ MTL + PNG), PLY (ASCII, binary little/big endian) and OFF.
///
/// Meshes read are a batch of one, vertices (1, V, 3) float32, faces (F, 3) int64; polygons
/// are split into fans (0, k, k+1). OBJ and PLY store texture v upwards (v = 0 the bottom row),
/// this framework downwards (v = 0 the top row, see UVMap), so v is flipped on the way in and
/// out. UVs are read when every face has them (OBJ `f v/vt`, PLY per-vertex u/v, s/t or
/// texture_u/texture_v, or MeshLab's per-face `texcoord` list) and are dropped otherwise.
/// Vertex normals (OBJ `vn`) are validated and ignored. Writers take a batch-of-one mesh.
module MeshIO =

    type private HostMesh =
        { Vertices: List<float[]>
          Faces: List<int[]>
          /// Per-corner texture coordinates (our convention) and their indices, when complete.
          UV: (float[][] * int[][]) option }

    let private fail (file: string) (line: int) (detail: string) = raise (MeshFileException(file, line, detail))

    /// A short, one-line rendering of offending input for error messages.
    let private quote (s: string) =
        let s = s.Replace("\t", " ").Trim()
        if s.Length > 60 then "'" + s.Substring(0, 57) + "...'" else "'" + s + "'"

    let private tryNumber (s: string) =
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Double.IsFinite v -> Some v
        | _ -> None

    let private tokens (s: string) = s.Split([| ' '; '\t'; '\r'; '\f'; '\v' |], StringSplitOptions.RemoveEmptyEntries)

    let private toMesh (m: HostMesh) : Mesh =
        let mesh = Mesh.ofArrays (m.Vertices.ToArray()) (m.Faces.ToArray())
        match m.UV with
        | Some (coords, faces) ->
            let c = coords |> Array.collect (fun p -> [| float32 p.[0]; float32 p.[1] |])
            mesh
            |> Mesh.withUVs
                { Coords = Tensor.ofArray (c, [ coords.Length; 2 ])
                  Faces = Tensor.ofArray (faces |> Array.collect (Array.map int64), [ faces.Length; 3 ]) }
        | None -> mesh

    let private fan (corners: 'a[]) = Array.init (corners.Length - 2) (fun k -> [| corners.[0]; corners.[k + 1]; corners.[k + 2] |])

    // ------------------------------------------------------------------ OBJ

    /// Parses OBJ text; `file` names it in errors.
    let parseObj (file: string) (text: string) : Mesh =
        let vertices = List<float[]>()
        let texcoords = List<float[]>()
        let mutable normalCount = 0
        // Faces as (line, corners (vertex, texcoord or -1)), resolved after the whole file so
        // positive indices may refer forward.
        let polygons = List<int * int[] * int[]>()
        let lines = text.Split('\n')
        let mutable lineNo = 0
        let mutable k = 0
        while k < lines.Length do
            lineNo <- k + 1
            // Join continuation lines ending in a backslash.
            let mutable line = lines.[k].TrimEnd('\r')
            while line.EndsWith "\\" && k + 1 < lines.Length do
                k <- k + 1
                line <- line.Substring(0, line.Length - 1) + " " + lines.[k].TrimEnd('\r')
            k <- k + 1
            let hash = line.IndexOf '#'
            let content = if hash >= 0 then line.Substring(0, hash) else line
            let t = tokens content
            if t.Length > 0 then
                let numbers (count: int) (what: string) =
                    if t.Length - 1 < count then fail file lineNo (sprintf "%s needs %d numbers, found %d in %s" what count (t.Length - 1) (quote line))
                    Array.init count (fun i ->
                        match tryNumber t.[i + 1] with
                        | Some v -> v
                        | None -> fail file lineNo (sprintf "%s has a non-numeric value %s in %s" what (quote t.[i + 1]) (quote line)))
                match t.[0] with
                | "v" -> vertices.Add(numbers 3 "vertex")
                | "vt" ->
                    let n = min 2 (t.Length - 1)
                    if n < 1 then fail file lineNo (sprintf "texture coordinate needs at least 1 number in %s" (quote line))
                    let uv = numbers n "texture coordinate"
                    texcoords.Add [| uv.[0]; (if n > 1 then uv.[1] else 0.0) |]
                | "vn" ->
                    numbers 3 "normal" |> ignore
                    normalCount <- normalCount + 1
                | "f" ->
                    if t.Length < 4 then fail file lineNo (sprintf "face needs at least 3 corners, found %d in %s" (t.Length - 1) (quote line))
                    let resolve (s: string) (count: int) (what: string) =
                        match Int32.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
                        | true, 0 -> fail file lineNo (sprintf "%s index 0 in %s (OBJ indices start at 1)" what (quote line))
                        | true, i when i < 0 ->
                            let r = count + i
                            if r < 0 then fail file lineNo (sprintf "relative %s index %d reaches before the first of %d in %s" what i count (quote line))
                            r
                        | true, i -> i - 1
                        | _ -> fail file lineNo (sprintf "bad %s index %s in %s" what (quote s) (quote line))
                    let corners = t.[1..]
                    let vs = Array.zeroCreate<int> corners.Length
                    let ts = Array.zeroCreate<int> corners.Length
                    corners
                    |> Array.iteri (fun i c ->
                        let parts = c.Split('/')
                        if parts.Length > 3 || parts.[0] = "" then fail file lineNo (sprintf "bad face corner %s in %s" (quote c) (quote line))
                        vs.[i] <- resolve parts.[0] vertices.Count "vertex"
                        ts.[i] <- (if parts.Length >= 2 && parts.[1] <> "" then resolve parts.[1] texcoords.Count "texture coordinate" else -1)
                        if parts.Length = 3 && parts.[2] <> "" then resolve parts.[2] normalCount "normal" |> ignore)
                    let withUV = ts |> Array.filter (fun x -> x >= 0) |> Array.length
                    if withUV <> 0 && withUV <> ts.Length then
                        fail file lineNo (sprintf "face gives texture coordinates for some corners only in %s" (quote line))
                    polygons.Add((lineNo, vs, ts))
                | _ -> () // o, g, s, usemtl, mtllib, l, p and others carry nothing we need.
        let nv = vertices.Count
        let faces = List<int[]>()
        let uvFaces = List<int[]>()
        let mutable allUV = polygons.Count > 0
        for line, vs, ts in polygons do
            for v in vs do
                if v < 0 || v >= nv then fail file line (sprintf "face uses vertex %d, but the file has %d vertices" (v + 1) nv)
            for tc in ts do
                if tc >= texcoords.Count then fail file line (sprintf "face uses texture coordinate %d, but the file has %d" (tc + 1) texcoords.Count)
            if ts.[0] < 0 then allUV <- false
            faces.AddRange(fan vs)
            uvFaces.AddRange(fan ts)
        let uv =
            if allUV then
                Some(texcoords.ToArray() |> Array.map (fun p -> [| p.[0]; 1.0 - p.[1] |]), uvFaces.ToArray())
            else None
        toMesh { Vertices = vertices; Faces = faces; UV = uv }

    let private readText (path: string) =
        try File.ReadAllText path
        with
        | :? FileNotFoundException
        | :? DirectoryNotFoundException -> fail path 0 "file not found"
        | :? IOException as e -> fail path 0 (sprintf "cannot read: %s" e.Message)

    /// Reads an OBJ file (v, vt, vn, f with v, v/vt, v//vn, v/vt/vn and negative indices).
    let readObj (path: string) = parseObj path (readText path)

    // ------------------------------------------------------------------ OFF

    /// Parses OFF text (also COFF/NOFF/... headers: extra per-vertex values and face colours
    /// are ignored); `file` names it in errors.
    let parseOff (file: string) (text: string) : Mesh =
        // Non-empty lines with comments removed, with their line numbers.
        let lines =
            text.Split('\n')
            |> Array.mapi (fun i l ->
                let h = l.IndexOf '#'
                i + 1, tokens (if h >= 0 then l.Substring(0, h) else l))
            |> Array.filter (fun (_, t) -> t.Length > 0)
        if lines.Length = 0 then fail file 0 "empty file, expected an OFF header"
        let headerLine, header = lines.[0]
        if not (header.[0].EndsWith "OFF") then fail file headerLine (sprintf "expected an OFF header, found %s" (quote header.[0]))
        // Counts follow the keyword on the same line or on the next one.
        let countsLine, counts, next =
            if header.Length > 1 then headerLine, header.[1..], 1
            elif lines.Length > 1 then fst lines.[1], snd lines.[1], 2
            else fail file headerLine "missing vertex and face counts"
        let count (i: int) (what: string) =
            if counts.Length <= i then fail file countsLine (sprintf "missing the %s count" what)
            match Int32.TryParse(counts.[i], NumberStyles.None, CultureInfo.InvariantCulture) with
            | true, n -> n
            | _ -> fail file countsLine (sprintf "bad %s count %s" what (quote counts.[i]))
        let nv, nf = count 0 "vertex", count 1 "face"
        if lines.Length < next + nv + nf then
            fail file (fst lines.[lines.Length - 1]) (sprintf "file ends early: header promises %d vertices and %d faces, found %d data lines" nv nf (lines.Length - next))
        let vertices = List<float[]>(nv)
        for i in 0 .. nv - 1 do
            let line, t = lines.[next + i]
            if t.Length < 3 then fail file line (sprintf "vertex needs 3 numbers, found %d" t.Length)
            vertices.Add(
                Array.init 3 (fun k ->
                    match tryNumber t.[k] with
                    | Some v -> v
                    | None -> fail file line (sprintf "vertex has a non-numeric value %s" (quote t.[k]))))
        let faces = List<int[]>(nf)
        for i in 0 .. nf - 1 do
            let line, t = lines.[next + nv + i]
            let n =
                match Int32.TryParse(t.[0], NumberStyles.None, CultureInfo.InvariantCulture) with
                | true, n when n >= 3 -> n
                | _ -> fail file line (sprintf "face must start with its corner count (at least 3), found %s" (quote t.[0]))
            if t.Length < n + 1 then fail file line (sprintf "face announces %d corners, found %d" n (t.Length - 1))
            let corners =
                Array.init n (fun k ->
                    match Int32.TryParse(t.[k + 1], NumberStyles.None, CultureInfo.InvariantCulture) with
                    | true, v when v < nv -> v
                    | true, v -> fail file line (sprintf "face uses vertex %d, but the file has %d vertices (OFF indices start at 0)" v nv)
                    | _ -> fail file line (sprintf "bad vertex index %s" (quote t.[k + 1])))
            faces.AddRange(fan corners)
        toMesh { Vertices = vertices; Faces = faces; UV = None }

    let readOff (path: string) = parseOff path (readText path)

    // ------------------------------------------------------------------ PLY

    type private PlyType =
        | I8 | U8 | I16 | U16 | I32 | U32 | F32 | F64

    type private PlyProperty =
        | Scalar of name: string * PlyType
        | ListProp of name: string * count: PlyType * item: PlyType

    type private PlyElement = { Name: string; Count: int; Properties: PlyProperty list }

    let private plyType (file: string) (line: int) (s: string) =
        match s with
        | "char" | "int8" -> I8
        | "uchar" | "uint8" -> U8
        | "short" | "int16" -> I16
        | "ushort" | "uint16" -> U16
        | "int" | "int32" -> I32
        | "uint" | "uint32" -> U32
        | "float" | "float32" -> F32
        | "double" | "float64" -> F64
        | _ -> fail file line (sprintf "unknown PLY property type %s" (quote s))

    let private plySize =
        function
        | I8 | U8 -> 1
        | I16 | U16 -> 2
        | I32 | U32 | F32 -> 4
        | F64 -> 8

    /// Parses PLY bytes (ASCII or binary); `file` names it in errors.
    let parsePly (file: string) (bytes: byte[]) : Mesh =
        // Header: ASCII lines up to and including "end_header".
        let mutable pos = 0
        let mutable lineNo = 0
        let readLine () =
            if pos >= bytes.Length then fail file lineNo "file ends inside the header (no end_header)"
            let start = pos
            while pos < bytes.Length && bytes.[pos] <> byte '\n' do
                pos <- pos + 1
            let s = Encoding.ASCII.GetString(bytes, start, pos - start).TrimEnd('\r')
            pos <- pos + 1
            lineNo <- lineNo + 1
            s
        if readLine () <> "ply" then fail file 1 "not a PLY file (first line must be 'ply')"
        let mutable format = ""
        let elements = List<PlyElement>()
        let mutable finished = false
        while not finished do
            let line = readLine ()
            let t = tokens line
            if t.Length > 0 then
                match t.[0] with
                | "format" ->
                    if t.Length < 2 then fail file lineNo (sprintf "bad format line %s" (quote line))
                    format <- t.[1]
                    if format <> "ascii" && format <> "binary_little_endian" && format <> "binary_big_endian" then
                        fail file lineNo (sprintf "unknown PLY format %s" (quote format))
                | "element" ->
                    if t.Length <> 3 then fail file lineNo (sprintf "bad element line %s" (quote line))
                    match Int32.TryParse(t.[2], NumberStyles.None, CultureInfo.InvariantCulture) with
                    | true, n -> elements.Add { Name = t.[1]; Count = n; Properties = [] }
                    | _ -> fail file lineNo (sprintf "bad element count in %s" (quote line))
                | "property" ->
                    if elements.Count = 0 then fail file lineNo "property before any element"
                    let prop =
                        if t.Length = 5 && t.[1] = "list" then ListProp(t.[4], plyType file lineNo t.[2], plyType file lineNo t.[3])
                        elif t.Length = 3 then Scalar(t.[2], plyType file lineNo t.[1])
                        else fail file lineNo (sprintf "bad property line %s" (quote line))
                    let e = elements.[elements.Count - 1]
                    elements.[elements.Count - 1] <- { e with Properties = e.Properties @ [ prop ] }
                | "end_header" -> finished <- true
                | "comment" | "obj_info" -> ()
                | _ -> fail file lineNo (sprintf "unexpected header line %s" (quote line))
        if format = "" then fail file lineNo "header has no format line"
        let headerLines = lineNo
        // The line of the last ASCII instance read (0 for binary data), for later range errors.
        let mutable lastLine = 0
        // One element instance is read as an array of property values (lists as arrays).
        let readInstance: PlyElement -> int -> obj[] =
            if format = "ascii" then
                let text = Encoding.ASCII.GetString(bytes, pos, bytes.Length - pos).Split('\n')
                let mutable next = 0
                fun element index ->
                    lastLine <- 0
                    // Skip blank lines; each instance is one line.
                    while next < text.Length && (tokens text.[next]).Length = 0 do
                        next <- next + 1
                    let line = headerLines + next + 1
                    if next >= text.Length then fail file line (sprintf "file ends before %s %d of %d" element.Name index element.Count)
                    let t = tokens text.[next]
                    next <- next + 1
                    lastLine <- line
                    let mutable k = 0
                    let take (what: string) =
                        if k >= t.Length then fail file line (sprintf "%s %d: too few values for %s in %s" element.Name index what (quote text.[next - 1]))
                        match tryNumber t.[k] with
                        | Some v ->
                            k <- k + 1
                            v
                        | None -> fail file line (sprintf "%s %d: non-numeric value %s in %s" element.Name index (quote t.[k]) (quote text.[next - 1]))
                    let values =
                        element.Properties
                        |> List.map (function
                            | Scalar (name, _) -> box (take name)
                            | ListProp (name, _, _) ->
                                let n = take name
                                if n < 0.0 || n <> Math.Floor n then fail file line (sprintf "%s %d: bad list length %g for %s" element.Name index n name)
                                box (Array.init (int n) (fun _ -> take name)))
                        |> Array.ofList
                    if k <> t.Length then fail file line (sprintf "%s %d: %d values, expected %d, in %s" element.Name index t.Length k (quote text.[next - 1]))
                    values
            else
                let little = format = "binary_little_endian"
                fun element index ->
                    let read (ty: PlyType) (what: string) : float =
                        let size = plySize ty
                        if pos + size > bytes.Length then
                            fail file 0 (sprintf "byte %d: data ends inside %s %d of %d (%s)" pos element.Name index element.Count what)
                        let s = ReadOnlySpan<byte>(bytes, pos, size)
                        pos <- pos + size
                        match ty with
                        | I8 -> float (sbyte s.[0])
                        | U8 -> float s.[0]
                        | I16 -> float (if little then BinaryPrimitives.ReadInt16LittleEndian s else BinaryPrimitives.ReadInt16BigEndian s)
                        | U16 -> float (if little then BinaryPrimitives.ReadUInt16LittleEndian s else BinaryPrimitives.ReadUInt16BigEndian s)
                        | I32 -> float (if little then BinaryPrimitives.ReadInt32LittleEndian s else BinaryPrimitives.ReadInt32BigEndian s)
                        | U32 -> float (if little then BinaryPrimitives.ReadUInt32LittleEndian s else BinaryPrimitives.ReadUInt32BigEndian s)
                        | F32 -> float (if little then BinaryPrimitives.ReadSingleLittleEndian s else BinaryPrimitives.ReadSingleBigEndian s)
                        | F64 -> if little then BinaryPrimitives.ReadDoubleLittleEndian s else BinaryPrimitives.ReadDoubleBigEndian s
                    element.Properties
                    |> List.map (function
                        | Scalar (name, ty) -> box (read ty name)
                        | ListProp (name, countType, itemType) ->
                            let n = read countType name
                            if n < 0.0 then fail file 0 (sprintf "byte %d: negative list length in %s %d" pos element.Name index)
                            box (Array.init (int n) (fun _ -> read itemType name)))
                    |> Array.ofList
        let vertices = List<float[]>()
        let vertexUV = List<float[]>()
        let faces = List<int[]>()
        let faceCorners = List<int[]>() // for per-face texcoords: the polygon's corner rows
        let cornerUV = List<float[]>()
        let mutable faceTexcoords = true
        let mutable vertexHasUV = false
        let faceLines = List<int * int>() // (line or 0, face element index) per triangle
        for element in elements do
            let names = element.Properties |> List.map (function Scalar (n, _) | ListProp (n, _, _) -> n) |> Array.ofList
            let indexOf (candidates: string list) = candidates |> List.tryPick (fun c -> Array.tryFindIndex ((=) c) names)
            match element.Name with
            | "vertex" ->
                let ix, iy, iz = indexOf [ "x" ], indexOf [ "y" ], indexOf [ "z" ]
                if ix.IsNone || iy.IsNone || iz.IsNone then fail file 0 "vertex element lacks x, y or z"
                let iu, iv = indexOf [ "u"; "s"; "texture_u" ], indexOf [ "v"; "t"; "texture_v" ]
                vertexHasUV <- iu.IsSome && iv.IsSome
                for i in 0 .. element.Count - 1 do
                    let values = readInstance element i
                    let get (k: int option) =
                        match values.[k.Value] with
                        | :? float as v -> v
                        | _ -> fail file 0 (sprintf "vertex property %s must be a scalar" names.[k.Value])
                    vertices.Add [| get ix; get iy; get iz |]
                    if vertexHasUV then vertexUV.Add [| get iu; 1.0 - get iv |]
            | "face" ->
                let fi =
                    match indexOf [ "vertex_indices"; "vertex_index" ] with
                    | Some k -> k
                    | None -> fail file 0 "face element lacks a vertex_indices list"
                let ti = indexOf [ "texcoord" ]
                for i in 0 .. element.Count - 1 do
                    let values = readInstance element i
                    let corners =
                        match values.[fi] with
                        | :? (float[]) as c -> c
                        | _ -> fail file 0 "face property vertex_indices must be a list"
                    if corners.Length < 3 then fail file 0 (sprintf "face %d has %d corners, needs at least 3" i corners.Length)
                    let c = corners |> Array.map int
                    faces.AddRange(fan c)
                    faceLines.AddRange(Array.create (c.Length - 2) (lastLine, i))
                    match ti |> Option.map (fun k -> values.[k]) with
                    | Some (:? (float[]) as tc) when tc.Length = 2 * c.Length ->
                        let first = cornerUV.Count
                        for k in 0 .. c.Length - 1 do
                            cornerUV.Add [| tc.[2 * k]; 1.0 - tc.[2 * k + 1] |]
                        faceCorners.AddRange(fan (Array.init c.Length (fun k -> first + k)))
                    | _ -> faceTexcoords <- false
            | _ ->
                for i in 0 .. element.Count - 1 do
                    readInstance element i |> ignore
        let nv = vertices.Count
        faces
        |> Seq.iteri (fun k f ->
            for v in f do
                if v < 0 || v >= nv then
                    let line, index = faceLines.[k]
                    fail file line (sprintf "face %d uses vertex %d, but the file has %d vertices" index v nv))
        let uv =
            if faces.Count > 0 && faceTexcoords then Some(cornerUV.ToArray(), faceCorners.ToArray())
            elif vertexHasUV then Some(vertexUV.ToArray(), faces.ToArray())
            else None
        toMesh { Vertices = vertices; Faces = faces; UV = uv }

    let readPly (path: string) =
        let bytes =
            try File.ReadAllBytes path
            with
            | :? FileNotFoundException
            | :? DirectoryNotFoundException -> fail path 0 "file not found"
            | :? IOException as e -> fail path 0 (sprintf "cannot read: %s" e.Message)
        parsePly path bytes

    /// Reads .obj, .off or .ply by extension (case-insensitive).
    let read (path: string) =
        match Path.GetExtension(path).ToLowerInvariant() with
        | ".obj" -> readObj path
        | ".off" -> readOff path
        | ".ply" -> readPly path
        | ext -> fail path 0 (sprintf "unknown mesh extension %s (expected .obj, .off or .ply)" (quote ext))

    // ------------------------------------------------------------------ writing

    let private single (fn: string) (mesh: Mesh) =
        if mesh.Vertices.Dim <> 3 || mesh.Vertices.Size 0 <> 1 then
            invalidArg "mesh" (sprintf "%s: needs a batch of one mesh (vertices (1, V, 3)), received %s; select one with Mesh.item" fn (Shape.text mesh.Vertices.Shape))

    /// Shortest round-trip text of each value at the tensor's precision.
    let private formatted (t: Tensor) =
        use _ = DisposalScope.Open()
        if t.Dtype = Float64 then t.ToFloat64s() |> Array.map (fun v -> v.ToString("R", CultureInfo.InvariantCulture))
        else t.ToFloat32s() |> Array.map (fun v -> v.ToString("R", CultureInfo.InvariantCulture))

    let private writeText (path: string) (build: StringBuilder -> unit) =
        let sb = StringBuilder()
        build sb
        File.WriteAllText(path, sb.ToString())

    let private objBody (sb: StringBuilder) (mesh: Mesh) =
        let v = formatted mesh.Vertices
        for i in 0 .. v.Length / 3 - 1 do
            sb.Append("v ").Append(v.[3 * i]).Append(' ').Append(v.[3 * i + 1]).Append(' ').Append(v.[3 * i + 2]).Append('\n') |> ignore
        let f = Scoped.hostInt64 mesh.Faces
        match mesh.UVs with
        | Some uv ->
            let c = Scoped.host64 uv.Coords
            for i in 0 .. c.Length / 2 - 1 do
                let u, vv = float32 c.[2 * i], float32 (1.0 - c.[2 * i + 1])
                sb.Append("vt ").Append(u.ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(vv.ToString("R", CultureInfo.InvariantCulture)).Append('\n') |> ignore
            let t = Scoped.hostInt64 uv.Faces
            for i in 0 .. f.Length / 3 - 1 do
                sb.Append('f') |> ignore
                for k in 0 .. 2 do
                    sb.Append(' ').Append(f.[3 * i + k] + 1L).Append('/').Append(t.[3 * i + k] + 1L) |> ignore
                sb.Append('\n') |> ignore
        | None ->
            for i in 0 .. f.Length / 3 - 1 do
                sb.Append("f ").Append(f.[3 * i] + 1L).Append(' ').Append(f.[3 * i + 1] + 1L).Append(' ').Append(f.[3 * i + 2] + 1L).Append('\n') |> ignore

    /// Writes a batch-of-one mesh as OBJ (with vt when it has UVs).
    let writeObj (path: string) (mesh: Mesh) =
        single "MeshIO.writeObj" mesh
        writeText path (fun sb ->
            sb.Append("# written by Reconstruct\n") |> ignore
            objBody sb mesh)

    /// Writes `path` (.obj), and beside it a .mtl and a .png with the same base name, the
    /// texture mapped through the mesh's UVs. texture: (3, Ht, Wt) float32 in [0, 1], row 0 at
    /// the top; `encodePng` turns it into PNG bytes (the image codec lives in the native
    /// library, so the caller passes it in).
    let writeObjTextured (path: string) (encodePng: Tensor -> byte[]) (texture: Tensor) (mesh: Mesh) =
        single "MeshIO.writeObjTextured" mesh
        if mesh.UVs.IsNone then invalidArg "mesh" "MeshIO.writeObjTextured: the mesh has no UVs"
        if texture.Dim <> 3 || texture.Size 0 <> 3 then
            invalidArg "texture" (sprintf "MeshIO.writeObjTextured: texture must be (3, H, W), received %s" (Shape.text texture.Shape))
        let baseName = Path.GetFileNameWithoutExtension path
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        let mtl, png = baseName + ".mtl", baseName + ".png"
        File.WriteAllBytes(Path.Combine(dir, png), encodePng texture)
        writeText (Path.Combine(dir, mtl)) (fun sb ->
            sb.Append("# written by Reconstruct\nnewmtl material0\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd ").Append(png).Append('\n') |> ignore)
        writeText path (fun sb ->
            sb.Append("# written by Reconstruct\nmtllib ").Append(mtl).Append("\nusemtl material0\n") |> ignore
            objBody sb mesh)

    /// Writes a batch-of-one mesh as OFF.
    let writeOff (path: string) (mesh: Mesh) =
        single "MeshIO.writeOff" mesh
        writeText path (fun sb ->
            let v = formatted mesh.Vertices
            let f = Scoped.hostInt64 mesh.Faces
            sb.Append("OFF\n").Append(v.Length / 3).Append(' ').Append(f.Length / 3).Append(" 0\n") |> ignore
            for i in 0 .. v.Length / 3 - 1 do
                sb.Append(v.[3 * i]).Append(' ').Append(v.[3 * i + 1]).Append(' ').Append(v.[3 * i + 2]).Append('\n') |> ignore
            for i in 0 .. f.Length / 3 - 1 do
                sb.Append("3 ").Append(f.[3 * i]).Append(' ').Append(f.[3 * i + 1]).Append(' ').Append(f.[3 * i + 2]).Append('\n') |> ignore)

    /// Writes a batch-of-one mesh as PLY, ASCII or binary little endian: vertex x y z as
    /// float (double for a float64 mesh), face vertex_indices as a uchar/int list, and UVs as
    /// MeshLab's per-face texcoord float list (6 values, v upwards).
    let writePly (path: string) (binary: bool) (mesh: Mesh) =
        single "MeshIO.writePly" mesh
        let double = mesh.Vertices.Dtype = Float64
        let v = Scoped.host64 mesh.Vertices
        let f = Scoped.hostInt64 mesh.Faces
        let nv, nf = v.Length / 3, f.Length / 3
        let tex =
            mesh.UVs
            |> Option.map (fun uv ->
                let c = Scoped.host64 uv.Coords
                let t = Scoped.hostInt64 uv.Faces
                Array.init (nf * 6) (fun k ->
                    let corner = t.[k / 2]
                    if k % 2 = 0 then float32 c.[2 * int corner] else float32 (1.0 - c.[2 * int corner + 1])))
        let header =
            let sb = StringBuilder()
            sb.Append("ply\nformat ").Append(if binary then "binary_little_endian" else "ascii").Append(" 1.0\ncomment written by Reconstruct\n") |> ignore
            let ty = if double then "double" else "float"
            sb.Append("element vertex ").Append(nv).Append('\n') |> ignore
            for a in [ "x"; "y"; "z" ] do
                sb.Append("property ").Append(ty).Append(' ').Append(a).Append('\n') |> ignore
            sb.Append("element face ").Append(nf).Append("\nproperty list uchar int vertex_indices\n") |> ignore
            if tex.IsSome then sb.Append("property list uchar float texcoord\n") |> ignore
            sb.Append("end_header\n") |> ignore
            sb.ToString()
        use stream = File.Create path
        let h = Encoding.ASCII.GetBytes header
        stream.Write(h, 0, h.Length)
        if binary then
            use w = new BinaryWriter(stream)
            // BinaryWriter is little endian on every platform.
            for k in 0 .. v.Length - 1 do
                if double then w.Write(v.[k]) else w.Write(float32 v.[k])
            for i in 0 .. nf - 1 do
                w.Write(3uy)
                for k in 0 .. 2 do
                    w.Write(int32 f.[3 * i + k])
                match tex with
                | Some t ->
                    w.Write(6uy)
                    for k in 0 .. 5 do
                        w.Write(t.[6 * i + k])
                | None -> ()
        else
            use w = new StreamWriter(stream, UTF8Encoding(false))
            w.NewLine <- "\n"
            let vs = formatted mesh.Vertices
            for i in 0 .. nv - 1 do
                w.WriteLine(vs.[3 * i] + " " + vs.[3 * i + 1] + " " + vs.[3 * i + 2])
            for i in 0 .. nf - 1 do
                let line = sprintf "3 %d %d %d" f.[3 * i] f.[3 * i + 1] f.[3 * i + 2]
                match tex with
                | Some t ->
                    let tc = Array.init 6 (fun k -> t.[6 * i + k].ToString("R", CultureInfo.InvariantCulture))
                    w.WriteLine(line + " 6 " + String.Join(" ", tc))
                | None -> w.WriteLine line
