/// The "input | reconstruction | novel views" figure of evaluation reports. One row per
/// instance: the input image, then for every method its mesh rendered in the input's camera
/// and from a few azimuths around the object. A method is any mesh in the object frame the
/// input's view places (a prediction, a reference row, later UNICORN's textured output), so
/// the figure shows each mesh where the scores compare it with the truth.
namespace Reconstruct.App

open System
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render
open Reconstruct.Data
open Reconstruct.Eval

/// How a figure mesh is coloured. Every appearance is lit as the dataset renders are
/// (DatasetRender.render: ambient 0.45 + diffuse 0.55, two-sided, light above-left of the camera).
[<RequireQualifiedAccess>]
type Appearance =
    /// Uniform grey (`ReconstructionGrid.PlainGrey`), shaded per face: what a mesh without
    /// colours (a mesh file, a reference row) looks like.
    | Plain
    /// (V, 3) float32 RGB in [0, 1], interpolated over each face, shaded per face.
    | VertexColours of colours: Tensor
    /// faceUVs: (F, 3, 2) float32, (u, v) of each face corner, v = 0 the top row (as
    /// TexturedMesh); atlas: (3, Ht, Wt) float32 RGB in [0, 1].
    | Texture of faceUVs: Tensor * atlas: Tensor

/// One mesh of a figure. Its tensors are borrowed: the figure functions never dispose them.
type FigureMesh =
    { /// (V, 3) float32, in the TRUE object frame, the one the input's `DatasetRender.View`
      /// places: a mesh predicted in its own frame with its own pose is moved there first
      /// (Alignment.toTrueObjectFrame, as ShapeEval.evaluatePosed scores it).
      Vertices: Tensor
      /// (F, 3) int64.
      Faces: Tensor
      Appearance: Appearance }

type GridOptions =
    { /// Azimuths of the novel views in degrees, relative to the input view's (elevation,
      /// roll, distance, scale and shift kept).
      NovelAzimuths: float list
      /// Pixels between cells and around the figure.
      Padding: int
      /// Extra pixels before each method's group of columns, so the groups read apart.
      GroupGap: int
      /// Grey level in [0, 1] of the padding.
      Background: float
      /// Grey level of the cells of a method that has no mesh for an instance.
      Missing: float }

    /// Novel views at +90°, +180°, +270°; 2 px padding, 6 px between groups, white, missing cells light grey.
    static member Defaults = { NovelAzimuths = [ 90.0; 180.0; 270.0 ]; Padding = 2; GroupGap = 6; Background = 1.0; Missing = 0.85 }

module FigureMesh =

    /// A batch-of-one `Mesh` (vertices (1, V, 3)) shaded plain grey; shares its tensors.
    let plain (mesh: Mesh) : FigureMesh =
        if mesh.Vertices.Dim <> 3 || mesh.Vertices.Size 0 <> 1 then
            invalidArg "mesh" (sprintf "FigureMesh.plain: mesh must be a batch of one, vertices (1, V, 3), received %s" (Shape.text mesh.Vertices.Shape))
        { Vertices = mesh.Vertices.[0]; Faces = mesh.Faces; Appearance = Appearance.Plain }

    /// A point cloud as plain grey octahedra of `radius` (object units), one per point: the
    /// renderer draws triangles, and a solid per point shades like a surface. points: (N, 3)
    /// interleaved xyz float32, N >= 1 -> vertices (6N, 3) float32 and faces (8N, 3) int64,
    /// new tensors of the current disposal scope.
    let points (radius: float) (points: float32[]) : FigureMesh =
        if isNull points || points.Length < 3 || points.Length % 3 <> 0 then
            invalidArg "points" (sprintf "FigureMesh.points: points must be non-empty interleaved xyz, received %d values" (if isNull points then 0 else points.Length))
        if not (radius > 0.0) then invalidArg "radius" (sprintf "FigureMesh.points: radius must be positive, received %g" radius)
        let n = points.Length / 3
        let r = float32 radius
        // Corners +x, -x, +y, -y, +z, -z.
        let offsets = [| r; 0.0f; 0.0f; -r; 0.0f; 0.0f; 0.0f; r; 0.0f; 0.0f; -r; 0.0f; 0.0f; 0.0f; r; 0.0f; 0.0f; -r |]
        let vertices = Array.init (18 * n) (fun k -> points.[3 * (k / 18) + k % 3] + offsets.[k % 18])
        // One face per octant, counter-clockwise seen from outside: (x, y, z) corners of the
        // octant's signs, the last two swapped when an odd number of them is negative.
        let octahedron =
            [| for sx in 0 .. 1 do
                   for sy in 0 .. 1 do
                       for sz in 0 .. 1 do
                           if (sx + sy + sz) % 2 = 0 then yield! [| sx; 2 + sy; 4 + sz |] else yield! [| sx; 4 + sz; 2 + sy |] |]
        let faces = Array.init (24 * n) (fun k -> int64 (6 * (k / 24) + octahedron.[k % 24]))
        { Vertices = Tensor.ofArray (vertices, [ 6 * n; 3 ]); Faces = Tensor.ofArray (faces, [ 8 * n; 3 ]); Appearance = Appearance.Plain }

    /// A textured model (e.g. the ground truth) with its atlas; shares its tensors.
    let ofTextured (m: TexturedMesh) : FigureMesh =
        { Vertices = m.Vertices; Faces = m.Faces; Appearance = Appearance.Texture(m.FaceUVs, m.Atlas) }

    /// A batch-of-one `Mesh` with UVs and its texture image: (3, Ht, Wt) float32, sampled as
    /// `UVMap` says (what UNICORN predicts). The (F, 3, 2) corner UVs are a new tensor of the
    /// current disposal scope.
    let textured (mesh: Mesh) (texture: Tensor) : FigureMesh =
        let m = plain mesh
        match mesh.UVs with
        | None -> invalidArg "mesh" "FigureMesh.textured: mesh has no UVs"
        | Some uv ->
            let f = mesh.Faces.Size 0
            if uv.Faces.Dim <> 2 || uv.Faces.Size 0 <> f then
                invalidArg "mesh" (sprintf "FigureMesh.textured: UV faces must be (%d, 3) like the mesh faces, received %s" f (Shape.text uv.Faces.Shape))
            let corners = Scoped.run (fun () -> (uv.Coords.indexSelect (0, uv.Faces.flatten ())).reshape [ f; 3; 2 ])
            { m with Appearance = Appearance.Texture(corners, texture) }

module ReconstructionGrid =

    /// Grey level of `Appearance.Plain` before lighting.
    [<Literal>]
    let PlainGrey = 0.75

    // DatasetRender.render's light and supersampling, so a grey mesh and the textured input read alike.
    let private light = DatasetRender.light
    let private supersample = DatasetRender.supersample

    let private shape (t: Tensor) = Shape.text t.Shape

    let private check (fn: string) (mesh: FigureMesh) =
        if mesh.Vertices.Dim <> 2 || mesh.Vertices.Size 1 <> 3 || mesh.Vertices.Size 0 < 3 then
            invalidArg "mesh" (sprintf "%s: vertices must be (V, 3) with V >= 3, received %s" fn (shape mesh.Vertices))
        if mesh.Faces.Dim <> 2 || mesh.Faces.Size 1 <> 3 || mesh.Faces.Size 0 < 1 || mesh.Faces.Dtype <> Int64 then
            invalidArg "mesh" (sprintf "%s: faces must be (F, 3) int64 with F >= 1, received %s %s" fn (shape mesh.Faces) (Dtype.name mesh.Faces.Dtype))
        let v, f = mesh.Vertices.Size 0, mesh.Faces.Size 0
        match mesh.Appearance with
        | Appearance.Plain -> ()
        | Appearance.VertexColours c ->
            if c.Shape <> [| v; 3 |] then
                invalidArg "mesh" (sprintf "%s: vertex colours must be (%d, 3) for %d vertices, received %s" fn v v (shape c))
        | Appearance.Texture (uvs, atlas) ->
            if uvs.Shape <> [| f; 3; 2 |] then
                invalidArg "mesh" (sprintf "%s: face UVs must be (%d, 3, 2) for %d faces, received %s" fn f f (shape uvs))
            if atlas.Dim <> 3 || atlas.Size 0 <> 3 then
                invalidArg "mesh" (sprintf "%s: the texture must be (3, Ht, Wt), received %s" fn (shape atlas))

    let private noInfo: ModelInfo =
        { Id = "figure"; Name = "figure"; Category = ""; SourceCategory = ""; Creator = ""; Licence = ""; Library = ""
          WidthCm = 0.0; HeightCm = 0.0; DepthCm = 0.0; Source = ""; LicenceFiles = [] }

    /// The input view, then one view per novel azimuth (degrees in [0, 360)).
    let views (options: GridOptions) (view: DatasetRender.View) : DatasetRender.View[] =
        [| yield view
           for a in options.NovelAzimuths -> { view with Azimuth = ((view.Azimuth + a) % 360.0 + 360.0) % 360.0 } |]

    /// Renders `mesh` from each view over white, `size`² pixels, with the hard 2×-supersampled
    /// renderer of the dataset: rgb (N, 3, size, size), alpha (N, 1, size, size) float32. A
    /// textured mesh goes through DatasetRender.render itself; the others are shaded per face
    /// with the same light.
    let render (size: int) (mesh: FigureMesh) (views: DatasetRender.View[]) : Tensor * Tensor =
        check "ReconstructionGrid.render" mesh
        if size < 1 then invalidArg "size" (sprintf "ReconstructionGrid.render: size must be positive, received %d" size)
        if views.Length = 0 then invalidArg "views" "ReconstructionGrid.render: no views"
        use scope = DisposalScope.Open()
        use _ = Autograd.noGrad ()
        let n = views.Length
        let white = Tensor.ones [ n; 3; size; size ]
        let rgb, alpha =
            match mesh.Appearance with
            | Appearance.Texture (uvs, atlas) ->
                let model: TexturedMesh = { Vertices = mesh.Vertices; Faces = mesh.Faces; FaceUVs = uvs; Atlas = atlas; Info = noInfo }
                DatasetRender.render size model views white
            | appearance ->
                let v, f = mesh.Vertices.Size 0, mesh.Faces.Size 0
                let colours =
                    match appearance with
                    | Appearance.VertexColours c -> c.cast Float32
                    | _ -> Tensor.full ([ v; 3 ], PlainGrey)
                let points = DatasetRender.cameraPoints views mesh.Vertices
                let ndc = Camera.cameraToNdc (Camera.square DatasetRender.fovDegrees (size * supersample)) points
                // Flat shading, two-sided: real meshes are often open or inconsistently wound, so
                // |n·l| rather than the signed cosine. Each face gets its own three vertices so
                // the renderer's per-vertex colours carry the per-face light.
                let dx, dy, dz = light.Direction
                let norm = sqrt (dx * dx + dy * dy + dz * dz)
                let towards = Tensor.ofArray ([| float32 (dx / norm); float32 (dy / norm); float32 (dz / norm) |], [ 1; 1; 3 ])
                let cosine = (Mesh.faceNormals points mesh.Faces * towards).sum(-1, true) // (N, F, 1)
                let facing = if light.TwoSided then cosine.abs () else cosine.clamp(min = 0.0)
                let shade = facing * light.Diffuse + light.Ambient
                let corners = mesh.Faces.flatten ()
                let cornerVerts = ndc.indexSelect (1, corners) // (N, 3F, 3)
                let cornerFaces = (Tensor.arange (3 * f)).reshape [ f; 3 ]
                let cornerColours = (colours.indexSelect (0, corners)).unsqueeze 0 * shade.repeatInterleave (3, 1)
                Renderer.hard size size supersample cornerVerts cornerFaces (cornerColours.clamp (0.0, 1.0)) white
        scope.MoveOut(rgb.contiguous ()), scope.MoveOut(alpha.contiguous ())

    /// One row of the figure: the input, then for each method its mesh from `views options
    /// view` (None: cells of `options.Missing` grey). input: (3, S, S) float32 (the object's
    /// image, S the cell size) -> (1 + M (1 + N), 3, S, S) float32 with M methods, N novel views.
    let row (options: GridOptions) (input: Tensor) (view: DatasetRender.View) (meshes: FigureMesh option list) : Tensor =
        if input.Dim <> 3 || input.Size 0 <> 3 || input.Size 1 <> input.Size 2 then
            invalidArg "input" (sprintf "ReconstructionGrid.row: input must be a square (3, S, S) image, received %s" (shape input))
        use scope = DisposalScope.Open()
        let size = input.Size 1
        let vs = views options view
        let cells =
            [ yield (input.cast Float32).unsqueeze 0
              for m in meshes ->
                  match m with
                  | Some mesh -> fst (render size mesh vs)
                  | None -> Tensor.full ([ vs.Length; 3; size; size ], options.Missing) ]
        scope.MoveOut(Tensor.cat (cells, 0))

    /// Figure size (height, width) for `rows` rows of `columns` cells of `size`² pixels with
    /// `methods` groups of columns after the input.
    let private layout (options: GridOptions) (rows: int) (columns: int) (methods: int) (size: int) =
        let step = size + options.Padding
        options.Padding + rows * step, options.Padding + columns * step + methods * options.GroupGap

    /// Stacks rows from `row` (all (C, 3, S, S), same C and S) top to bottom into one
    /// (3, H', W') float32 image: H' = P + R (S + P), W' = P + C (S + P) + M G with P the
    /// padding, G the group gap and M = (C - 1) / (1 + N) methods; each method's group of
    /// columns starts G pixels further right.
    let assemble (options: GridOptions) (rows: Tensor list) : Tensor =
        if options.Padding < 0 || options.GroupGap < 0 then
            invalidArg "options" (sprintf "ReconstructionGrid.assemble: Padding and GroupGap must be >= 0, received %d and %d" options.Padding options.GroupGap)
        match rows with
        | [] -> invalidArg "rows" "ReconstructionGrid.assemble: no rows"
        | first :: _ ->
            let perMethod = 1 + options.NovelAzimuths.Length
            let c = first.Size 0
            let size = first.Size 2
            if first.Dim <> 4 || first.Size 1 <> 3 || first.Size 3 <> size || (c - 1) % perMethod <> 0 then
                invalidArg "rows" (sprintf "ReconstructionGrid.assemble: a row must be (1 + M·%d, 3, S, S), received %s" perMethod (shape first))
            for r in rows do
                if r.Shape <> first.Shape then
                    invalidArg "rows" (sprintf "ReconstructionGrid.assemble: rows must all be %s like the first, received %s" (shape first) (shape r))
            let methods = (c - 1) / perMethod
            let h, w = layout options rows.Length c methods size
            use scope = DisposalScope.Open()
            use _ = Autograd.noGrad ()
            let canvas = Tensor.full ([ 3; h; w ], options.Background)
            rows
            |> List.iteri (fun i r ->
                let top = options.Padding + i * (size + options.Padding)
                for k in 0 .. c - 1 do
                    let group = if k = 0 then 0 else 1 + (k - 1) / perMethod
                    let left = options.Padding + k * (size + options.Padding) + group * options.GroupGap
                    (canvas.narrow(1, top, size).narrow (2, left, size)).copy_ (r.[k]) |> ignore)
            scope.MoveOut canvas

    /// The whole figure in one call. inputs: (B, 3, S, S) float32; views: the view of each
    /// input; methods: per method, B meshes (None where it has none) -> (3, H', W') float32
    /// (see `assemble`).
    let figure (options: GridOptions) (inputs: Tensor) (views: DatasetRender.View[]) (methods: FigureMesh option[] list) : Tensor =
        if inputs.Dim <> 4 then invalidArg "inputs" (sprintf "ReconstructionGrid.figure: inputs must be (B, 3, S, S), received %s" (shape inputs))
        let b = inputs.Size 0
        if views.Length <> b then invalidArg "views" (sprintf "ReconstructionGrid.figure: %d views for %d inputs" views.Length b)
        methods
        |> List.iteri (fun k m ->
            if m.Length <> b then invalidArg "methods" (sprintf "ReconstructionGrid.figure: method %d has %d meshes for %d inputs" k m.Length b))
        use scope = DisposalScope.Open()
        let rows = [ for i in 0 .. b - 1 -> row options inputs.[i] views.[i] (methods |> List.map (fun m -> m.[i])) ]
        scope.MoveOut(assemble options rows)

    /// A Markdown legend of a figure: image link, columns, and the instance of each row.
    let legend (options: GridOptions) (imageFile: string) (title: string) (methods: string list) (instances: string list) =
        let sb = Text.StringBuilder()
        let line (s: string) = sb.Append(s).Append('\n') |> ignore
        line ("# " + title)
        line ""
        line (sprintf "![%s](%s)" title imageFile)
        line ""
        let novel = options.NovelAzimuths |> List.map (fun a -> sprintf "%+g°" a) |> String.concat ", "
        line (sprintf "Columns: the input, then per method its mesh in the input's camera and from azimuths %s around the object:" novel)
        line ""
        for m in methods do line (sprintf "- %s" m)
        line ""
        line "Rows, top to bottom:"
        line ""
        instances |> List.iteri (fun i id -> line (sprintf "%d. %s" (i + 1) id))
        sb.ToString()
