namespace Reconstruct.Data

open System
open System.IO
open System.Text
open System.Text.Json
open Reconstruct.Torch

type DatasetEntry =
    { Info: ModelInfo
      Split: Split
      Obj: string
      Vertices: int
      Faces: int
      AtlasHeight: int
      AtlasWidth: int
      LicenceCopies: string list
      Warnings: string list }

type DatasetFailure = { Id: string; Name: string; Category: string; Source: string; Reason: string }

module FurnitureManifest =

    let formatVersion = "furniture-v1"

    let slug (id: string) =
        let s = String(id |> Seq.map (fun c -> if Char.IsAsciiLetterOrDigit c || c = '-' || c = '_' then c else '-') |> Array.ofSeq)
        s.Trim('-')

    let private writeJson (path: string) (write: Utf8JsonWriter -> unit) =
        Files.writeAtomically path (fun stream ->
            // Relaxed escaping keeps names, quotes and '+' readable in the file.
            use w = new Utf8JsonWriter(stream, JsonWriterOptions(Indented = true, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
            write w)

    let private strings (w: Utf8JsonWriter) (name: string) (values: string seq) =
        w.WriteStartArray name
        for v in values do
            w.WriteStringValue v
        w.WriteEndArray()

    let private relative (dir: string) (path: string) = Path.GetRelativePath(dir, path).Replace('\\', '/')

    let write (path: string) (packageName: string) (fingerprint: string) (seed: uint64) (rule: CategoryRule) (entries: DatasetEntry list) (failures: DatasetFailure list) =
        let dir = Path.GetDirectoryName path
        writeJson path (fun w ->
            w.WriteStartObject()
            w.WriteString("category", rule.Name)
            w.WriteString("format", formatVersion)
            w.WriteString("fingerprint", fingerprint)
            w.WriteNumber("seed", seed)
            w.WriteString("source", "Debian package " + packageName)
            w.WriteString("frame", "normalised: +y up, front +z, bounding box centred, longest side 1 (fits [-0.5, 0.5]^3)")
            w.WriteStartObject "rule"
            strings w "include" rule.Include
            strings w "exclude" rule.Exclude
            strings w "sourceCategories" rule.SourceCategories
            w.WriteEndObject()
            w.WriteStartObject "counts"
            for s in [ Split.Train; Split.Val; Split.Test ] do
                w.WriteNumber(s.Name, entries |> List.filter (fun e -> e.Split = s) |> List.length)
            w.WriteNumber("failures", failures.Length)
            w.WriteEndObject()
            w.WriteStartArray "models"
            for e in entries do
                w.WriteStartObject()
                w.WriteString("id", e.Info.Id)
                w.WriteString("name", e.Info.Name)
                w.WriteString("split", e.Split.Name)
                w.WriteString("obj", relative dir e.Obj)
                w.WriteString("creator", e.Info.Creator)
                w.WriteString("licence", e.Info.Licence)
                w.WriteString("library", e.Info.Library)
                w.WriteString("sourceCategory", e.Info.SourceCategory)
                w.WriteString("source", e.Info.Source)
                w.WriteStartArray "sizeCm"
                for v in [ e.Info.WidthCm; e.Info.HeightCm; e.Info.DepthCm ] do
                    w.WriteNumberValue v
                w.WriteEndArray()
                strings w "licenceFiles" e.Info.LicenceFiles
                strings w "licenceCopies" (e.LicenceCopies |> List.map (relative dir))
                w.WriteNumber("vertices", e.Vertices)
                w.WriteNumber("faces", e.Faces)
                w.WriteStartArray "atlas"
                w.WriteNumberValue e.AtlasHeight
                w.WriteNumberValue e.AtlasWidth
                w.WriteEndArray()
                strings w "warnings" e.Warnings
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteStartArray "failures"
            for f in failures do
                w.WriteStartObject()
                w.WriteString("id", f.Id)
                w.WriteString("name", f.Name)
                w.WriteString("source", f.Source)
                w.WriteString("reason", f.Reason)
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteEndObject())

    let writeAttribution (path: string) (packageName: string) (category: string) (entries: DatasetEntry list) =
        let sb = StringBuilder()
        sb.AppendFormat("3D models of the '{0}' dataset, from the Debian package {1} (Sweet Home 3D furniture libraries).\n", category, packageName) |> ignore
        sb.Append("Models were rotated, scaled and re-textured (one texture atlas per model) for this dataset.\n\n") |> ignore
        for e in entries do
            sb.AppendFormat("{0} ({1}) by {2}, {3}; licence: {4}\n", e.Info.Name, e.Info.Id, e.Info.Creator, e.Info.Library, e.Info.Licence) |> ignore
        Files.writeTextAtomically path (sb.ToString())

    let read (path: string) : DatasetEntry list * DatasetFailure list * string =
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        use doc = JsonDocument.Parse(File.ReadAllText path)
        let root = doc.RootElement
        let str (e: JsonElement) (name: string) =
            match e.TryGetProperty name with
            | true, v when v.ValueKind = JsonValueKind.String -> v.GetString()
            | _ -> raise (InvalidDataException(sprintf "%s: '%s' missing or not a string" path name))
        let list (e: JsonElement) (name: string) = [ for v in e.GetProperty(name).EnumerateArray() -> v.GetString() ]
        let category = str root "category"
        let entries =
            [ for m in root.GetProperty("models").EnumerateArray() do
                  let size = [| for v in m.GetProperty("sizeCm").EnumerateArray() -> v.GetDouble() |]
                  let atlas = [| for v in m.GetProperty("atlas").EnumerateArray() -> v.GetInt32() |]
                  yield
                      { Info =
                          { Id = str m "id"
                            Name = str m "name"
                            Category = category
                            SourceCategory = str m "sourceCategory"
                            Creator = str m "creator"
                            Licence = str m "licence"
                            Library = str m "library"
                            WidthCm = size.[0]
                            HeightCm = size.[1]
                            DepthCm = size.[2]
                            Source = str m "source"
                            LicenceFiles = list m "licenceFiles" }
                        Split = Split.Parse(str m "split")
                        Obj = Path.GetFullPath(Path.Combine(dir, str m "obj"))
                        Vertices = m.GetProperty("vertices").GetInt32()
                        Faces = m.GetProperty("faces").GetInt32()
                        AtlasHeight = atlas.[0]
                        AtlasWidth = atlas.[1]
                        LicenceCopies = list m "licenceCopies" |> List.map (fun p -> Path.GetFullPath(Path.Combine(dir, p)))
                        Warnings = list m "warnings" } ]
        let failures =
            [ for f in root.GetProperty("failures").EnumerateArray() ->
                  { Id = str f "id"; Name = str f "name"; Category = category; Source = str f "source"; Reason = str f "reason" } ]
        let fingerprint =
            match root.TryGetProperty "fingerprint" with
            | true, v -> v.GetString()
            | _ -> ""
        entries, failures, fingerprint
