namespace Reconstruct.Data

open System
open System.IO
open Reconstruct.Torch
open Reconstruct.Geometry

/// Who made a model, under what licence, and where it came from: what the manifests and the
/// attribution of a rendered dataset are written from.
type ModelInfo =
    { /// Unique in its source: the catalogue id ("Scopia#bed1") or "procedural/chair/<seed>/<k>".
      Id: string
      /// The English name in the catalogue ("Armchair"), or the generator's description.
      Name: string
      /// The dataset category it was selected for ("chair").
      Category: string
      /// The category its source gives it ("Living room"); "" when none.
      SourceCategory: string
      Creator: string
      /// The licence line of its library ("Creative Commons Attribution 3.0 ..."), or "generated".
      Licence: string
      /// The library it comes from ("Scopia catalog"), or "procedural".
      Library: string
      /// Real-world extent of the object in centimetres along x (width), y (height), z (depth).
      WidthCm: float
      HeightCm: float
      DepthCm: float
      /// Where the geometry came from ("Scopia.sh3f:/scopia/bed1/bed1.obj").
      Source: string
      /// Licence or attribution files shipped beside the model, as paths inside its source.
      LicenceFiles: string list }

/// Host arrays of a textured triangle mesh: what loaders and generators build before
/// `TexturedMesh.ofArrays` turns them into tensors. Same conventions as `TexturedMesh`.
type MeshArrays =
    { /// V·3 values, x y z per vertex.
      Positions: float32[]
      /// F·3 vertex indices, counter-clockwise seen from outside.
      Faces: int[]
      /// F·6 values, (u, v) for corners 0, 1, 2 of each face, in [0, 1], v = 0 the top row.
      FaceUVs: float32[]
      /// 3·H·W values, channel-major RGB in [0, 1].
      Atlas: float32[]
      AtlasHeight: int
      AtlasWidth: int }

    member m.VertexCount = m.Positions.Length / 3
    member m.FaceCount = m.Faces.Length / 3

/// A textured model as the renderer and the metrics consume it, one per object (no batch).
///
/// Texture coordinates are per face corner so that seams and the cells of different
/// materials need no duplicated vertices: the geometry keeps the source's shared vertices.
/// Every material of a model lives in ONE texture atlas (see `Atlas`), so one texture lookup
/// renders the whole model. (u, v) samples the atlas as `UVMap` does: u = 0 the left edge,
/// v = 0 the TOP row, grid_sample coordinates (2u - 1, 2v - 1) with align_corners = false.
/// Objects are normalised: +y up, front towards +z, bounding box centred at the origin and
/// its longest side exactly 1, so they fit [-0.5, 0.5]^3 (the renderer scales as it needs).
/// Dispose it (or let the disposal scope it was created in) to free its tensors.
type TexturedMesh =
    { /// (V, 3) float32.
      Vertices: Tensor
      /// (F, 3) int64, counter-clockwise seen from outside.
      Faces: Tensor
      /// (F, 3, 2) float32 in [0, 1]: (u, v) of each face corner in the atlas.
      FaceUVs: Tensor
      /// (3, Ht, Wt) float32 RGB in [0, 1].
      Atlas: Tensor
      Info: ModelInfo }

    interface IDisposable with
        member m.Dispose() =
            for t in [ m.Vertices; m.Faces; m.FaceUVs; m.Atlas ] do
                (t :> IDisposable).Dispose()

/// An image placed in an atlas: the interior texels it occupies (padding excluded).
type AtlasCell = { X: int; Y: int; Width: int; Height: int }

/// Packing several images (material textures, solid-colour patches, pattern swatches) into
/// one texture atlas, and moving texture coordinates into their cell.
///
/// Layout: shelves (rows) filled left to right with the images sorted by height, the atlas
/// width the smallest power of two that keeps the atlas at most twice as tall as wide. Each
/// cell is surrounded by `padding` texels replicating its border, so bilinear lookups near a
/// cell's edge do not bleed into the neighbour.
///
/// Tiling: a source coordinate outside [0, 1] repeats its texture. Each face is moved by one
/// integer offset per axis (the floor of its smallest coordinate), which changes nothing for
/// a repeating texture. A face then inside [0, 1] needs one copy of the texture; a face whose
/// span still crosses period boundaries needs several. A cell therefore holds the texture
/// repeated `periods` times per axis (the most any of its faces needs, up to a cap chosen by
/// the loader), and coordinates are divided by that count. Faces needing more copies than the
/// cap are clamped to the cell (counted, so reports can say how many).
[<RequireQualifiedAccess>]
module Atlas =

    let private nextPow2 (n: int) =
        let mutable p = 1
        while p < n do
            p <- p * 2
        p

    /// Places images of the given (height, width) interiors. Returns the cells (same order as
    /// `sizes`) and the atlas (height, width).
    let pack (padding: int) (sizes: (int * int)[]) : AtlasCell[] * int * int =
        if padding < 0 then invalidArg "padding" (sprintf "Atlas.pack: padding must be >= 0, received %d" padding)
        sizes
        |> Array.iteri (fun i (h, w) ->
            if h < 1 || w < 1 then invalidArg "sizes" (sprintf "Atlas.pack: image %d has size %d x %d, sizes must be positive" i h w))
        if sizes.Length = 0 then [||], 1, 1
        else
            let padded = sizes |> Array.map (fun (h, w) -> h + 2 * padding, w + 2 * padding)
            let order = Array.init sizes.Length id |> Array.sortBy (fun i -> -(fst padded.[i]), i)
            let area = padded |> Array.sumBy (fun (h, w) -> int64 h * int64 w)
            let widest = padded |> Array.map snd |> Array.max
            let shelves (width: int) =
                let cells = Array.zeroCreate<AtlasCell> sizes.Length
                let mutable x, y, rowHeight = 0, 0, 0
                for i in order do
                    let ph, pw = padded.[i]
                    if x + pw > width then
                        y <- y + rowHeight
                        x <- 0
                        rowHeight <- 0
                    cells.[i] <- { X = x + padding; Y = y + padding; Width = snd sizes.[i]; Height = fst sizes.[i] }
                    x <- x + pw
                    rowHeight <- max rowHeight ph
                cells, y + rowHeight
            let mutable width = max (nextPow2 widest) (nextPow2 (int (ceil (sqrt (float area)))))
            let mutable result = shelves width
            while snd result > 2 * width do
                width <- width * 2
                result <- shelves width
            let cells, height = result
            cells, height, width

    /// Copies `image` (3·h·w channel-major) into `atlas` (3·H·W) at `cell`, with `padding`
    /// texels of replicated border around it.
    let blit (atlas: float32[]) (atlasHeight: int, atlasWidth: int) (padding: int) (cell: AtlasCell) (image: float32[]) =
        let h, w = cell.Height, cell.Width
        if image.Length <> 3 * h * w then
            invalidArg "image" (sprintf "Atlas.blit: image has %d values, cell %d x %d needs %d" image.Length h w (3 * h * w))
        for c in 0 .. 2 do
            for y in -padding .. h + padding - 1 do
                let ay = cell.Y + y
                if ay >= 0 && ay < atlasHeight then
                    let sy = Math.Clamp(y, 0, h - 1)
                    for x in -padding .. w + padding - 1 do
                        let ax = cell.X + x
                        if ax >= 0 && ax < atlasWidth then
                            atlas.[(c * atlasHeight + ay) * atlasWidth + ax] <- image.[(c * h + sy) * w + Math.Clamp(x, 0, w - 1)]

    /// The number of texture periods one axis of a face spans once shifted by the integer
    /// floor of its smallest coordinate (1 for a face inside one copy of the texture).
    let periodsOf (values: float[]) =
        let lo = Array.min values
        let hi = Array.max values
        max 1 (int (ceil (hi - floor lo - 1e-6)))

    /// Moves one axis of a face's coordinates into a cell holding `periods` copies of its
    /// texture side by side: shifts them by the integer floor of the smallest, then divides by
    /// `periods`, so the result is in [0, 1]. A face spanning more periods than that is clamped
    /// to the last copy. Returns true when clamped.
    let wrapAxis (periods: int) (values: float[]) : bool =
        if periods < 1 then invalidArg "periods" (sprintf "Atlas.wrapAxis: periods must be >= 1, received %d" periods)
        let lo = Array.min values
        let hi = Array.max values
        let shift = floor lo
        let p = float periods
        // The tolerance keeps faces that end exactly on a period boundary unclamped.
        let clamped = hi - shift > p + 1e-6
        for k in 0 .. values.Length - 1 do
            values.[k] <- Math.Clamp((values.[k] - shift) / p, 0.0, 1.0)
        clamped

    /// An image (3·h·w) repeated `across` times horizontally and `down` times vertically.
    let tile (across: int, down: int) (image: float32[]) (h: int, w: int) =
        if across = 1 && down = 1 then image
        else
            let th, tw = h * down, w * across
            Array.init (3 * th * tw) (fun k ->
                let c = k / (th * tw)
                let y = (k / tw) % th
                let x = k % tw
                image.[(c * h + y % h) * w + x % w])

    /// (u, v) in [0, 1] of an image to (u, v) in the atlas, for the image's cell.
    let remap (atlasHeight: int, atlasWidth: int) (cell: AtlasCell) (u: float, v: float) =
        (float cell.X + u * float cell.Width) / float atlasWidth, (float cell.Y + v * float cell.Height) / float atlasHeight

    /// A (3·h·w) image of one colour.
    let solid (h: int) (w: int) (r: float32, g: float32, b: float32) =
        Array.init (3 * h * w) (fun k ->
            match k / (h * w) with
            | 0 -> r
            | 1 -> g
            | _ -> b)

    /// Halves an image (3·h·w) by averaging 2 × 2 blocks (an odd last row/column is kept
    /// as is); returns the new image and its (h, w).
    let halve (image: float32[]) (h: int, w: int) =
        let nh, nw = max 1 ((h + 1) / 2), max 1 ((w + 1) / 2)
        let out = Array.zeroCreate<float32> (3 * nh * nw)
        for c in 0 .. 2 do
            for y in 0 .. nh - 1 do
                for x in 0 .. nw - 1 do
                    let mutable s = 0.0f
                    let mutable n = 0
                    for dy in 0 .. 1 do
                        for dx in 0 .. 1 do
                            let sy, sx = 2 * y + dy, 2 * x + dx
                            if sy < h && sx < w then
                                s <- s + image.[(c * h + sy) * w + sx]
                                n <- n + 1
                    out.[(c * nh + y) * nw + x] <- s / float32 n
        out, (nh, nw)

/// Conversions, normalisation and files of `TexturedMesh`.
[<RequireQualifiedAccess>]
module TexturedMesh =

    /// Fails with a named message when the arrays are inconsistent.
    let validate (fn: string) (m: MeshArrays) =
        if m.Positions.Length % 3 <> 0 then invalidArg "arrays" (sprintf "%s: Positions has %d values, not a multiple of 3" fn m.Positions.Length)
        if m.Faces.Length % 3 <> 0 then invalidArg "arrays" (sprintf "%s: Faces has %d values, not a multiple of 3" fn m.Faces.Length)
        if m.FaceUVs.Length <> 2 * m.Faces.Length then
            invalidArg "arrays" (sprintf "%s: FaceUVs has %d values, %d faces need %d" fn m.FaceUVs.Length m.FaceCount (6 * m.FaceCount))
        if m.AtlasHeight < 1 || m.AtlasWidth < 1 || m.Atlas.Length <> 3 * m.AtlasHeight * m.AtlasWidth then
            invalidArg "arrays" (sprintf "%s: Atlas has %d values for %d x %d texels" fn m.Atlas.Length m.AtlasHeight m.AtlasWidth)
        let nv = m.VertexCount
        for k in 0 .. m.Faces.Length - 1 do
            if m.Faces.[k] < 0 || m.Faces.[k] >= nv then
                invalidArg "arrays" (sprintf "%s: face %d uses vertex %d, out of range for %d vertices" fn (k / 3) m.Faces.[k] nv)

    /// Tensors from host arrays (copied).
    let ofArrays (info: ModelInfo) (m: MeshArrays) : TexturedMesh =
        validate "TexturedMesh.ofArrays" m
        { Vertices = Tensor.ofArray (m.Positions, [ m.VertexCount; 3 ])
          Faces = Tensor.ofArray (m.Faces |> Array.map int64, [ m.FaceCount; 3 ])
          FaceUVs = Tensor.ofArray (m.FaceUVs, [ m.FaceCount; 3; 2 ])
          Atlas = Tensor.ofArray (m.Atlas, [ 3; m.AtlasHeight; m.AtlasWidth ])
          Info = info }

    /// Host arrays of the tensors.
    let toArrays (m: TexturedMesh) : MeshArrays =
        { Positions = m.Vertices.ToFloat32s()
          Faces = m.Faces.ToInt64s() |> Array.map int
          FaceUVs = m.FaceUVs.ToFloat32s()
          Atlas = m.Atlas.ToFloat32s()
          AtlasHeight = m.Atlas.Size 1
          AtlasWidth = m.Atlas.Size 2 }

    /// Axis-aligned bounds: (min x, min y, min z), (max x, max y, max z).
    let bounds (positions: float32[]) =
        if positions.Length < 3 then invalidArg "positions" "TexturedMesh.bounds: no vertices"
        let lo = Array.init 3 (fun a -> positions.[a])
        let hi = Array.copy lo
        for i in 0 .. positions.Length / 3 - 1 do
            for a in 0 .. 2 do
                let x = positions.[3 * i + a]
                if x < lo.[a] then lo.[a] <- x
                if x > hi.[a] then hi.[a] <- x
        lo, hi

    /// Positions with the bounding box centred at the origin and its longest side 1, so they
    /// fit [-0.5, 0.5]^3 and touch ±0.5 along the longest axis. Fails on a point-like mesh.
    let normalisePositions (positions: float32[]) : float32[] =
        let lo, hi = bounds positions
        let extent = Array.init 3 (fun a -> float hi.[a] - float lo.[a]) |> Array.max
        if not (extent > 0.0) || Double.IsInfinity extent then
            invalidArg "positions" (sprintf "TexturedMesh.normalise: the bounding box has no extent (%g)" extent)
        let centre = Array.init 3 (fun a -> 0.5 * (float lo.[a] + float hi.[a]))
        positions |> Array.mapi (fun k x -> float32 ((float x - centre.[k % 3]) / extent))

    /// The arrays with normalised positions (see `normalisePositions`).
    let normalise (m: MeshArrays) = { m with Positions = normalisePositions m.Positions }

    /// Drops vertices no face uses, renumbering the faces (bounds then describe the surface).
    let compact (m: MeshArrays) : MeshArrays =
        let nv = m.VertexCount
        let map = Array.create nv -1
        let mutable next = 0
        for k in 0 .. m.Faces.Length - 1 do
            let v = m.Faces.[k]
            if map.[v] < 0 then
                map.[v] <- next
                next <- next + 1
        if next = nv then m
        else
            let positions = Array.zeroCreate<float32> (3 * next)
            for v in 0 .. nv - 1 do
                if map.[v] >= 0 then Array.blit m.Positions (3 * v) positions (3 * map.[v]) 3
            { m with Positions = positions; Faces = m.Faces |> Array.map (fun v -> map.[v]) }

    /// A Geometry mesh for metrics and files: vertices (1, V, 3) float32, faces (F, 3) int64,
    /// UVs with one coordinate per face corner (Coords (3F, 2), Faces = arange(3F).reshape(F, 3)).
    let toMesh (m: TexturedMesh) : Mesh =
        let f = m.Faces.Size 0
        { Vertices = Scoped.run (fun () -> (m.Vertices.unsqueeze 0).contiguous ())
          Faces = Scoped.run (fun () -> m.Faces.clone ())
          UVs =
            Some
                { Coords = Scoped.run (fun () -> (m.FaceUVs.reshape [ 3 * f; 2 ]).contiguous ())
                  Faces = Tensor.ofArray (Array.init (3 * f) int64, [ f; 3 ]) } }

    /// Writes the ground truth as OBJ + MTL + PNG (`path` names the OBJ; the MTL and PNG get
    /// its base name). The atlas is stored as 8-bit PNG.
    let writeObj (path: string) (m: TexturedMesh) =
        let mesh = toMesh m
        try MeshIO.writeObjTextured path Image.encodePng m.Atlas mesh
        finally
            for t in [ mesh.Vertices; mesh.Faces; mesh.UVs.Value.Coords; mesh.UVs.Value.Faces ] do
                (t :> IDisposable).Dispose()

    /// Reads a model written by `writeObj` (an OBJ with UVs on every face and, beside it, the
    /// PNG of the same base name) as host arrays.
    let readObjArrays (path: string) : MeshArrays =
        use scope = DisposalScope.Open()
        let mesh = MeshIO.readObj path
        let uv =
            match mesh.UVs with
            | Some uv -> uv
            | None -> raise (MeshFileException(path, 0, "the model has no texture coordinates on some faces"))
        let png = Path.Combine(Path.GetDirectoryName(Path.GetFullPath path), Path.GetFileNameWithoutExtension path + ".png")
        let atlas = Image.load png
        let coords = uv.Coords.ToFloat32s()
        let uvFaces = uv.Faces.ToInt64s()
        { Positions = mesh.Vertices.ToFloat32s()
          Faces = mesh.Faces.ToInt64s() |> Array.map int
          FaceUVs = Array.init (2 * uvFaces.Length) (fun k -> coords.[2 * int uvFaces.[k / 2] + k % 2])
          Atlas = atlas.ToFloat32s()
          AtlasHeight = atlas.Size 1
          AtlasWidth = atlas.Size 2 }

    /// Reads a model written by `writeObj`, with the given metadata.
    let readObj (info: ModelInfo) (path: string) : TexturedMesh = ofArrays info (readObjArrays path)
