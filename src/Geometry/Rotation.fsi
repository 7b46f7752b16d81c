/// Rotations as 3×3 matrices acting on column vectors (y = R x), and their parametrisations.
/// All functions take any leading batch shape (...) and follow the input's dtype; angles are
/// radians.
///
/// Viewpoint convention (UNICORN / look-at style), used by `fromEuler` and `Camera`:
/// the camera sits on a sphere around the object at
///   C = d · (cos el · sin az, sin el, cos el · cos az)          (object frame, +y up)
/// so azimuth turns the camera about +y from +z towards +x, and elevation raises it above the
/// xz plane. It looks at the origin with +y as up; the rotation maps object coordinates to
/// the OpenCV camera frame (x right, y down, z forward), so the pose is X_cam = R X + (0, 0, d).
/// Roll turns the camera about its viewing axis: camera coordinates are multiplied by Rz(roll),
/// so a positive roll turns the image content clockwise on screen (a point on the image's +x
/// axis moves towards +y, which is down).
///   R(az, el, roll) = Rz(roll) · diag(1, -1, -1) · Rx(el) · Ry(-az)
/// At az = el = roll = 0 the camera is on +z looking down -z: object +x is image right and
/// object +y image up.
module Reconstruct.Geometry.Rotation

open Reconstruct.Torch

/// Rotation by `angle` (...) about +x, right-handed: (..., 3, 3).
val rotX: angle: Tensor -> Tensor

/// Rotation by `angle` (...) about +y, right-handed: (..., 3, 3).
val rotY: angle: Tensor -> Tensor

/// Rotation by `angle` (...) about +z, right-handed: (..., 3, 3).
val rotZ: angle: Tensor -> Tensor

/// Object-to-camera rotation of the viewpoint (azimuth, elevation, roll), each (...) radians,
/// in the convention of the module comment: (..., 3, 3).
val fromEuler: azimuth: Tensor -> elevation: Tensor -> roll: Tensor -> Tensor

/// Inverse of `fromEuler`: (azimuth, elevation, roll), each (...), with azimuth and roll in
/// (-π, π] and elevation in [-π/2, π/2]. Exact round trip for |elevation| < π/2; at the poles
/// azimuth and roll are not separable. r: (..., 3, 3).
val toEuler: r: Tensor -> Tensor * Tensor * Tensor

/// Camera centre in the object frame for a viewpoint at `distance`: (..., 3).
val cameraPosition: azimuth: Tensor -> elevation: Tensor -> distance: Tensor -> Tensor

/// The OpenCV-frame pose of a camera at `eye` looking at `at` with `up` pointing up in the
/// image: returns (R (..., 3, 3), t (..., 3)) with X_cam = R X + t. eye, at, up: (..., 3).
/// `up` must not be parallel to the viewing direction.
val lookAt: eye: Tensor -> at: Tensor -> up: Tensor -> Tensor * Tensor

/// Zhou et al. 2019 continuous 6D representation: x (..., 6) holds two 3-vectors a1, a2;
/// Gram–Schmidt gives the ROWS b1 = a1/|a1|, b2 = (a2 - (b1·a2) b1)/|..|, b3 = b1 × b2
/// (PyTorch3D's layout). Returns (..., 3, 3).
val from6d: x: Tensor -> Tensor

/// The first two rows of r, (..., 6); `from6d (to6d r) = r` for a rotation.
val to6d: r: Tensor -> Tensor

/// Unit quaternion (w, x, y, z) (..., 4), Hamilton convention, normalised first, to the
/// rotation (..., 3, 3) it applies as q v q*.
val fromQuaternion: q: Tensor -> Tensor

/// The unit quaternion (w, x, y, z) (..., 4) of a rotation (..., 3, 3), with w ≥ 0.
/// Each of the four standard formulas divides by one component; the one whose component is
/// largest is used, so there is no division by a small number anywhere on SO(3).
val toQuaternion: r: Tensor -> Tensor

/// Hamilton product a ⊗ b of quaternions (w, x, y, z) (..., 4): the rotation b then a.
val quaternionMultiply: a: Tensor -> b: Tensor -> Tensor

/// Rodrigues: rotation vector v (..., 3) (axis · angle in radians) to (..., 3, 3). Uses the
/// Taylor series of sin θ/θ and (1 - cos θ)/θ² near θ = 0 so values and gradients stay finite.
val fromAxisAngle: v: Tensor -> Tensor

/// Rotation vector (..., 3) of r (..., 3, 3), angle in [0, π] (at π the axis sign is arbitrary).
val toAxisAngle: r: Tensor -> Tensor

/// Geodesic distance (radians, in [0, π]) between rotations a and b (..., 3, 3): the angle of
/// aᵀb, as atan2(‖skew‖, trace - 1), which stays accurate near 0 and π (unlike acos).
val geodesicAngle: a: Tensor -> b: Tensor -> Tensor

/// `count` rotations uniform on SO(3) (normalised Gaussian quaternions): (count, 3, 3) in `dtype`.
val random: generator: Generator -> count: int -> dtype: Dtype -> Tensor

/// Degrees to radians (angles are radians inside the code, degrees at the command line).
val radians: degrees: float -> float

/// Radians to degrees.
val degrees: radians: float -> float
