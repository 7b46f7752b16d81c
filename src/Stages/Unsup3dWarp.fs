module Reconstruct.Stages.Unsup3dWarp

open Reconstruct.Torch
open Reconstruct.Render

let gridFaces (size: int) =
    if size < 2 then invalidArg "size" (sprintf "Unsup3dWarp.gridFaces: size must be >= 2, received %d" size)
    let cells = (size - 1) * (size - 1)
    let data = Array.zeroCreate (2 * cells * 3)
    for k in 0 .. cells - 1 do
        let v = int64 ((k / (size - 1)) * size + k % (size - 1))
        let s = int64 size
        let first, second = 3 * k, 3 * (cells + k)
        data.[first] <- v
        data.[first + 1] <- v + s
        data.[first + 2] <- v + 1L
        data.[second] <- v + 1L
        data.[second + 1] <- v + s
        data.[second + 2] <- v + s + 1L
    Tensor.ofArray (data, [ 2 * cells; 3 ])

type Settings =
    { Focal: float
      Supersample: int
      Near: float
      Far: float }

    static member Faces =
        { Focal = Unsup3d.focalLength Unsup3d.FovDegrees Unsup3d.ImageSize
          Supersample = 2
          Near = 0.8
          Far = 1.2 }

type Warped = { Image: Tensor; ViewDepth: Tensor; Mask: Tensor }

let private requireSettings (fn: string) (s: Settings) =
    if not (s.Focal > 0.0 && System.Double.IsFinite s.Focal) then
        invalidArg "settings" (sprintf "%s: settings.Focal must be a positive number of pixels, received %g" fn s.Focal)
    if s.Supersample < 1 then
        invalidArg "settings" (sprintf "%s: settings.Supersample must be >= 1, received %d" fn s.Supersample)
    if not (s.Near > 0.0 && s.Near < s.Far && System.Double.IsFinite s.Far) then
        invalidArg "settings" (sprintf "%s: settings need 0 < Near < Far < infinity, received Near %g, Far %g" fn s.Near s.Far)

let private isFloat (t: Tensor) = t.Dtype = Float32 || t.Dtype = Float64

let private requirePoints (fn: string) (points: Tensor) =
    if points.Dim <> 4 || points.Size 1 <> points.Size 2 || points.Size 1 < 2 || points.Size 3 <> 3 || not (isFloat points) then
        invalidArg "points" (sprintf "%s: points must be (B, S, S, 3) float32/float64 with S >= 2, received %s %s" fn (Shape.text points.Shape) (Dtype.name points.Dtype))

let private requireDepth (fn: string) (name: string) (depth: Tensor) =
    if depth.Dim <> 3 || depth.Size 1 <> depth.Size 2 || depth.Size 1 < 2 || not (isFloat depth) then
        invalidArg name (sprintf "%s: %s must be (B, S, S) float32/float64 with S >= 2, received %s %s" fn name (Shape.text depth.Shape) (Dtype.name depth.Dtype))

let private requireView (fn: string) (batch: int) (view: Unsup3d.View) =
    for t in [ view.Angles; view.Translation ] do
        if t.Dim <> 2 || t.Size 0 <> batch || t.Size 1 <> 3 then
            invalidArg "view" (sprintf "%s: view.Angles and view.Translation must be (%d, 3), received %s and %s" fn batch (Shape.text view.Angles.Shape) (Shape.text view.Translation.Shape))

// The rasterizer's NDC of an S×S image puts pixel j's centre at (2j + 1)/S − 1, and the
// camera puts it at u = j, so x_ndc = (2u + 1)/S − 1 with u = f·x/z + (S − 1)/2, which is
// x_ndc = (2f/S)·x/z: the principal point lands on NDC 0. At S·s subpixels per side the same
// NDC holds, and subpixel j′'s centre (2j′ + 1)/(sS) − 1 sits at u = (2j′ + 1)/(2s) − 1/2:
// j ∓ 1/4 for the two subpixels of pixel j at s = 2, so pooling them centres on u = j.
let private ndcScale (settings: Settings) (size: int) = 2.0 * settings.Focal / float size

/// (B, S, S, 3) camera points -> (B, V, 3) [x_ndc, y_ndc, z].
let private projected (settings: Settings) (points: Tensor) =
    let size = points.Size 1
    let verts = points.reshape [ points.Size 0; size * size; 3 ]
    let z = verts.select (2, 2)
    let scale = ndcScale settings size
    Tensor.stack ([ verts.select (2, 0) / z * scale; verts.select (2, 1) / z * scale; z ], 2)

/// Faces with a vertex this close are dropped by the rasterizer; well before any depth the
/// clamp keeps, and far enough from 0 that x/z stays finite.
let private zNear (settings: Settings) = 0.1 * settings.Near

/// NDC distance outside a face within which a subpixel still takes it. Without it a subpixel
/// centre exactly on a shared edge can fall outside both faces by rounding: under the identity
/// view every grid diagonal passes through the subpixel centres at (j + 3/4, i + 1/4) and
/// (j + 1/4, i + 3/4), and nearly half of those were holes. 1e-4 is 0.6% of a subpixel at 128 px,
/// far above float32's rounding of the edge functions (~1e-6) and far below anything the
/// pooled depth could show.
let private edgeSlack = 1e-4

let faceIndex (settings: Settings) (points: Tensor) =
    requireSettings "Unsup3dWarp.faceIndex" settings
    requirePoints "Unsup3dWarp.faceIndex" points
    let side = points.Size 1 * settings.Supersample
    Scoped.run (fun () ->
        use _ = Autograd.noGrad ()
        let raster =
            { RasterSettings.Defaults with
                Height = side
                Width = side
                FacesPerPixel = 1
                BlurRadius = edgeSlack * edgeSlack
                // Perspective-correct so the depth test compares true depths (its Zbuf is
                // 1/Σ(λ/z)); the barycentrics themselves are not used.
                PerspectiveCorrect = true
                CullBackfaces = false
                ZNear = zNear settings }
        let fragments = Rasterizer.rasterize raster (projected settings points) (gridFaces (points.Size 1))
        fragments.PixToFace.squeeze 3)

/// |2·area| in NDC² below which a face counts as degenerate: far below a subpixel's area
/// ((2/128)² ≈ 2e-4 at 128 px), so no face that covers a subpixel centre is affected.
let private degenerateArea = 1e-12

let subpixelDepth (settings: Settings) (points: Tensor) (faces: Tensor) =
    requireSettings "Unsup3dWarp.subpixelDepth" settings
    requirePoints "Unsup3dWarp.subpixelDepth" points
    let b, size = points.Size 0, points.Size 1
    let side = size * settings.Supersample
    if faces.Shape <> [| b; side; side |] || faces.Dtype <> Int64 then
        invalidArg "faces" (sprintf "Unsup3dWarp.subpixelDepth: faces must be (%d, %d, %d) int64, received %s %s" b side side (Shape.text faces.Shape) (Dtype.name faces.Dtype))
    Scoped.run (fun () ->
        // 1/z is affine in screen space over a planar triangle, so 1/Σ(λ_k/z_k) is the plane
        // through the corners (x_ndc, y_ndc, 1/z): W = a·x + b·y + c per face, evaluated at the
        // subpixel centre. One gather of three coefficients per subpixel instead of three
        // corners' coordinates and barycentrics.
        let verts = projected settings points
        let grid = gridFaces size
        // Components as (B, F) tensors: libtorch's cross over a (B, F, 3) dimension cost
        // three times the rest of the per-face work.
        let x, y, inverseZ = verts.select (2, 0), verts.select (2, 1), (verts.select (2, 2)).reciprocal ()
        let corner (k: int) =
            let index = grid.select (1, k)
            x.indexSelect (1, index), y.indexSelect (1, index), inverseZ.indexSelect (1, index)
        let (x0, y0, w0), (x1, y1, w1), (x2, y2, w2) = corner 0, corner 1, corner 2
        let ex1, ey1, ew1 = x1 - x0, y1 - y0, w1 - w0
        let ex2, ey2, ew2 = x2 - x0, y2 - y0, w2 - w0
        // n = e1 × e2 in (x, y, 1/z); the plane n·(p − p0) = 0 solved for 1/z.
        let nx = ey1 * ew2 - ew1 * ey2
        let ny = ew1 * ex2 - ex1 * ew2
        let nz = ex1 * ey2 - ey1 * ex2
        // A degenerate face is never under a subpixel, but its coefficients still enter the
        // backward (with zero weight), where 1/nz² would turn 0·∞ into NaN.
        let nz = Tensor.where ((nz.abs ()).lt degenerateArea, nz.onesLike (), nz)
        let a, bb = -nx / nz, -ny / nz
        let c = w0 - a * x0 - bb * y0
        let covered = faces.ge 0.0
        let index = (faces.maskedFill (covered.logicalNot (), 0.0)).reshape [ b; side * side ]
        // One gather per coefficient: gathering (B, F, 3) and selecting its columns cost twice
        // as much, mostly in the selects' backward.
        let atPixel (coefficient: Tensor) = (coefficient.gather (1, index)).reshape [ b; side; side ]
        let centres = (Tensor.arange (0.0, float side, 1.0, points.Dtype) * 2.0 + 1.0) / float side - 1.0
        let w = atPixel a * centres.reshape [ 1; 1; side ] + atPixel bb * centres.reshape [ 1; side; 1 ] + atPixel c
        // Background takes 1/Far before the reciprocal, so no uncovered subpixel divides by
        // the plane of face 0 that its index was replaced with.
        (Tensor.where (covered, w, w.fullLike (1.0 / settings.Far))).reciprocal ())

let pooledDepth (settings: Settings) (depth: Tensor) =
    requireSettings "Unsup3dWarp.pooledDepth" settings
    let s = settings.Supersample
    if depth.Dim <> 3 || depth.Size 1 <> depth.Size 2 || depth.Size 1 % s <> 0 || depth.Size 1 < 2 * s || not (isFloat depth) then
        invalidArg "depth" (sprintf "Unsup3dWarp.pooledDepth: depth must be (B, S·%d, S·%d) float32/float64 with S >= 2, received %s %s" s s (Shape.text depth.Shape) (Dtype.name depth.Dtype))
    Scoped.run (fun () ->
        let pooled = if s = 1 then depth else (Functional.avgPool2d s s 0 (depth.unsqueeze 1)).squeeze 1
        pooled.clamp (settings.Near, settings.Far))

let renderDepth (settings: Settings) (points: Tensor) =
    Scoped.run (fun () -> pooledDepth settings (subpixelDepth settings points (faceIndex settings points)))

let samplingGrid (settings: Settings) (centreDepth: float) (view: Unsup3d.View) (viewDepth: Tensor) =
    requireSettings "Unsup3dWarp.samplingGrid" settings
    requireDepth "Unsup3dWarp.samplingGrid" "viewDepth" viewDepth
    requireView "Unsup3dWarp.samplingGrid" (viewDepth.Size 0) view
    let size = viewDepth.Size 1
    Scoped.run (fun () ->
        let p = Unsup3d.inverseTransformPoints centreDepth view (Unsup3d.depthToPoints settings.Focal viewDepth)
        let z = p.select (3, 2)
        // u = f·x/z + (S − 1)/2 normalised as u/(S − 1)·2 − 1 is (2f/(S − 1))·x/z.
        let scale = 2.0 * settings.Focal / float (size - 1)
        Tensor.stack ([ p.select (3, 0) / z * scale; p.select (3, 1) / z * scale ], 3))

let warp (settings: Settings) (centreDepth: float) (view: Unsup3d.View) (canonicalDepth: Tensor) (canonicalImage: Tensor) =
    requireSettings "Unsup3dWarp.warp" settings
    requireDepth "Unsup3dWarp.warp" "canonicalDepth" canonicalDepth
    let b, size = canonicalDepth.Size 0, canonicalDepth.Size 1
    if canonicalImage.Dim <> 4 || canonicalImage.Size 0 <> b || canonicalImage.Size 2 <> size || canonicalImage.Size 3 <> size
       || canonicalImage.Dtype <> canonicalDepth.Dtype then
        invalidArg "canonicalImage" (sprintf "Unsup3dWarp.warp: canonicalImage must be (%d, C, %d, %d) %s like the depth, received %s %s" b size size (Dtype.name canonicalDepth.Dtype) (Shape.text canonicalImage.Shape) (Dtype.name canonicalImage.Dtype))
    requireView "Unsup3dWarp.warp" b view
    use scope = DisposalScope.Open()
    let points = Unsup3d.transformPoints centreDepth view (Unsup3d.depthToPoints settings.Focal canonicalDepth)
    let viewDepth = renderDepth settings points
    let grid = samplingGrid settings centreDepth view viewDepth
    let image = Functional.gridSample Interpolation.Bilinear GridPadding.Zeros true grid canonicalImage
    let mask = (viewDepth.lt settings.Far).cast viewDepth.Dtype
    { Image = scope.MoveOut image; ViewDepth = scope.MoveOut viewDepth; Mask = scope.MoveOut mask }
