namespace Reconstruct.Data

open System
open System.Collections.Generic
open System.IO
open System.IO.Compression

type FurnitureLibrary(path: string) =
    let archive =
        try ZipFile.OpenRead path
        with :? IOException | :? InvalidDataException | :? UnauthorizedAccessException as e ->
            raise (ModelLoadException(path, "cannot open the library: " + e.Message))
    let entries = Dictionary<string, ZipArchiveEntry>(StringComparer.OrdinalIgnoreCase)
    do
        for e in archive.Entries do
            if e.Name <> "" then entries.TryAdd(Wavefront.normalisePath e.FullName, e) |> ignore

    member _.Path = path
    member _.FileName = Path.GetFileName path

    member _.Read(file: string) : byte[] option =
        match entries.TryGetValue(Wavefront.normalisePath file) with
        | true, e ->
            use s = e.Open()
            use ms = new MemoryStream(int e.Length)
            s.CopyTo ms
            Some(ms.ToArray())
        | _ -> None

    member _.Files = entries.Keys |> Seq.sort |> List.ofSeq

    member this.Catalogue() =
        match this.Read "PluginFurnitureCatalog.properties" with
        | Some bytes -> Catalogue.entries this.FileName (Properties.parseBytes bytes)
        | None -> raise (ModelLoadException(path, "no PluginFurnitureCatalog.properties in the library"))

    member this.LicenceFiles(model: string) =
        let p = Wavefront.normalisePath model
        let dir = if p.Contains "/" then p.Substring(0, p.LastIndexOf '/' + 1) else ""
        this.Files
        |> List.filter (fun f ->
            f.StartsWith(dir, StringComparison.OrdinalIgnoreCase)
            && not (f.Substring(dir.Length).Contains "/")
            && f.Substring(dir.Length).Contains("licen", StringComparison.OrdinalIgnoreCase))

    interface IDisposable with
        member _.Dispose() = archive.Dispose()
