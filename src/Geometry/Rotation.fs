module Reconstruct.Geometry.Rotation

open System
open Reconstruct.Torch

let private el (r: Tensor) (i: int) (j: int) = (r.select (-2, i)).select (-1, j)

/// A (..., 3, 3) matrix from nine (...) tensors in row-major order.
let private matrix (entries: Tensor list) =
    let s = entries.Head.Shape
    (Tensor.stack (entries, -1)).reshape (Array.append s [| 3; 3 |])

let private checkMatrix (fn: string) (r: Tensor) =
    if r.Dim < 2 || r.Size -1 <> 3 || r.Size -2 <> 3 then
        invalidArg "r" (sprintf "%s: r must have shape [..., 3, 3], received %s" fn (Shape.text r.Shape))

let rotX (angle: Tensor) =
    Scoped.run (fun () ->
        let c, s = angle.cos (), angle.sin ()
        let o, z = angle.onesLike (), angle.zerosLike ()
        matrix [ o; z; z; z; c; -s; z; s; c ])

let rotY (angle: Tensor) =
    Scoped.run (fun () ->
        let c, s = angle.cos (), angle.sin ()
        let o, z = angle.onesLike (), angle.zerosLike ()
        matrix [ c; z; s; z; o; z; -s; z; c ])

let rotZ (angle: Tensor) =
    Scoped.run (fun () ->
        let c, s = angle.cos (), angle.sin ()
        let o, z = angle.onesLike (), angle.zerosLike ()
        matrix [ c; -s; z; s; c; z; z; z; o ])

let fromEuler (azimuth: Tensor) (elevation: Tensor) (roll: Tensor) =
    Scoped.run (fun () ->
        let flip = (Tensor.ofArray ([| 1.0; 0.0; 0.0; 0.0; -1.0; 0.0; 0.0; 0.0; -1.0 |], [ 3; 3 ])).cast azimuth.Dtype
        (rotZ roll).matmul (flip.matmul ((rotX elevation).matmul (rotY (-azimuth)))))

let toEuler (r: Tensor) =
    checkMatrix "Rotation.toEuler" r
    Scoped.run3 (fun () ->
        // The third row is the viewing direction, -(cos el sin az, sin el, cos el cos az).
        let fx, fy, fz = el r 2 0, el r 2 1, el r 2 2
        let azimuth = Tensor.atan2 (-fx, -fz)
        let elevation = Tensor.atan2 (-fy, (fx.square () + fz.square ()).sqrt ())
        // The y column of rows 0 and 1 is (sin roll · cos el, -cos roll · cos el).
        let roll = Tensor.atan2 (el r 0 1, -(el r 1 1))
        azimuth, elevation, roll)

let cameraPosition (azimuth: Tensor) (elevation: Tensor) (distance: Tensor) =
    Scoped.run (fun () ->
        let ce = elevation.cos ()
        Tensor.stack ([ distance * ce * azimuth.sin (); distance * elevation.sin (); distance * ce * azimuth.cos () ], -1))

let private normalize (v: Tensor) = v / (v.norm (2.0, -1, true)).clamp (min = 1e-12)

let lookAt (eye: Tensor) (at: Tensor) (up: Tensor) =
    Scoped.run2 (fun () ->
        let forward = normalize (at - eye)
        let right = normalize (forward.cross (up, -1))
        let down = forward.cross (right, -1)
        let r = Tensor.stack ([ right; down; forward ], -2)
        let t = -((r.matmul (eye.unsqueeze(-1))).squeeze(-1))
        r, t)

// ---------------------------------------------------------------------- 6D representation

let from6d (x: Tensor) =
    Shape.expect "Rotation.from6d" "x" x.Shape [ 1 .. 8 ] [ 6 ]
    Scoped.run (fun () ->
        let a1, a2 = x.narrow (-1, 0, 3), x.narrow (-1, 3, 3)
        let b1 = normalize a1
        let b2 = normalize (a2 - b1 * (b1 * a2).sum (-1, true))
        let b3 = b1.cross (b2, -1)
        Tensor.stack ([ b1; b2; b3 ], -2))

let to6d (r: Tensor) =
    checkMatrix "Rotation.to6d" r
    Scoped.run (fun () ->
        let s = r.Shape
        (r.narrow (-2, 0, 2)).reshape (Array.append s.[.. s.Length - 3] [| 6 |]))

// ---------------------------------------------------------------------- quaternions

let fromQuaternion (q: Tensor) =
    Shape.expect "Rotation.fromQuaternion" "q" q.Shape [ 1 .. 8 ] [ 4 ]
    Scoped.run (fun () ->
        let q = normalize q
        let w, x, y, z = q.select (-1, 0), q.select (-1, 1), q.select (-1, 2), q.select (-1, 3)
        let two = 2.0
        matrix
            [ 1.0 - two * (y * y + z * z); two * (x * y - w * z); two * (x * z + w * y)
              two * (x * y + w * z); 1.0 - two * (x * x + z * z); two * (y * z - w * x)
              two * (x * z - w * y); two * (y * z + w * x); 1.0 - two * (x * x + y * y) ])

let toQuaternion (r: Tensor) =
    checkMatrix "Rotation.toQuaternion" r
    Scoped.run (fun () ->
        let m00, m01, m02 = el r 0 0, el r 0 1, el r 0 2
        let m10, m11, m12 = el r 1 0, el r 1 1, el r 1 2
        let m20, m21, m22 = el r 2 0, el r 2 1, el r 2 2
        // 4·q_k² for k = w, x, y, z.
        let sq =
            Tensor.stack (
                [ 1.0 + m00 + m11 + m22
                  1.0 + m00 - m11 - m22
                  1.0 - m00 + m11 - m22
                  1.0 - m00 - m11 + m22 ],
                -1)
        // 2·|q_k|, clamped only where the candidate will not be chosen.
        let big = (sq.clamp (min = 0.1)).sqrt ()
        let bw, bx, by, bz = big.select (-1, 0), big.select (-1, 1), big.select (-1, 2), big.select (-1, 3)
        // Candidate k: q scaled so that component k is 2|q_k|·½; each row is 4 q_k · q / (4 q_k).
        let candidates =
            Tensor.stack (
                [ Tensor.stack ([ bw * bw; m21 - m12; m02 - m20; m10 - m01 ], -1) / (bw * 2.0).unsqueeze(-1)
                  Tensor.stack ([ m21 - m12; bx * bx; m01 + m10; m02 + m20 ], -1) / (bx * 2.0).unsqueeze(-1)
                  Tensor.stack ([ m02 - m20; m01 + m10; by * by; m12 + m21 ], -1) / (by * 2.0).unsqueeze(-1)
                  Tensor.stack ([ m10 - m01; m02 + m20; m12 + m21; bz * bz ], -1) / (bz * 2.0).unsqueeze(-1) ],
                -2) // (..., 4 candidates, 4)
        let best = sq.argmax (-1, true) // (..., 1)
        let shape = candidates.Shape
        let idx = (best.unsqueeze(-1)).expand (Array.append shape.[.. shape.Length - 3] [| 1; 4 |])
        let q = normalize ((candidates.gather (-2, idx)).squeeze(-2))
        let w = q.select (-1, 0)
        let one = w.onesLike ()
        let sign = Tensor.where (w.lt 0.0, -one, one)
        q * sign.unsqueeze(-1))

let quaternionMultiply (a: Tensor) (b: Tensor) =
    Scoped.run (fun () ->
        let aw, ax, ay, az = a.select (-1, 0), a.select (-1, 1), a.select (-1, 2), a.select (-1, 3)
        let bw, bx, by, bz = b.select (-1, 0), b.select (-1, 1), b.select (-1, 2), b.select (-1, 3)
        Tensor.stack (
            [ aw * bw - ax * bx - ay * by - az * bz
              aw * bx + ax * bw + ay * bz - az * by
              aw * by - ax * bz + ay * bw + az * bx
              aw * bz + ax * by - ay * bx + az * bw ],
            -1))

// ---------------------------------------------------------------------- axis-angle

let fromAxisAngle (v: Tensor) =
    Shape.expect "Rotation.fromAxisAngle" "v" v.Shape [ 1 .. 8 ] [ 3 ]
    Scoped.run (fun () ->
        let theta2 = (v.square ()).sum (-1)
        let small = theta2.lt 1e-6
        let safe2 = Tensor.where (small, theta2.onesLike (), theta2)
        let theta = safe2.sqrt ()
        let a = Tensor.where (small, 1.0 - theta2 / 6.0 + theta2.square () / 120.0, theta.sin () / theta)
        let b = Tensor.where (small, 0.5 - theta2 / 24.0 + theta2.square () / 720.0, (1.0 - theta.cos ()) / safe2)
        let x, y, z = v.select (-1, 0), v.select (-1, 1), v.select (-1, 2)
        let zero = x.zerosLike ()
        let k = matrix [ zero; -z; y; z; zero; -x; -y; x; zero ]
        let s = v.Shape
        let eye = (Tensor.eye (3, v.Dtype)).expand (Array.append s.[.. s.Length - 2] [| 3; 3 |])
        eye + k * (a.unsqueeze(-1).unsqueeze(-1)) + (k.matmul k) * (b.unsqueeze(-1).unsqueeze(-1)))

let toAxisAngle (r: Tensor) =
    checkMatrix "Rotation.toAxisAngle" r
    Scoped.run (fun () ->
        let q = toQuaternion r
        let w = q.select (-1, 0)
        let xyz = q.narrow (-1, 1, 3)
        let s2 = (xyz.square ()).sum (-1)
        let small = s2.lt 1e-12
        let s = (Tensor.where (small, s2.onesLike (), s2)).sqrt ()
        let angle = Tensor.atan2 (s, w) * 2.0
        // angle / sin(angle/2) -> 2 / w as the angle goes to 0.
        let factor = Tensor.where (small, 2.0 / w.clamp (min = 1e-6), angle / s)
        xyz * factor.unsqueeze(-1))

// ---------------------------------------------------------------------- distances and sampling

let geodesicAngle (a: Tensor) (b: Tensor) =
    checkMatrix "Rotation.geodesicAngle" a
    checkMatrix "Rotation.geodesicAngle" b
    Scoped.run (fun () ->
        let m = a.mT.matmul b
        let trace = el m 0 0 + el m 1 1 + el m 2 2
        let vx, vy, vz = el m 2 1 - el m 1 2, el m 0 2 - el m 2 0, el m 1 0 - el m 0 1
        let sin2 = ((vx.square () + vy.square () + vz.square ()).clamp (min = 1e-30)).sqrt ()
        Tensor.atan2 (sin2, trace - 1.0))

let random (generator: Generator) (count: int) (dtype: Dtype) =
    Scoped.run (fun () -> fromQuaternion (Tensor.randn ([ count; 4 ], generator, dtype)))

let radians (degrees: float) = degrees * Math.PI / 180.0

let degrees (radians: float) = radians * 180.0 / Math.PI
