module Reconstruct.Data.FurnitureModel

let place (entry: CatalogueEntry) (m: MeshArrays) : MeshArrays * string option =
    let p = Array.copy m.Positions
    let mutable faces, uvs = m.Faces, m.FaceUVs
    match entry.ModelRotation with
    | Some r ->
        for i in 0 .. p.Length / 3 - 1 do
            let x, y, z = float p.[3 * i], float p.[3 * i + 1], float p.[3 * i + 2]
            for a in 0 .. 2 do
                p.[3 * i + a] <- float32 (r.[3 * a] * x + r.[3 * a + 1] * y + r.[3 * a + 2] * z)
        let det =
            r.[0] * (r.[4] * r.[8] - r.[5] * r.[7]) - r.[1] * (r.[3] * r.[8] - r.[5] * r.[6]) + r.[2] * (r.[3] * r.[7] - r.[4] * r.[6])
        if det < 0.0 then
            faces <- Array.init faces.Length (fun k -> faces.[k - k % 3 + [| 0; 2; 1 |].[k % 3]])
            uvs <- Array.init uvs.Length (fun k -> uvs.[k - k % 6 + [| 0; 1; 4; 5; 2; 3 |].[k % 6]])
    | None -> ()
    let lo, hi = TexturedMesh.bounds p
    let extent = Array.init 3 (fun a -> float hi.[a] - float lo.[a])
    let target = [| entry.WidthCm; entry.HeightCm; entry.DepthCm |]
    let longest = Array.max extent
    // An axis with no extent (a flat model) keeps its zero thickness.
    let scale = Array.init 3 (fun a -> if extent.[a] > 1e-9 * longest then target.[a] / extent.[a] else 0.0)
    let used = scale |> Array.filter (fun s -> s > 0.0)
    for k in 0 .. p.Length - 1 do
        if scale.[k % 3] > 0.0 then p.[k] <- float32 (float p.[k] * scale.[k % 3])
    let note =
        if used.Length > 1 && Array.max used / Array.min used > 1.05 then
            Some(sprintf "model proportions differ from the catalogue size by %.0f %%; stretched to %.1f x %.1f x %.1f cm" (100.0 * (Array.max used / Array.min used - 1.0)) entry.WidthCm entry.HeightCm entry.DepthCm)
        else None
    TexturedMesh.normalise { m with Positions = p; Faces = faces; FaceUVs = uvs }, note

let info (category: string) (library: FurnitureLibrary) (entry: CatalogueEntry) : ModelInfo =
    { Id = entry.Id
      Name = entry.Name
      Category = category
      SourceCategory = entry.Category
      Creator = entry.Creator
      Licence = entry.Licence
      Library = entry.LibraryName
      WidthCm = entry.WidthCm
      HeightCm = entry.HeightCm
      DepthCm = entry.DepthCm
      Source = entry.Library + ":/" + entry.Model
      LicenceFiles = library.LicenceFiles entry.Model }

let loadArrays (options: ObjLoadOptions) (library: FurnitureLibrary) (category: string) (entry: CatalogueEntry) =
    let r = Wavefront.load options library.Read entry.Model
    let arrays, note = place entry r.Arrays
    arrays, info category library entry, r.Warnings @ Option.toList note

let loadModel (options: ObjLoadOptions) (library: FurnitureLibrary) (category: string) (entry: CatalogueEntry) : TexturedMesh =
    let arrays, info, _ = loadArrays options library category entry
    TexturedMesh.ofArrays info arrays
