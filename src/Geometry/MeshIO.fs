namespace Reconstruct.Geometry

open System
open System.Buffers.Binary
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Text
open Reconstruct.Torch

type MeshFileException(file: string, line: int, detail: string) =
    inherit Exception(if line > 0 then sprintf "%s:%d: %s" file line detail else sprintf "%s: %s" file detail)
    member _.File = file
    member _.Line = line
    member _.Detail = detail

[<RequireQualifiedAccess>]
type ObjRules =
    | Strict
    | Tolerant

type ObjStatement = { Line: int; Keyword: string; Text: string; PolygonsBefore: int }

type ObjGeometry =
    { Positions: float[]
      TexCoords: float[]
      PolygonStart: int[]
      PolygonLine: int[]
      CornerVertex: int[]
      CornerTexCoord: int[]
      Other: ObjStatement[] }

[<RequireQualifiedAccess>]
type MeshOrCloud =
    | Surface of Mesh
    | Cloud of float32[]

module MeshText =

    let fail (file: string) (line: int) (detail: string) = raise (MeshFileException(file, line, detail))

    let quote (s: string) =
        let s = s.Replace("\t", " ").Trim()
        if s.Length > 60 then "'" + s.Substring(0, 57) + "...'" else "'" + s + "'"

    let tryNumber (s: string) =
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Double.IsFinite v -> Some v
        | _ -> None

    let tokens (s: string) = s.Split([| ' '; '\t'; '\r'; '\f'; '\v' |], StringSplitOptions.RemoveEmptyEntries)

    let parseObj (rules: ObjRules) (file: string) (text: string) : ObjGeometry =
        let strict = rules = ObjRules.Strict
        let positions = List<float>()
        let texcoords = List<float>()
        let mutable normalCount = 0
        let polygonStart = List<int>([ 0 ])
        let polygonLine = List<int>()
        let cornerVertex = List<int>()
        let cornerTexCoord = List<int>()
        let other = List<ObjStatement>()
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
            let t = tokens (if hash >= 0 then line.Substring(0, hash) else line)
            if t.Length > 0 then
                let numbers (count: int) (what: string) =
                    if t.Length - 1 < count then fail file lineNo (sprintf "%s needs %d numbers, found %d in %s" what count (t.Length - 1) (quote line))
                    Array.init count (fun i ->
                        match tryNumber t.[i + 1] with
                        | Some v -> v
                        | None -> fail file lineNo (sprintf "%s has a non-numeric value %s in %s" what (quote t.[i + 1]) (quote line)))
                match t.[0] with
                | "v" -> positions.AddRange(numbers 3 "vertex")
                | "vt" ->
                    let n = min 2 (t.Length - 1)
                    if n < 1 then fail file lineNo (sprintf "texture coordinate needs at least 1 number in %s" (quote line))
                    let uv = numbers n "texture coordinate"
                    texcoords.Add uv.[0]
                    texcoords.Add(if n > 1 then uv.[1] else 0.0)
                | "vn" ->
                    if strict then numbers 3 "normal" |> ignore
                    normalCount <- normalCount + 1
                | "f" ->
                    if strict && t.Length < 4 then fail file lineNo (sprintf "face needs at least 3 corners, found %d in %s" (t.Length - 1) (quote line))
                    // Positive indices may refer forward: ranges are checked once the whole file is read.
                    let resolve (s: string) (count: int) (what: string) =
                        match Int32.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
                        | true, 0 -> fail file lineNo (sprintf "%s index 0 in %s (OBJ indices start at 1)" what (quote line))
                        | true, i when i < 0 ->
                            let r = count + i
                            if r < 0 then fail file lineNo (sprintf "relative %s index %d reaches before the first of %d in %s" what i count (quote line))
                            r
                        | true, i -> i - 1
                        | _ -> fail file lineNo (sprintf "bad %s index %s in %s" what (quote s) (quote line))
                    let first = cornerVertex.Count
                    for c in 1 .. t.Length - 1 do
                        let parts = t.[c].Split('/')
                        if parts.Length > 3 || parts.[0] = "" then fail file lineNo (sprintf "bad face corner %s in %s" (quote t.[c]) (quote line))
                        cornerVertex.Add(resolve parts.[0] (positions.Count / 3) "vertex")
                        cornerTexCoord.Add(if parts.Length >= 2 && parts.[1] <> "" then resolve parts.[1] (texcoords.Count / 2) "texture coordinate" else -1)
                        if strict && parts.Length = 3 && parts.[2] <> "" then resolve parts.[2] normalCount "normal" |> ignore
                    if strict then
                        let mutable withUV = 0
                        for c in first .. cornerTexCoord.Count - 1 do
                            if cornerTexCoord.[c] >= 0 then withUV <- withUV + 1
                        if withUV <> 0 && withUV <> cornerTexCoord.Count - first then
                            fail file lineNo (sprintf "face gives texture coordinates for some corners only in %s" (quote line))
                    polygonStart.Add cornerVertex.Count
                    polygonLine.Add lineNo
                | keyword -> other.Add { Line = lineNo; Keyword = keyword; Text = line; PolygonsBefore = polygonLine.Count }
        let nv = positions.Count / 3
        let nt = texcoords.Count / 2
        for p in 0 .. polygonLine.Count - 1 do
            for c in polygonStart.[p] .. polygonStart.[p + 1] - 1 do
                let v = cornerVertex.[c]
                if v < 0 || v >= nv then fail file polygonLine.[p] (sprintf "face uses vertex %d, but the file has %d vertices" (v + 1) nv)
            for c in polygonStart.[p] .. polygonStart.[p + 1] - 1 do
                let tc = cornerTexCoord.[c]
                if tc >= nt then fail file polygonLine.[p] (sprintf "face uses texture coordinate %d, but the file has %d" (tc + 1) nt)
        { Positions = positions.ToArray()
          TexCoords = texcoords.ToArray()
          PolygonStart = polygonStart.ToArray()
          PolygonLine = polygonLine.ToArray()
          CornerVertex = cornerVertex.ToArray()
          CornerTexCoord = cornerTexCoord.ToArray()
          Other = other.ToArray() }

module MeshIO =

    open MeshText

    type private HostMesh =
        { Vertices: float[][]
          Faces: int[][]
          /// Per-corner texture coordinates (our convention) and their indices, when complete.
          UV: (float[][] * int[][]) option }

    /// A 0-byte or random-bytes file parses to nothing (and an empty cloud is nothing to
    /// score): refused here, naming the file, rather than much later without its name.
    let private checkVertices (file: string) (m: HostMesh) =
        if m.Vertices.Length = 0 then fail file 0 "no vertices (an empty file or point cloud, or not a mesh file?)"
        match m.Vertices |> Array.tryFindIndex (Array.exists (fun x -> not (Double.IsFinite x))) with
        | Some k -> fail file 0 (sprintf "vertex %d is not finite (%s)" (k + 1) (String.Join(" ", m.Vertices.[k])))
        | None -> ()

    /// A mesh file must hold a surface.
    let private toMesh (file: string) (m: HostMesh) : Mesh =
        checkVertices file m
        if m.Faces.Length = 0 then fail file 0 (sprintf "%d vertices but no faces (a point cloud is not a mesh)" m.Vertices.Length)
        let mesh = Mesh.ofArrays m.Vertices m.Faces
        match m.UV with
        | Some (coords, faces) ->
            let c = coords |> Array.collect (fun p -> [| float32 p.[0]; float32 p.[1] |])
            mesh
            |> Mesh.withUVs
                { Coords = Tensor.ofArray (c, [ coords.Length; 2 ])
                  Faces = Tensor.ofArray (faces |> Array.collect (Array.map int64), [ faces.Length; 3 ]) }
        | None -> mesh

    let private toMeshOrCloud (file: string) (m: HostMesh) : MeshOrCloud =
        if m.Faces.Length > 0 then MeshOrCloud.Surface(toMesh file m)
        else
            checkVertices file m
            let points = m.Vertices |> Array.collect (Array.map float32)
            // A finite double can still overflow float32, which no metric could use.
            match points |> Array.tryFindIndex (Single.IsFinite >> not) with
            | Some k -> fail file 0 (sprintf "vertex %d is out of float32 range (%s)" (k / 3 + 1) (String.Join(" ", m.Vertices.[k / 3])))
            | None -> MeshOrCloud.Cloud points

    let private fan (corners: 'a[]) = Array.init (corners.Length - 2) (fun k -> [| corners.[0]; corners.[k + 1]; corners.[k + 2] |])

    // ------------------------------------------------------------------ OBJ

    let private parseObjHost (file: string) (text: string) : HostMesh =
        let obj = MeshText.parseObj ObjRules.Strict file text
        let faces = List<int[]>()
        let uvFaces = List<int[]>()
        let polygons = obj.PolygonLine.Length
        let mutable allUV = polygons > 0
        for p in 0 .. polygons - 1 do
            let first, next = obj.PolygonStart.[p], obj.PolygonStart.[p + 1]
            let ts = obj.CornerTexCoord.[first .. next - 1]
            if ts.[0] < 0 then allUV <- false
            faces.AddRange(fan obj.CornerVertex.[first .. next - 1])
            uvFaces.AddRange(fan ts)
        let uv =
            if allUV then
                let t = obj.TexCoords
                Some(Array.init (t.Length / 2) (fun i -> [| t.[2 * i]; 1.0 - t.[2 * i + 1] |]), uvFaces.ToArray())
            else None
        let p = obj.Positions
        { Vertices = Array.init (p.Length / 3) (fun i -> p.[3 * i .. 3 * i + 2]); Faces = faces.ToArray(); UV = uv }

    let parseObj (file: string) (text: string) : Mesh = toMesh file (parseObjHost file text)

    let private readFile (read: string -> 'a) (path: string) : 'a =
        try read path
        with
        | :? FileNotFoundException
        | :? DirectoryNotFoundException -> fail path 0 "file not found"
        | :? IOException as e -> fail path 0 (sprintf "cannot read: %s" e.Message)

    let readObj (path: string) = parseObj path (readFile File.ReadAllText path)

    // ------------------------------------------------------------------ OFF

    let private parseOffHost (file: string) (text: string) : HostMesh =
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
        { Vertices = vertices.ToArray(); Faces = faces.ToArray(); UV = None }

    let parseOff (file: string) (text: string) : Mesh = toMesh file (parseOffHost file text)

    let readOff (path: string) = parseOff path (readFile File.ReadAllText path)

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

    let private parsePlyHost (file: string) (bytes: byte[]) : HostMesh =
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
        { Vertices = vertices.ToArray(); Faces = faces.ToArray(); UV = uv }

    let parsePly (file: string) (bytes: byte[]) : Mesh = toMesh file (parsePlyHost file bytes)

    let readPly (path: string) = parsePly path (readFile File.ReadAllBytes path)

    let private readHost (path: string) =
        match Path.GetExtension(path).ToLowerInvariant() with
        | ".obj" -> parseObjHost path (readFile File.ReadAllText path)
        | ".off" -> parseOffHost path (readFile File.ReadAllText path)
        | ".ply" -> parsePlyHost path (readFile File.ReadAllBytes path)
        | ext -> fail path 0 (sprintf "unknown mesh extension %s (expected .obj, .off or .ply)" (quote ext))

    let read (path: string) = toMesh path (readHost path)

    let readMeshOrCloud (path: string) = toMeshOrCloud path (readHost path)

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
        Files.writeTextAtomically path (sb.ToString())

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

    let writeObj (path: string) (mesh: Mesh) =
        single "MeshIO.writeObj" mesh
        writeText path (fun sb ->
            sb.Append("# written by Reconstruct\n") |> ignore
            objBody sb mesh)

    let writeObjTexturedAs (path: string) (textureFile: string) (encodePng: Tensor -> byte[]) (texture: Tensor) (mesh: Mesh) =
        single "MeshIO.writeObjTextured" mesh
        if mesh.UVs.IsNone then invalidArg "mesh" "MeshIO.writeObjTextured: the mesh has no UVs"
        if texture.Dim <> 3 || texture.Size 0 <> 3 then
            invalidArg "texture" (sprintf "MeshIO.writeObjTextured: texture must be (3, H, W), received %s" (Shape.text texture.Shape))
        if String.IsNullOrWhiteSpace textureFile || Path.GetFileName textureFile <> textureFile then
            invalidArg "textureFile" (sprintf "MeshIO.writeObjTextured: the texture's file name must be a plain file name, received '%s'" textureFile)
        let baseName = Path.GetFileNameWithoutExtension path
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        let mtl, png = baseName + ".mtl", textureFile
        Files.writeBytesAtomically (Path.Combine(dir, png)) (encodePng texture)
        writeText (Path.Combine(dir, mtl)) (fun sb ->
            sb.Append("# written by Reconstruct\nnewmtl material0\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd ").Append(png).Append('\n') |> ignore)
        writeText path (fun sb ->
            sb.Append("# written by Reconstruct\nmtllib ").Append(mtl).Append("\nusemtl material0\n") |> ignore
            objBody sb mesh)

    let writeObjTextured (path: string) (encodePng: Tensor -> byte[]) (texture: Tensor) (mesh: Mesh) =
        writeObjTexturedAs path (Path.GetFileNameWithoutExtension path + ".png") encodePng texture mesh

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

    let writePointsPly (path: string) (points: float32[]) (colours: float32[]) =
        if isNull points || points.Length % 3 <> 0 then
            invalidArg "points" (sprintf "MeshIO.writePointsPly %s: points must be interleaved xyz (a multiple of 3 values), received %d" path (if isNull points then 0 else points.Length))
        if isNull colours || colours.Length <> points.Length then
            invalidArg "colours" (sprintf "MeshIO.writePointsPly %s: one RGB colour per point expected (%d values), received %d" path points.Length (if isNull colours then 0 else colours.Length))
        if points |> Array.exists (fun x -> not (Single.IsFinite x)) then
            invalidArg "points" (sprintf "MeshIO.writePointsPly %s: the points must be finite" path)
        let n = points.Length / 3
        let header =
            sprintf "ply\nformat binary_little_endian 1.0\ncomment written by Reconstruct\nelement vertex %d\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n" n
        let byteOf (c: float32) = byte (Math.Round(float (max 0.0f (min 1.0f c)) * 255.0))
        Files.writeAtomically path (fun stream ->
            let h = Encoding.ASCII.GetBytes header
            stream.Write(h, 0, h.Length)
            use w = new BinaryWriter(stream, Encoding.UTF8, true)
            for i in 0 .. n - 1 do
                for k in 0 .. 2 do
                    w.Write(points.[3 * i + k])
                for k in 0 .. 2 do
                    w.Write(byteOf colours.[3 * i + k]))

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
        Files.writeAtomically path (fun stream ->
            let h = Encoding.ASCII.GetBytes header
            stream.Write(h, 0, h.Length)
            // The writers leave the stream open: writeAtomically flushes it to disk after them.
            if binary then
                use w = new BinaryWriter(stream, Encoding.UTF8, true)
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
                use w = new StreamWriter(stream, UTF8Encoding(false), 1 <<< 16, true)
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
                    | None -> w.WriteLine line)
