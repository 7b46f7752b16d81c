namespace Reconstruct.Data

open System
open System.Collections.Generic
open System.IO
open Reconstruct.Torch
open Reconstruct.Geometry

/// A model could not be turned into a textured mesh; `Message` is one line naming the
/// source and the reason (what a dataset report lists for it).
type ModelLoadException(file: string, reason: string) =
    inherit Exception(sprintf "%s: %s" file reason)
    member _.File = file
    member _.Reason = reason

/// One MTL material, as far as a diffuse-only renderer needs it.
type Material =
    { Name: string
      /// Kd, RGB in [0, 1].
      Diffuse: float32 * float32 * float32
      /// map_Kd as written (relative to the MTL file), without its options.
      Texture: string option
      /// map_Kd's -s and -o options on (u, v): the texture is looked up at uv·scale + offset.
      TextureScale: float * float
      TextureOffset: float * float
      /// d, or 1 - Tr; 1 = opaque.
      Opacity: float }

/// An OBJ file's triangles with their material groups (polygons split into fans).
type ObjModel =
    { /// V·3 values.
      Positions: float[]
      /// T·2 values (u, v) as stored: v = 0 the BOTTOM row (OBJ convention).
      TexCoords: float[]
      /// F·3 vertex indices (0-based).
      Faces: int[]
      /// F·3 texture coordinate indices, -1 where the face gives none.
      FaceTexCoords: int[]
      /// F values: index into `MaterialNames`, -1 before any `usemtl`.
      FaceMaterials: int[]
      /// Names in order of first `usemtl`.
      MaterialNames: string[]
      /// `mtllib` files, in order, as written.
      Libraries: string list
      /// Triangles of the fans with a repeated vertex, and polygons of fewer than 3 corners (no
      /// area), not included in `Faces`.
      DegenerateFaces: int }

/// How `Wavefront.load` builds a textured mesh.
type ObjLoadOptions =
    { /// Models with more triangles are refused (reported with the count).
      MaxFaces: int
      /// Textures are halved until neither side exceeds this.
      MaxTextureSize: int
      /// All textures are halved again while the atlas would exceed this on a side.
      MaxAtlasSize: int
      /// A texture's cell holds up to this many copies per axis for faces whose coordinates
      /// span several repeats (1: one copy, faces spanning more are clamped).
      MaxRepeats: int
      /// Texels of replicated border around each atlas cell.
      Padding: int
      /// Side of the patch that stands for a material without texture.
      SolidSize: int
      /// Faces of materials less opaque than this are dropped as invisible.
      MinOpacity: float }

    /// At most 200 000 triangles, textures up to 512 texels (copies included), up to 4 copies
    /// per axis, atlas up to 2048, padding 2,
    /// 4-texel colour patches, faces with d < 0.05 dropped.
    static member Defaults =
        { MaxFaces = 200_000
          MaxTextureSize = 512
          MaxAtlasSize = 2048
          MaxRepeats = 4
          Padding = 2
          SolidSize = 4
          MinOpacity = 0.05 }

/// A model loaded into atlas form, before any normalisation, and what went wrong on the way
/// without making it unusable.
type ObjLoadResult =
    { Arrays: MeshArrays
      /// One line each: missing textures (Kd used instead), undefined materials, clamped
      /// tiling faces, translucent faces drawn opaque, dropped faces.
      Warnings: string list
      /// Texture files actually used, as resolved paths.
      Textures: string list }

/// Wavefront OBJ + MTL with materials, read into a `MeshArrays` with one texture atlas.
///
/// Materials: map_Kd textures (the texture alone, Kd ignored, as when a texture replaces
/// the diffuse colour), or the Kd colour as a small solid patch. Transparency (d, Tr) is not
/// rendered: faces with opacity below `MinOpacity` are dropped, others are drawn opaque and
/// counted in a warning. A missing or undecodable texture falls back to Kd with a warning.
/// Files are read through `readFile` (a path relative to the source, '/'-separated, → bytes
/// or None), so models can come from a ZIP archive or from disk alike.
module Wavefront =

    open MeshText

    /// The line without a trailing comment ('#' at the start of a token).
    let private uncomment (line: string) =
        let mutable cut = -1
        let mutable i = 0
        while cut < 0 && i < line.Length do
            if line.[i] = '#' && (i = 0 || Char.IsWhiteSpace line.[i - 1]) then cut <- i
            i <- i + 1
        (if cut >= 0 then line.Substring(0, cut) else line).Trim()

    /// The text after the first token (names and file names may contain spaces).
    let private rest (line: string) =
        let t = line.TrimStart()
        let k = t.IndexOfAny [| ' '; '\t' |]
        if k < 0 then "" else t.Substring(k + 1).Trim()

    // ------------------------------------------------------------------ MTL

    /// Parses MTL text; `file` names it in errors. Unknown statements are ignored.
    let parseMtl (file: string) (text: string) : Material list =
        let materials = List<Material>()
        let mutable current: Material option = None
        let flush () =
            match current with
            | Some m -> materials.Add m
            | None -> ()
        let lines = text.Split('\n')
        for i in 0 .. lines.Length - 1 do
            let line = uncomment lines.[i]
            let t = tokens line
            if t.Length > 0 then
                let lineNo = i + 1
                let numbers (count: int) =
                    if t.Length - 1 < count then fail file lineNo (sprintf "%s needs %d numbers in '%s'" t.[0] count line)
                    Array.init count (fun k ->
                        match tryNumber t.[k + 1] with
                        | Some v -> v
                        | None -> fail file lineNo (sprintf "%s has a non-numeric value '%s'" t.[0] t.[k + 1]))
                let update (f: Material -> Material) =
                    match current with
                    | Some m -> current <- Some(f m)
                    | None -> fail file lineNo (sprintf "'%s' before any newmtl" t.[0])
                match t.[0].ToLowerInvariant() with
                | "newmtl" ->
                    flush ()
                    current <-
                        Some
                            { Name = rest line
                              Diffuse = (0.8f, 0.8f, 0.8f)
                              Texture = None
                              TextureScale = (1.0, 1.0)
                              TextureOffset = (0.0, 0.0)
                              Opacity = 1.0 }
                | "kd" when t.Length >= 2 && t.[1] = "spectral" || t.Length >= 2 && t.[1] = "xyz" -> ()
                | "kd" ->
                    // "Kd r" alone means grey r.
                    let v = if t.Length >= 4 then numbers 3 else Array.create 3 (numbers 1).[0]
                    let c (x: float) = float32 (Math.Clamp(x, 0.0, 1.0))
                    update (fun m -> { m with Diffuse = (c v.[0], c v.[1], c v.[2]) })
                | "d" ->
                    let v = if t.Length >= 3 && t.[1] = "-halo" then (tryNumber t.[2] |> Option.defaultValue 1.0) else (numbers 1).[0]
                    update (fun m -> { m with Opacity = Math.Clamp(v, 0.0, 1.0) })
                | "tr" -> update (fun m -> { m with Opacity = Math.Clamp(1.0 - (numbers 1).[0], 0.0, 1.0) })
                | "map_kd" ->
                    // Options first (-s u v w, -o u v w, -bm f, -clamp on, ...), then the file name.
                    let mutable k = 1
                    let mutable scale, offset = (1.0, 1.0), (0.0, 0.0)
                    while k < t.Length && t.[k].StartsWith "-" && t.[k].Length > 1 && not (Char.IsDigit t.[k].[1]) do
                        let opt = t.[k].ToLowerInvariant()
                        k <- k + 1
                        let args = List<float>()
                        let maxArgs =
                            match opt with
                            | "-o" | "-s" | "-t" -> 3
                            | "-mm" -> 2
                            | _ -> 1
                        let mutable stop = false
                        while not stop && args.Count < maxArgs && k < t.Length do
                            match tryNumber t.[k] with
                            | Some v ->
                                args.Add v
                                k <- k + 1
                            | None when opt = "-o" || opt = "-s" || opt = "-t" || opt = "-mm" -> stop <- true
                            | None ->
                                // on/off, channel letters: one word.
                                k <- k + 1
                                stop <- true
                        let pair (d: float) = (if args.Count > 0 then args.[0] else d), (if args.Count > 1 then args.[1] else d)
                        if opt = "-s" then scale <- pair 1.0
                        elif opt = "-o" then offset <- pair 0.0
                    let name = if k < t.Length then String.Join(" ", t.[k..]) else ""
                    if name = "" then fail file lineNo "map_Kd without a file name"
                    update (fun m -> { m with Texture = Some name; TextureScale = scale; TextureOffset = offset })
                | _ -> ()
        flush ()
        List.ofSeq materials

    // ------------------------------------------------------------------ OBJ

    /// Parses OBJ text with its material groups; `file` names it in errors. Lines (l) and
    /// points (p) are ignored: they are no surface. The geometry is read by
    /// `MeshText.parseObj` with `ObjRules.Tolerant`; material groups and libraries here.
    let parseObj (file: string) (text: string) : ObjModel =
        let obj = MeshText.parseObj ObjRules.Tolerant file text
        let faces = List<int>()
        let faceTex = List<int>()
        let faceMaterial = List<int>()
        let names = List<string>()
        let nameIndex = Dictionary<string, int>()
        let libraries = List<string>()
        let mutable material = -1
        let mutable degenerate = 0
        let mutable statement = 0
        // Statements apply to the polygons after them, so they are taken in file order.
        let takeStatementsBefore (polygon: int) =
            while statement < obj.Other.Length && obj.Other.[statement].PolygonsBefore <= polygon do
                let s = obj.Other.[statement]
                statement <- statement + 1
                match s.Keyword with
                | "usemtl" ->
                    let name = rest (uncomment s.Text)
                    material <-
                        match nameIndex.TryGetValue name with
                        | true, i -> i
                        | _ ->
                            names.Add name
                            nameIndex.[name] <- names.Count - 1
                            names.Count - 1
                | "mtllib" -> libraries.Add(rest (uncomment s.Text))
                | _ -> () // o, g, s, l, p and others carry nothing a surface needs.
        let polygons = obj.PolygonLine.Length
        for p in 0 .. polygons - 1 do
            takeStatementsBefore p
            let first, count = obj.PolygonStart.[p], obj.PolygonStart.[p + 1] - obj.PolygonStart.[p]
            let vs, ts = obj.CornerVertex, obj.CornerTexCoord
            // A face gives texture coordinates for all corners or none.
            let mutable withTex = 0
            for c in first .. first + count - 1 do
                if ts.[c] >= 0 then withTex <- withTex + 1
            let hasTex = withTex = count
            // Two-corner "faces" (lines written as f) have no area, like repeated corners.
            if count < 3 then degenerate <- degenerate + 1
            for j in 1 .. count - 2 do
                let a, b, c = vs.[first], vs.[first + j], vs.[first + j + 1]
                if a = b || b = c || a = c then degenerate <- degenerate + 1
                else
                    faces.Add a
                    faces.Add b
                    faces.Add c
                    faceTex.Add(if hasTex then ts.[first] else -1)
                    faceTex.Add(if hasTex then ts.[first + j] else -1)
                    faceTex.Add(if hasTex then ts.[first + j + 1] else -1)
                    faceMaterial.Add material
        takeStatementsBefore Int32.MaxValue
        { Positions = obj.Positions
          TexCoords = obj.TexCoords
          Faces = faces.ToArray()
          FaceTexCoords = faceTex.ToArray()
          FaceMaterials = faceMaterial.ToArray()
          MaterialNames = names.ToArray()
          Libraries = List.ofSeq libraries
          DegenerateFaces = degenerate }

    // ------------------------------------------------------------------ paths

    /// '/'-separated path with "." and ".." resolved; no leading slash.
    let normalisePath (path: string) =
        let parts = Stack<string>()
        for p in path.Replace('\\', '/').Split('/') do
            match p with
            | ""
            | "." -> ()
            | ".." -> if parts.Count > 0 then parts.Pop() |> ignore
            | p -> parts.Push p
        String.Join("/", parts.ToArray() |> Array.rev)

    let private directoryOf (path: string) =
        let p = normalisePath path
        let k = p.LastIndexOf '/'
        if k < 0 then "" else p.Substring(0, k)

    /// Candidates for a file named in an OBJ/MTL: relative to `dir` as written, then by its
    /// file name alone in `dir` (absolute paths from the author's disk, "C:/Users/.../x.jpg").
    let private candidates (dir: string) (name: string) =
        let n = name.Trim().Trim('"').Replace('\\', '/')
        let fileName = n.Substring(n.LastIndexOf '/' + 1)
        [ normalisePath (dir + "/" + n); normalisePath (dir + "/" + fileName) ] |> List.distinct

    let private tryRead (readFile: string -> byte[] option) (paths: string list) =
        paths |> List.tryPick (fun p -> readFile p |> Option.map (fun b -> p, b))

    // ------------------------------------------------------------------ atlas

    type private Patch =
        | TexturePatch of path: string
        | SolidPatch of float32 * float32 * float32

    /// Decodes a texture to host RGB (3·h·w), halved until it fits `maxSize`.
    let private decodeTexture (name: string) (bytes: byte[]) (maxSize: int) =
        let pixels, h, w =
            use scope = DisposalScope.Open()
            let image = Image.decode name bytes
            image.ToFloat32s(), image.Size 1, image.Size 2
        let mutable img, size = pixels, (h, w)
        while fst size > maxSize || snd size > maxSize do
            let next = Atlas.halve img size
            img <- fst next
            size <- snd next
        img, size

    /// Builds the textured mesh of the OBJ at `objPath` (a path `readFile` understands).
    /// Raises ModelLoadException for a model that cannot be used (no OBJ, parse error, no
    /// faces, too many faces); everything else becomes a warning.
    let load (options: ObjLoadOptions) (readFile: string -> byte[] option) (objPath: string) : ObjLoadResult =
        let objPath = normalisePath objPath
        let objBytes =
            match readFile objPath with
            | Some b -> b
            | None -> raise (ModelLoadException(objPath, "OBJ file not found"))
        let obj =
            try parseObj objPath (Text.Encoding.Latin1.GetString objBytes)
            with :? MeshFileException as e -> raise (ModelLoadException(objPath, e.Message))
        let warnings = List<string>()
        let dir = directoryOf objPath
        // Materials from every mtllib; a later definition of a name replaces an earlier one.
        let materials = Dictionary<string, Material * string>()
        for lib in obj.Libraries do
            match tryRead readFile (candidates dir lib) with
            | Some (path, bytes) ->
                try
                    for m in parseMtl path (Text.Encoding.Latin1.GetString bytes) do
                        materials.[m.Name] <- (m, directoryOf path)
                with :? MeshFileException as e -> warnings.Add(sprintf "material library unreadable, default grey used: %s" e.Message)
            | None -> warnings.Add(sprintf "material library '%s' not found, default grey used" lib)
        let fallback = { Name = ""; Diffuse = (0.8f, 0.8f, 0.8f); Texture = None; TextureScale = (1.0, 1.0); TextureOffset = (0.0, 0.0); Opacity = 1.0 }
        let undefined = HashSet<string>()
        let materialOf =
            obj.MaterialNames
            |> Array.map (fun name ->
                match materials.TryGetValue name with
                | true, (m, mdir) -> m, mdir
                | _ ->
                    undefined.Add name |> ignore
                    fallback, dir)
        if undefined.Count > 0 then
            warnings.Add(sprintf "material(s) %s not defined, default grey used" (String.Join(", ", undefined |> Seq.map (sprintf "'%s'"))))
        let materialAt (i: int) = if i < 0 then fallback, dir else materialOf.[i]
        // Faces kept: visible enough.
        let nf = obj.Faces.Length / 3
        let keep = Array.init nf (fun f -> (fst (materialAt obj.FaceMaterials.[f])).Opacity >= options.MinOpacity)
        let kept = keep |> Array.filter id |> Array.length
        if kept < nf then warnings.Add(sprintf "%d faces of nearly transparent materials (d < %g) dropped" (nf - kept) options.MinOpacity)
        if obj.DegenerateFaces > 0 then warnings.Add(sprintf "%d degenerate faces (repeated vertex, fewer than 3 corners) dropped" obj.DegenerateFaces)
        if kept = 0 then raise (ModelLoadException(objPath, sprintf "no visible faces (%d triangles in the file)" nf))
        if kept > options.MaxFaces then
            raise (ModelLoadException(objPath, sprintf "%d triangles, more than the limit of %d" kept options.MaxFaces))
        let translucent =
            Array.init nf (fun f -> keep.[f] && (fst (materialAt obj.FaceMaterials.[f])).Opacity < 1.0) |> Array.filter id |> Array.length
        if translucent > 0 then warnings.Add(sprintf "%d translucent faces (d < 1) drawn opaque" translucent)
        // One patch per texture file or per colour; textures that cannot be read fall back.
        let textures = Dictionary<string, (float32[] * (int * int)) option>()
        let missing = HashSet<string>()
        let patchOf (m: Material, mdir: string) =
            let colour = SolidPatch m.Diffuse
            match m.Texture with
            | None -> colour
            | Some name ->
                match tryRead readFile (candidates mdir name) with
                | None ->
                    if missing.Add name then warnings.Add(sprintf "texture '%s' of material '%s' not found, its Kd colour used" name m.Name)
                    colour
                | Some (path, bytes) ->
                    if not (textures.ContainsKey path) then
                        textures.[path] <-
                            try Some(decodeTexture path bytes options.MaxTextureSize)
                            with :? ImageFileException as e ->
                                warnings.Add(sprintf "texture '%s' of material '%s' unreadable (%s), its Kd colour used" name m.Name e.Reason)
                                None
                    if textures.[path].IsSome then TexturePatch path else colour
        let faceMaterialKey (f: int) = obj.FaceMaterials.[f]
        let usedMaterials = [| for f in 0 .. nf - 1 do if keep.[f] then yield faceMaterialKey f |] |> Array.distinct |> Array.sort
        let patchOfMaterial = Dictionary<int, Patch>()
        for i in usedMaterials do
            patchOfMaterial.[i] <- patchOf (materialAt i)
        let patches = usedMaterials |> Array.map (fun i -> patchOfMaterial.[i]) |> Array.distinct
        let patchIndex = Dictionary<Patch, int>()
        patches |> Array.iteri (fun k p -> patchIndex.[p] <- k)
        // Texture coordinates of textured faces (after -s/-o, v downwards), and how many
        // copies of its texture each cell must hold.
        let textureOf (f: int) =
            match patchOfMaterial.[faceMaterialKey f] with
            | TexturePatch path when obj.FaceTexCoords.[3 * f] >= 0 -> Some path
            | _ -> None
        let faceU = Array.zeroCreate<float> (3 * nf)
        let faceV = Array.zeroCreate<float> (3 * nf)
        let repeats = Dictionary<string, int * int>()
        let us = Array.zeroCreate<float> 3
        let vs = Array.zeroCreate<float> 3
        for f in 0 .. nf - 1 do
            if keep.[f] then
                match textureOf f with
                | Some path ->
                    let m, _ = materialAt (faceMaterialKey f)
                    let (su, sv), (ou, ov) = m.TextureScale, m.TextureOffset
                    for c in 0 .. 2 do
                        let t = obj.FaceTexCoords.[3 * f + c]
                        us.[c] <- obj.TexCoords.[2 * t] * su + ou
                        // OBJ v runs upwards; ours from the top row down.
                        vs.[c] <- 1.0 - (obj.TexCoords.[2 * t + 1] * sv + ov)
                        faceU.[3 * f + c] <- us.[c]
                        faceV.[3 * f + c] <- vs.[c]
                    let ku, kv =
                        match repeats.TryGetValue path with
                        | true, k -> k
                        | _ -> 1, 1
                    repeats.[path] <- (max ku (min options.MaxRepeats (Atlas.periodsOf us)), max kv (min options.MaxRepeats (Atlas.periodsOf vs)))
                | None -> ()
        // Base textures, halved until their repeated copies fit MaxTextureSize.
        let images = Dictionary<string, float32[] * (int * int)>()
        let repeatsOf (path: string) =
            match repeats.TryGetValue path with
            | true, k -> k
            | _ -> 1, 1
        for p in patches do
            match p with
            | TexturePatch path ->
                let ku, kv = repeatsOf path
                let mutable img, size = textures.[path].Value
                while (fst size * kv > options.MaxTextureSize || snd size * ku > options.MaxTextureSize) && (fst size > 1 || snd size > 1) do
                    let next = Atlas.halve img size
                    img <- fst next
                    size <- snd next
                images.[path] <- (img, size)
            | SolidPatch _ -> ()
        let sizeOf (p: Patch) =
            match p with
            | TexturePatch path ->
                let ku, kv = repeatsOf path
                let h, w = snd images.[path]
                kv * h, ku * w
            | SolidPatch _ -> options.SolidSize, options.SolidSize
        // Pack, halving every texture while the atlas is too large.
        let mutable packed = Atlas.pack options.Padding (patches |> Array.map sizeOf)
        let tooLarge ((_, h, w): AtlasCell[] * int * int) = h > options.MaxAtlasSize || w > options.MaxAtlasSize
        let mutable halvings = 0
        while tooLarge packed && images.Values |> Seq.exists (fun (_, (h, w)) -> h > 1 || w > 1) do
            for path in List.ofSeq images.Keys do
                let img, size = images.[path]
                images.[path] <- Atlas.halve img size
            halvings <- halvings + 1
            packed <- Atlas.pack options.Padding (patches |> Array.map sizeOf)
        if halvings > 0 then warnings.Add(sprintf "textures halved %d more time(s) to fit a %d atlas" halvings options.MaxAtlasSize)
        let cells, ah, aw = packed
        let atlas = Array.zeroCreate<float32> (3 * ah * aw)
        patches
        |> Array.iteri (fun k p ->
            let image =
                match p with
                | TexturePatch path ->
                    let img, size = images.[path]
                    Atlas.tile (repeatsOf path) img size
                | SolidPatch (r, g, b) -> Atlas.solid options.SolidSize options.SolidSize (r, g, b)
            Atlas.blit atlas (ah, aw) options.Padding cells.[k] image)
        // Faces and their atlas coordinates.
        let faces = Array.zeroCreate<int> (3 * kept)
        let uvs = Array.zeroCreate<float32> (6 * kept)
        let mutable clamped = 0
        let mutable noTexCoords = 0
        let mutable o = 0
        for f in 0 .. nf - 1 do
            if keep.[f] then
                let patch = patchOfMaterial.[faceMaterialKey f]
                let cell = cells.[patchIndex.[patch]]
                match textureOf f with
                | Some path ->
                    for c in 0 .. 2 do
                        us.[c] <- faceU.[3 * f + c]
                        vs.[c] <- faceV.[3 * f + c]
                    let ku, kv = repeatsOf path
                    let cu = Atlas.wrapAxis ku us
                    let cv = Atlas.wrapAxis kv vs
                    if cu || cv then clamped <- clamped + 1
                | None ->
                    match patch with
                    | TexturePatch _ -> noTexCoords <- noTexCoords + 1
                    | SolidPatch _ -> ()
                    for c in 0 .. 2 do
                        us.[c] <- 0.5
                        vs.[c] <- 0.5
                for c in 0 .. 2 do
                    faces.[3 * o + c] <- obj.Faces.[3 * f + c]
                    let u, v = Atlas.remap (ah, aw) cell (us.[c], vs.[c])
                    uvs.[6 * o + 2 * c] <- float32 u
                    uvs.[6 * o + 2 * c + 1] <- float32 v
                o <- o + 1
        if clamped > 0 then
            warnings.Add(sprintf "%d of %d faces span more than %d texture repeats; their coordinates were clamped" clamped kept options.MaxRepeats)
        if noTexCoords > 0 then
            warnings.Add(sprintf "%d faces of textured materials have no texture coordinates; they take the texture's centre colour" noTexCoords)
        let arrays =
            TexturedMesh.compact
                { Positions = obj.Positions |> Array.map float32
                  Faces = faces
                  FaceUVs = uvs
                  Atlas = atlas
                  AtlasHeight = ah
                  AtlasWidth = aw }
        { Arrays = arrays; Warnings = List.ofSeq warnings; Textures = images.Keys |> Seq.sort |> List.ofSeq }

    /// `readFile` for files on disk under `root` (case-sensitive, as the file system is).
    let diskReader (root: string) : string -> byte[] option =
        fun (path: string) ->
            let full = Path.Combine(root, path)
            if File.Exists full then Some(File.ReadAllBytes full) else None
