namespace Reconstruct.Render

open Reconstruct.Torch

type Fragments =
    { PixToFace: Tensor
      Bary: Tensor
      Zbuf: Tensor
      Dists: Tensor
      Overflow: Tensor }

type RasterSettings =
    { Height: int
      Width: int
      FacesPerPixel: int
      BlurRadius: float
      PerspectiveCorrect: bool
      CullBackfaces: bool
      ZNear: float
      Simd: bool }

    static member Defaults =
        { Height = 64
          Width = 64
          FacesPerPixel = 8
          // Rasterizer.blurRadiusFor 1e-4 1e-4, which is defined after this type
          BlurRadius = log (1.0 / 1e-4 - 1.0) * 1e-4
          PerspectiveCorrect = false
          CullBackfaces = false
          ZNear = 0.1
          Simd = true }

type SoftSettings =
    { Height: int
      Width: int
      Sigma: float
      Gamma: float
      EpsBackground: float
      DistEps: float
      ZNear: float
      ZFar: float
      DoubleSided: bool
      Simd: bool }

    static member Defaults =
        { Height = 64
          Width = 64
          Sigma = 1e-4
          Gamma = 1e-4
          EpsBackground = 1e-3
          DistEps = 1e-10
          ZNear = 1.0
          ZFar = 100.0
          DoubleSided = false
          Simd = true }

type HardLight =
    { Ambient: float
      Diffuse: float
      Direction: float * float * float
      TwoSided: bool }

module Rasterizer =
    let blurRadiusFor (sigma: float) (eps: float) = log (1.0 / eps - 1.0) * sigma

    let rasterize (settings: RasterSettings) (verts: Tensor) (faces: Tensor) : Fragments =
        let pixToFace, bary, zbuf, dists, overflow =
            Kernels.Raster.topk
                verts faces settings.Height settings.Width settings.FacesPerPixel settings.BlurRadius
                settings.PerspectiveCorrect settings.CullBackfaces settings.ZNear settings.Simd
        { PixToFace = pixToFace
          Bary = bary
          Zbuf = zbuf
          Dists = dists
          Overflow = overflow }

    let softRasterize (settings: SoftSettings) (faceVertices: Tensor) (faceColors: Tensor option) (background: float[]) =
        Kernels.Raster.soft
            faceVertices faceColors settings.Height settings.Width settings.Sigma settings.Gamma
            settings.EpsBackground settings.DistEps settings.ZNear settings.ZFar settings.DoubleSided background settings.Simd

    let texturedLayered (settings: RasterSettings) (sigma: float) (background: float[]) (verts: Tensor) (faces: Tensor) (faceUvs: Tensor) (uvImage: Tensor) =
        Kernels.Raster.layered
            verts faces faceUvs uvImage settings.Height settings.Width settings.FacesPerPixel settings.BlurRadius sigma
            settings.PerspectiveCorrect settings.CullBackfaces settings.ZNear background settings.Simd

    let hardTextured (supersample: int) (znear: float) (light: HardLight) (verts: Tensor) (points: Tensor) (faces: Tensor) (faceUvs: Tensor) (atlas: Tensor) (background: Tensor) =
        Kernels.Raster.hardTextured
            verts points faces faceUvs atlas background supersample znear light.Ambient light.Diffuse light.Direction
            light.TwoSided true

    let faceAttributes (attrs: Tensor) (faces: Tensor) =
        let b, d = attrs.Shape.[0], attrs.Shape.[2]
        use flat = faces.flatten ()
        use picked = attrs.indexSelect (1, flat)
        picked.reshape [ b; faces.Shape.[0]; 3; d ]

    let simdAvailable () = Kernels.Raster.simdAvailable ()
