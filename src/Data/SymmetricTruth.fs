module Reconstruct.Data.SymmetricTruth

open System
open System.IO
open System.Text.Json
open Reconstruct.Torch

type Light =
    { Direction: float * float * float
      Ambient: float
      Diffuse: float }

/// The index rows by the image path they name, as `SingleView.imagePath` gives it.
let private rowsOf (set: SingleView.Set) =
    Loader.ofIndex set.Index
    |> Array.choose (fun item -> item.Row |> Option.map (fun row -> item.Path, row))
    |> dict

let private rowOf (rows: Collections.Generic.IDictionary<string, IndexRow>) (set: SingleView.Set) (sample: int) =
    let image = SingleView.imagePath set sample
    match rows.TryGetValue image with
    | true, row -> row
    | _ -> raise (IndexFileException(set.Index, 0, sprintf "no row names the image %s" image))

let private property (row: IndexRow) (name: string) (kind: JsonValueKind) (json: JsonElement) =
    match json.TryGetProperty name with
    | true, v when v.ValueKind = kind -> v
    | _ -> raise (IndexFileException(row.IndexFile, row.Line, sprintf "field \"%s\" missing or not a %s: not a symmetric-protocol row" name (string kind)))

let depth (set: SingleView.Set) (samples: int[]) =
    let rows = rowsOf set
    let dir = Path.GetDirectoryName set.Index
    // The rows first, so a bad row fails here with its own exception, not inside the
    // parallel decode's AggregateException.
    let files =
        samples
        |> Array.map (fun sample ->
            let row = rowOf rows set sample
            let field = property row "depth" JsonValueKind.Object row.Json
            let image = (property row "image" JsonValueKind.String field).GetString()
            let scale = (property row "scale" JsonValueKind.Number field).GetDouble()
            (if Path.IsPathRooted image then image else Path.Combine(dir, image)), scale)
    let decode (path: string, scale: float) =
        let d, m = DepthMap.load path scale
        try
            if d.Size 0 <> set.Height || d.Size 1 <> set.Width then
                raise (ImageFileException(path, sprintf "the depth map is %dx%d, the images %dx%d" (d.Size 1) (d.Size 0) set.Width set.Height))
            d.ToFloat32s(), m.ToBools()
        finally
            (d :> IDisposable).Dispose()
            (m :> IDisposable).Dispose()
    let maps =
        try files |> Array.Parallel.map decode
        with :? AggregateException as e -> raise (e.Flatten().InnerExceptions.[0])
    let n, plane = samples.Length, set.Height * set.Width
    let depths = Array.zeroCreate<float32> (n * plane)
    let masks = Array.zeroCreate<float32> (n * plane)
    maps
    |> Array.iteri (fun k (d, m) ->
        Array.blit d 0 depths (k * plane) plane
        for p in 0 .. plane - 1 do
            if m.[p] then masks.[k * plane + p] <- 1.0f)
    Tensor.ofArray (depths, [ n; set.Height; set.Width ]), Tensor.ofArray (masks, [ n; set.Height; set.Width ])

let lights (set: SingleView.Set) (samples: int[]) =
    let rows = rowsOf set
    samples
    |> Array.map (fun sample ->
        let row = rowOf rows set sample
        let light = property row "light" JsonValueKind.Object row.Json
        let number name = (property row name JsonValueKind.Number light).GetDouble()
        let direction = property row "direction" JsonValueKind.Array light
        if direction.GetArrayLength() <> 3 then
            raise (IndexFileException(row.IndexFile, row.Line, "field \"light.direction\" must hold 3 numbers"))
        { Direction = direction.[0].GetDouble(), direction.[1].GetDouble(), direction.[2].GetDouble()
          Ambient = number "ambient"
          Diffuse = number "diffuse" })
