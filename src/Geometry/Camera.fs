namespace Reconstruct.Geometry

open System
open Reconstruct.Torch

/// A pinhole camera with square pixels. `FovDegrees` is the horizontal field of view, between
/// the left and right image edges (for the square images the methods use, also the vertical).
type Perspective =
    { FovDegrees: float
      Width: int
      Height: int }

/// Object-to-camera transform X_cam = R (s ⊙ X_obj) + t, OpenCV camera frame (x right,
/// y down, z forward).
type Pose =
    { /// (B, 3, 3) rotation.
      Rotation: Tensor
      /// (B, 3) translation (the object origin in the camera frame).
      Translation: Tensor
      /// (B, 3) anisotropic scale of the object frame; None = 1.
      Scale: Tensor option }

/// The one place that converts between object, camera, normalized device and pixel
/// coordinates. Conventions (ARCHITECTURE.md):
///   object  right-handed, +y up, +x right, +z towards the viewer at azimuth 0;
///   camera  OpenCV: x right, y down, z forward (depth), X_cam = R (s ⊙ X_obj) + t;
///   NDC     grid_sample with align_corners = false: x = -1 the left image edge, +1 the right,
///           y = -1 the top edge, +1 the bottom; x_ndc = fx·X/Z, y_ndc = fy·Y/Z with
///           fx = 1/tan(fov/2), fy = fx·W/H (square pixels);
///   pixel   continuous (x, y) = ((x_ndc + 1)·W/2, (y_ndc + 1)·H/2); pixel (i, j) (row i,
///           column j) covers [j, j+1) × [i, i+1) and has its centre at (j + 0.5, i + 0.5).
/// Points at depth Z ≤ 0 are behind the camera and project to meaningless values; the
/// renderer clips them (near plane).
module Camera =

    let perspective (fovDegrees: float) (width: int) (height: int) =
        if not (fovDegrees > 0.0 && fovDegrees < 180.0) then
            invalidArg "fovDegrees" (sprintf "Camera.perspective: field of view must be in (0, 180) degrees, received %g" fovDegrees)
        if width <= 0 || height <= 0 then
            invalidArg "width" (sprintf "Camera.perspective: image size must be positive, received %dx%d" width height)
        { FovDegrees = fovDegrees; Width = width; Height = height }

    /// A square image of `size` pixels.
    let square (fovDegrees: float) (size: int) = perspective fovDegrees size size

    /// Focal lengths (fx, fy) in NDC units per unit of X/Z.
    let focalNdc (camera: Perspective) =
        let fx = 1.0 / Math.Tan(Rotation.radians camera.FovDegrees / 2.0)
        fx, fx * float camera.Width / float camera.Height

    /// The 3×3 pixel intrinsics K (float64): pixel = K · X_cam / Z, in the continuous pixel
    /// coordinates above.
    let intrinsics (camera: Perspective) =
        let fx, fy = focalNdc camera
        let w, h = float camera.Width, float camera.Height
        Tensor.ofArray ([| fx * w / 2.0; 0.0; w / 2.0; 0.0; fy * h / 2.0; h / 2.0; 0.0; 0.0; 1.0 |], [ 3; 3 ])

    // ------------------------------------------------------------------ poses

    let pose (rotation: Tensor) (translation: Tensor) =
        Shape.expect "Camera.pose" "rotation" rotation.Shape [ 3 ] [ 3; 3 ]
        Shape.expect "Camera.pose" "translation" translation.Shape [ 2 ] [ 3 ]
        { Rotation = rotation; Translation = translation; Scale = None }

    let withScale (scale: Tensor) (pose: Pose) =
        Shape.expect "Camera.withScale" "scale" scale.Shape [ 2 ] [ 3 ]
        { pose with Scale = Some scale }

    /// The look-at pose of a camera orbiting the origin (Rotation.fromEuler): rotation from
    /// azimuth, elevation, roll (B,) radians and translation (0, 0, distance). distance: (B,).
    let orbit (azimuth: Tensor) (elevation: Tensor) (roll: Tensor) (distance: Tensor) =
        use scope = DisposalScope.Open()
        let r = Rotation.fromEuler azimuth elevation roll
        let z = distance.zerosLike ()
        let t = Tensor.stack ([ z; z; distance ], -1)
        { Rotation = scope.MoveOut r; Translation = scope.MoveOut t; Scale = None }

    let private checkPoints (fn: string) (points: Tensor) = Shape.expect fn "points" points.Shape [ 3 ] [ 3 ]

    /// X_cam = R (s ⊙ X) + t. points: (B, N, 3) object frame -> (B, N, 3) camera frame.
    let objectToCamera (pose: Pose) (points: Tensor) =
        checkPoints "Camera.objectToCamera" points
        Scoped.run (fun () ->
            let scaled = match pose.Scale with Some s -> points * s.unsqueeze 1 | None -> points
            scaled.matmul pose.Rotation.mT + pose.Translation.unsqueeze 1)

    /// Inverse of `objectToCamera`: X = (Rᵀ (X_cam - t)) / s. (B, N, 3) -> (B, N, 3).
    let cameraToObject (pose: Pose) (points: Tensor) =
        checkPoints "Camera.cameraToObject" points
        Scoped.run (fun () ->
            let unrotated = (points - pose.Translation.unsqueeze 1).matmul pose.Rotation
            match pose.Scale with Some s -> unrotated / s.unsqueeze 1 | None -> unrotated)

    // ------------------------------------------------------------------ projection

    /// Perspective projection of camera-frame points (..., 3) to (x_ndc, y_ndc, Z) (..., 3),
    /// keeping the view depth Z as the third coordinate.
    let cameraToNdc (camera: Perspective) (points: Tensor) =
        Shape.expect "Camera.cameraToNdc" "points" points.Shape [ 1 .. 6 ] [ 3 ]
        Scoped.run (fun () ->
            let fx, fy = focalNdc camera
            let z = points.select (-1, 2)
            Tensor.stack ([ points.select (-1, 0) * fx / z; points.select (-1, 1) * fy / z; z ], -1))

    /// Inverse of `cameraToNdc`: (x_ndc, y_ndc, Z) (..., 3) to camera-frame points (..., 3).
    let ndcToCamera (camera: Perspective) (ndc: Tensor) =
        Shape.expect "Camera.ndcToCamera" "ndc" ndc.Shape [ 1 .. 6 ] [ 3 ]
        Scoped.run (fun () ->
            let fx, fy = focalNdc camera
            let z = ndc.select (-1, 2)
            Tensor.stack ([ ndc.select (-1, 0) * z / fx; ndc.select (-1, 1) * z / fy; z ], -1))

    /// NDC (x, y) (..., 2) to continuous pixel coordinates (x right, y down) (..., 2).
    let ndcToPixel (camera: Perspective) (xy: Tensor) =
        Shape.expect "Camera.ndcToPixel" "xy" xy.Shape [ 1 .. 6 ] [ 2 ]
        Scoped.run (fun () ->
            use size = (Tensor.ofArray [| float camera.Width; float camera.Height |]).cast xy.Dtype
            (xy + 1.0) * size * 0.5)

    /// Continuous pixel coordinates (..., 2) to NDC (x, y) (..., 2).
    let pixelToNdc (camera: Perspective) (xy: Tensor) =
        Shape.expect "Camera.pixelToNdc" "xy" xy.Shape [ 1 .. 6 ] [ 2 ]
        Scoped.run (fun () ->
            use size = (Tensor.ofArray [| float camera.Width; float camera.Height |]).cast xy.Dtype
            xy * 2.0 / size - 1.0)

    /// NDC (x, y) of every pixel centre: (H, W, 2), [i, j] = ((2j + 1)/W - 1, (2i + 1)/H - 1).
    let pixelCentres (camera: Perspective) (dtype: Dtype) =
        Scoped.run (fun () ->
            let w, h = camera.Width, camera.Height
            let xs = ((Tensor.arange (w, dtype)) * 2.0 + 1.0) / float w - 1.0
            let ys = ((Tensor.arange (h, dtype)) * 2.0 + 1.0) / float h - 1.0
            Tensor.stack ([ (xs.reshape [ 1; w ]).expand [ h; w ]; (ys.reshape [ h; 1 ]).expand [ h; w ] ], -1))

    /// Object points (B, N, 3) to (pixel x, pixel y, depth Z) (B, N, 3).
    let project (camera: Perspective) (pose: Pose) (points: Tensor) =
        Scoped.run (fun () ->
            let ndc = cameraToNdc camera (objectToCamera pose points)
            Tensor.cat ([ ndcToPixel camera (ndc.narrow (-1, 0, 2)); ndc.narrow (-1, 2, 1) ], -1))

    /// Object points (B, N, 3) to NDC (x, y, depth Z) (B, N, 3), what a rasterizer consumes.
    let projectNdc (camera: Perspective) (pose: Pose) (points: Tensor) =
        Scoped.run (fun () -> cameraToNdc camera (objectToCamera pose points))

    /// Inverse of `project`: (pixel x, pixel y, depth Z) (B, N, 3) to object points (B, N, 3).
    let unproject (camera: Perspective) (pose: Pose) (pixelDepth: Tensor) =
        checkPoints "Camera.unproject" pixelDepth
        Scoped.run (fun () ->
            let ndcXY = pixelToNdc camera (pixelDepth.narrow (-1, 0, 2))
            let cam = ndcToCamera camera (Tensor.cat ([ ndcXY; pixelDepth.narrow (-1, 2, 1) ], -1))
            cameraToObject pose cam)
