module Reconstruct.Render.Renderer

open Reconstruct.Torch

let texturedComposed (settings: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (uvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    let b = verts.Shape.[0]
    let fragments = Rasterizer.rasterize settings verts faces
    let uvPerBatch = uvs.cast(verts.Dtype).unsqueeze(0).expand [ b; uvs.Shape.[0]; 2 ]
    let fragmentUv = Shading.interpolate fragments uvPerBatch faces
    let colors = Shading.sampleTexture uvImage fragmentUv
    // UNICORN blends over white inside the layers, then composites over the background.
    let rgb, alpha = Blending.layered sigma 1.0 fragments colors
    let image = Blending.composite rgb alpha background
    scope.MoveOut image, scope.MoveOut alpha

let texturedPerFaceComposed (settings: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (faceUvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    let f = faces.Shape.[0]
    let corners = Rasterizer.faceAttributes verts faces
    let cornerVerts = corners.reshape [ verts.Shape.[0]; 3 * f; 3 ]
    let cornerFaces = (Tensor.arange (3 * f)).reshape [ f; 3 ]
    let cornerUvs = (faceUvs.cast verts.Dtype).reshape [ 3 * f; 2 ]
    let image, alpha = texturedComposed settings sigma cornerVerts cornerFaces cornerUvs uvImage background
    scope.MoveOut image, scope.MoveOut alpha

let texturedPerFace (settings: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (faceUvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    let white = Array.create uvImage.Shape.[1] 1.0
    let rgb, alpha = Rasterizer.texturedLayered settings sigma white verts faces (faceUvs.cast verts.Dtype) uvImage
    let image = Blending.composite rgb alpha background
    scope.MoveOut image, scope.MoveOut alpha

let textured (settings: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (uvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    if uvs.RequiresGrad then texturedComposed settings sigma verts faces uvs uvImage background
    else
        use scope = DisposalScope.Open()
        let f = faces.Shape.[0]
        let faceUvs = ((uvs.cast verts.Dtype).indexSelect (0, faces.flatten ())).reshape [ f; 3; 2 ]
        let image, alpha = texturedPerFace settings sigma verts faces faceUvs uvImage background
        scope.MoveOut image, scope.MoveOut alpha

let hard (height: int) (width: int) (supersample: int) (verts: Tensor) (faces: Tensor) (colorsPerVertex: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    let settings =
        { RasterSettings.Defaults with
            Height = height * supersample
            Width = width * supersample
            FacesPerPixel = 1
            BlurRadius = 0.0
            PerspectiveCorrect = true }
    let fragments = Rasterizer.rasterize settings verts faces
    let colors = Shading.interpolate fragments colorsPerVertex faces
    let rgb, alpha = Blending.nearest fragments colors
    let pool (x: Tensor) =
        if supersample = 1 then x
        else Functional.avgPool2d supersample supersample 0 x
    let rgbSmall, alphaSmall = pool rgb, pool alpha
    // Pooling premultiplied colour keeps edges right when composited.
    let image = rgbSmall + (1.0 - alphaSmall) * background
    scope.MoveOut image, scope.MoveOut alphaSmall

let silhouettes (settings: SoftSettings) (faceVertices: Tensor) =
    use scope = DisposalScope.Open()
    let out = Rasterizer.softRasterize settings faceVertices None [||]
    scope.MoveOut out
