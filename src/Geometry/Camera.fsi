namespace Reconstruct.Geometry

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

    /// A camera of field of view `fovDegrees` (in (0, 180) degrees) for a width × height
    /// pixel image; fails with one line naming the argument otherwise.
    val perspective: fovDegrees: float -> width: int -> height: int -> Perspective

    /// A square image of `size` pixels.
    val square: fovDegrees: float -> size: int -> Perspective

    /// Focal lengths (fx, fy) in NDC units per unit of X/Z.
    val focalNdc: camera: Perspective -> float * float

    /// The 3×3 pixel intrinsics K (float64): pixel = K · X_cam / Z, in the continuous pixel
    /// coordinates above.
    val intrinsics: camera: Perspective -> Tensor

    /// A pose without scale. rotation: (B, 3, 3); translation: (B, 3).
    val pose: rotation: Tensor -> translation: Tensor -> Pose

    /// The pose with the anisotropic object scale `scale` (B, 3).
    val withScale: scale: Tensor -> pose: Pose -> Pose

    /// The look-at pose of a camera orbiting the origin (Rotation.fromEuler): rotation from
    /// azimuth, elevation, roll (B,) radians and translation (0, 0, distance). distance: (B,).
    val orbit: azimuth: Tensor -> elevation: Tensor -> roll: Tensor -> distance: Tensor -> Pose

    /// X_cam = R (s ⊙ X) + t. points: (B, N, 3) object frame -> (B, N, 3) camera frame.
    val objectToCamera: pose: Pose -> points: Tensor -> Tensor

    /// Inverse of `objectToCamera`: X = (Rᵀ (X_cam - t)) / s. (B, N, 3) -> (B, N, 3).
    val cameraToObject: pose: Pose -> points: Tensor -> Tensor

    /// Perspective projection of camera-frame points (..., 3) to (x_ndc, y_ndc, Z) (..., 3),
    /// keeping the view depth Z as the third coordinate.
    val cameraToNdc: camera: Perspective -> points: Tensor -> Tensor

    /// Inverse of `cameraToNdc`: (x_ndc, y_ndc, Z) (..., 3) to camera-frame points (..., 3).
    val ndcToCamera: camera: Perspective -> ndc: Tensor -> Tensor

    /// NDC (x, y) (..., 2) to continuous pixel coordinates (x right, y down) (..., 2).
    val ndcToPixel: camera: Perspective -> xy: Tensor -> Tensor

    /// Continuous pixel coordinates (..., 2) to NDC (x, y) (..., 2).
    val pixelToNdc: camera: Perspective -> xy: Tensor -> Tensor

    /// NDC (x, y) of every pixel centre: (H, W, 2), [i, j] = ((2j + 1)/W - 1, (2i + 1)/H - 1).
    val pixelCentres: camera: Perspective -> dtype: Dtype -> Tensor

    /// Object points (B, N, 3) to (pixel x, pixel y, depth Z) (B, N, 3).
    val project: camera: Perspective -> pose: Pose -> points: Tensor -> Tensor

    /// Object points (B, N, 3) to NDC (x, y, depth Z) (B, N, 3), what a rasterizer consumes.
    val projectNdc: camera: Perspective -> pose: Pose -> points: Tensor -> Tensor

    /// Inverse of `project`: (pixel x, pixel y, depth Z) (B, N, 3) to object points (B, N, 3).
    val unproject: camera: Perspective -> pose: Pose -> pixelDepth: Tensor -> Tensor
