namespace Reconstruct.Render

open Reconstruct.Torch

type PointSplatSettings =
    { Height: int
      Width: int
      Sigma2: float
      Radius: float
      Sharpness: float
      DepthOffset: float }

    static member Defaults =
        { Height = 64
          Width = 64
          Sigma2 = 0.4
          Radius = 3.0
          Sharpness = 100.0
          DepthOffset = 1.0 }

module PointSplat =

    let private splat (s: PointSplatSettings) (xy: Tensor) (depthAndRgb: (Tensor * Tensor) option) =
        Kernels.Raster.points xy depthAndRgb s.Height s.Width s.Sigma2 s.Radius s.Sharpness s.DepthOffset

    let mask (settings: PointSplatSettings) (xy: Tensor) = fst (splat settings xy None)

    let render (settings: PointSplatSettings) (xy: Tensor) (depth: Tensor) (rgb: Tensor) =
        match splat settings xy (Some(depth, rgb)) with
        | mask, Some colour -> mask, colour
        | _, None -> failwith "rc_raster_points returned no colour for a call with rgb"
