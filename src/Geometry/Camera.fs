namespace Reconstruct.Geometry

open System
open Reconstruct.Torch

type Perspective =
    { FovDegrees: float
      Width: int
      Height: int }

type Pose =
    { Rotation: Tensor
      Translation: Tensor
      Scale: Tensor option }

module Camera =

    let perspective (fovDegrees: float) (width: int) (height: int) =
        if not (fovDegrees > 0.0 && fovDegrees < 180.0) then
            invalidArg "fovDegrees" (sprintf "Camera.perspective: field of view must be in (0, 180) degrees, received %g" fovDegrees)
        if width <= 0 || height <= 0 then
            invalidArg "width" (sprintf "Camera.perspective: image size must be positive, received %dx%d" width height)
        { FovDegrees = fovDegrees; Width = width; Height = height }

    let square (fovDegrees: float) (size: int) = perspective fovDegrees size size

    let focalNdc (camera: Perspective) =
        let fx = 1.0 / Math.Tan(Rotation.radians camera.FovDegrees / 2.0)
        fx, fx * float camera.Width / float camera.Height

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

    let orbit (azimuth: Tensor) (elevation: Tensor) (roll: Tensor) (distance: Tensor) =
        use scope = DisposalScope.Open()
        let r = Rotation.fromEuler azimuth elevation roll
        let z = distance.zerosLike ()
        let t = Tensor.stack ([ z; z; distance ], -1)
        { Rotation = scope.MoveOut r; Translation = scope.MoveOut t; Scale = None }

    let private checkPoints (fn: string) (points: Tensor) = Shape.expect fn "points" points.Shape [ 3 ] [ 3 ]

    let objectToCamera (pose: Pose) (points: Tensor) =
        checkPoints "Camera.objectToCamera" points
        Scoped.run (fun () ->
            let scaled = match pose.Scale with Some s -> points * s.unsqueeze 1 | None -> points
            scaled.matmul pose.Rotation.mT + pose.Translation.unsqueeze 1)

    let cameraToObject (pose: Pose) (points: Tensor) =
        checkPoints "Camera.cameraToObject" points
        Scoped.run (fun () ->
            let unrotated = (points - pose.Translation.unsqueeze 1).matmul pose.Rotation
            match pose.Scale with Some s -> unrotated / s.unsqueeze 1 | None -> unrotated)

    // ------------------------------------------------------------------ projection

    let cameraToNdc (camera: Perspective) (points: Tensor) =
        Shape.expect "Camera.cameraToNdc" "points" points.Shape [ 1 .. 6 ] [ 3 ]
        Scoped.run (fun () ->
            let fx, fy = focalNdc camera
            let z = points.select (-1, 2)
            Tensor.stack ([ points.select (-1, 0) * fx / z; points.select (-1, 1) * fy / z; z ], -1))

    let ndcToCamera (camera: Perspective) (ndc: Tensor) =
        Shape.expect "Camera.ndcToCamera" "ndc" ndc.Shape [ 1 .. 6 ] [ 3 ]
        Scoped.run (fun () ->
            let fx, fy = focalNdc camera
            let z = ndc.select (-1, 2)
            Tensor.stack ([ ndc.select (-1, 0) * z / fx; ndc.select (-1, 1) * z / fy; z ], -1))

    let ndcToPixel (camera: Perspective) (xy: Tensor) =
        Shape.expect "Camera.ndcToPixel" "xy" xy.Shape [ 1 .. 6 ] [ 2 ]
        Scoped.run (fun () ->
            use size = (Tensor.ofArray [| float camera.Width; float camera.Height |]).cast xy.Dtype
            (xy + 1.0) * size * 0.5)

    let pixelToNdc (camera: Perspective) (xy: Tensor) =
        Shape.expect "Camera.pixelToNdc" "xy" xy.Shape [ 1 .. 6 ] [ 2 ]
        Scoped.run (fun () ->
            use size = (Tensor.ofArray [| float camera.Width; float camera.Height |]).cast xy.Dtype
            xy * 2.0 / size - 1.0)

    let pixelCentres (camera: Perspective) (dtype: Dtype) =
        Scoped.run (fun () ->
            let w, h = camera.Width, camera.Height
            let xs = ((Tensor.arange (w, dtype)) * 2.0 + 1.0) / float w - 1.0
            let ys = ((Tensor.arange (h, dtype)) * 2.0 + 1.0) / float h - 1.0
            Tensor.stack ([ (xs.reshape [ 1; w ]).expand [ h; w ]; (ys.reshape [ h; 1 ]).expand [ h; w ] ], -1))

    let project (camera: Perspective) (pose: Pose) (points: Tensor) =
        Scoped.run (fun () ->
            let ndc = cameraToNdc camera (objectToCamera pose points)
            Tensor.cat ([ ndcToPixel camera (ndc.narrow (-1, 0, 2)); ndc.narrow (-1, 2, 1) ], -1))

    let projectNdc (camera: Perspective) (pose: Pose) (points: Tensor) =
        Scoped.run (fun () -> cameraToNdc camera (objectToCamera pose points))

    let unproject (camera: Perspective) (pose: Pose) (pixelDepth: Tensor) =
        checkPoints "Camera.unproject" pixelDepth
        Scoped.run (fun () ->
            let ndcXY = pixelToNdc camera (pixelDepth.narrow (-1, 0, 2))
            let cam = ndcToCamera camera (Tensor.cat ([ ndcXY; pixelDepth.narrow (-1, 2, 1) ], -1))
            cameraToObject pose cam)
