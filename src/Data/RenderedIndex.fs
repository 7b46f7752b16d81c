module internal Reconstruct.Data.RenderedIndex

open System
open System.IO
open System.Text.Json

type Truth = { Mesh: string; View: DatasetRender.View }

type Row =
    { Line: int
      Image: string
      Instance: string
      Category: string
      Split: string
      Truth: Truth option }

let private field (fail: string -> exn) (json: JsonElement) (path: string) (name: string) (kind: JsonValueKind) =
    match json.TryGetProperty name with
    | true, v when v.ValueKind = kind -> v
    | true, v -> raise (fail (sprintf "field \"%s%s\" must be %s, found %s" path name (string kind) (string v.ValueKind)))
    | _ -> raise (fail (sprintf "missing field \"%s%s\"" path name))

let private finite (fail: string -> exn) (name: string) (v: float) =
    if not (Double.IsFinite v) then raise (fail (sprintf "field \"view.%s\" is not finite" name))
    v

let private rowOf (indexDir: string) (item: Item) : Row =
    let row = item.Row.Value
    let fail detail = IndexFileException(row.IndexFile, row.Line, detail) :> exn
    let text name = (field fail row.Json "" name JsonValueKind.String).GetString()
    let has (name: string) = row.Json.TryGetProperty name |> fst
    let view () =
        let view = field fail row.Json "" "view" JsonValueKind.Object
        let number name = finite fail name ((field fail view "view." name JsonValueKind.Number).GetDouble())
        // Older and hand-written indexes give only the multi-view camera's three numbers.
        let optional name fallback = if view.TryGetProperty(name: string) |> fst then number name else fallback
        let shiftX, shiftY =
            match view.TryGetProperty "shift" with
            | false, _ -> 0.0, 0.0
            | true, s when s.ValueKind = JsonValueKind.Array && s.GetArrayLength() = 2 && s.[0].ValueKind = JsonValueKind.Number && s.[1].ValueKind = JsonValueKind.Number ->
                finite fail "shift" (s.[0].GetDouble()), finite fail "shift" (s.[1].GetDouble())
            | true, s -> raise (fail (sprintf "field \"view.shift\" must be an array of two numbers, found %s" (s.GetRawText())))
        ({ Azimuth = number "azimuth"
           Elevation = number "elevation"
           Roll = optional "roll" 0.0
           Distance = number "distance"
           Scale = optional "scale" 1.0
           ShiftX = shiftX
           ShiftY = shiftY }: DatasetRender.View)
    // A photograph has neither; a render has both, and half of the pair is a broken row.
    let truth =
        match has "mesh", has "view" with
        | false, false -> None
        | true, true ->
            let mesh = text "mesh"
            Some { Mesh = Path.GetFullPath(if Path.IsPathRooted mesh then mesh else Path.Combine(indexDir, mesh)); View = view () }
        | true, false -> raise (fail "field \"mesh\" without \"view\" (a row gives both, or neither for an image without ground truth)")
        | false, true -> raise (fail "field \"view\" without \"mesh\" (a row gives both, or neither for an image without ground truth)")
    { Line = row.Line
      Image = item.Path
      Instance = text "instance"
      Category = text "category"
      Split = text "split"
      Truth = truth }

let read (protocolDir: string) : string * Row[] =
    let indexPath = Path.GetFullPath(Path.Combine(protocolDir, "index.jsonl"))
    let indexDir = Path.GetDirectoryName indexPath
    indexPath, Loader.ofIndex indexPath |> Array.map (rowOf indexDir)

let noRowsOfSplit (indexPath: string) (split: string) (rows: Row[]) : exn =
    let splits = rows |> Array.map (fun r -> r.Split) |> Array.distinct |> Array.sort
    IndexFileException(indexPath, 0, sprintf "no rows of split \"%s\" (splits in the index: %s)" split (String.Join(", ", splits)))

let private meshText (row: Row) = match row.Truth with Some t -> t.Mesh | None -> "(none)"

let checkSameInstance (indexPath: string) (first: Row) (row: Row) =
    if first.Category <> row.Category || meshText first <> meshText row then
        raise (IndexFileException(indexPath, row.Line, sprintf "instance %s has category %s and mesh %s here, %s and %s on line %d" row.Instance row.Category (meshText row) first.Category (meshText first) first.Line))

let truthOf (indexPath: string) (row: Row) =
    match row.Truth with
    | Some t -> t
    | None -> raise (IndexFileException(indexPath, row.Line, sprintf "image %s has no ground truth (fields \"mesh\" and \"view\"), which this protocol needs" row.Image))

let decodeRgba (path: string) : int * int * byte[] =
    use hwc = Image.readRaw Image.defaultMaxPixels false path
    let h, w, c = hwc.Shape.[0], hwc.Shape.[1], hwc.Shape.[2]
    let raw = hwc.ToArray<byte>()
    let planar = Array.zeroCreate<byte> (4 * h * w)
    let plane = h * w
    for p in 0 .. plane - 1 do
        let src = p * c
        match c with
        | 1 | 2 ->
            planar.[p] <- raw.[src]
            planar.[plane + p] <- raw.[src]
            planar.[2 * plane + p] <- raw.[src]
            planar.[3 * plane + p] <- if c = 2 then raw.[src + 1] else 255uy
        | _ ->
            planar.[p] <- raw.[src]
            planar.[plane + p] <- raw.[src + 1]
            planar.[2 * plane + p] <- raw.[src + 2]
            planar.[3 * plane + p] <- if c = 4 then raw.[src + 3] else 255uy
    h, w, planar

let compositeOver (level: byte) (rgba: byte[]) : byte[] =
    let plane = rgba.Length / 4
    let rgb = Array.zeroCreate<byte> (3 * plane)
    let l = int level
    for p in 0 .. plane - 1 do
        let a = int rgba.[3 * plane + p]
        for c in 0 .. 2 do
            // c·a + level·(255 − a) over 255, rounded: the exact value is never halfway.
            rgb.[c * plane + p] <- byte ((int rgba.[c * plane + p] * a + l * (255 - a) + 127) / 255)
    rgb

let compositeOnWhite (rgba: byte[]) : byte[] = compositeOver 255uy rgba

let private unitBytes = Array.init 256 (fun b -> float32 b / 255.0f)

let toUnit (source: byte[]) (sourceOffset: int) (target: float32[]) (targetOffset: int) (count: int) =
    for p in 0 .. count - 1 do
        target.[targetOffset + p] <- unitBytes.[int source.[sourceOffset + p]]

let checkBatchSize (fn: string) (batchSize: int) =
    if batchSize < 1 then invalidArg "batchSize" (sprintf "%s: batch size must be positive, received %d" fn batchSize)

let checkEpoch (fn: string) (what: string) (count: int) (split: string) (index: string) (batchSize: int) (epoch: int) =
    checkBatchSize fn batchSize
    if epoch < 0 then invalidArg "epoch" (sprintf "%s: epoch must be >= 0, received %d" fn epoch)
    if count < batchSize then
        invalidArg "batchSize" (sprintf "%s: batch size %d exceeds the %d %s of split %s in %s" fn batchSize count what split index)

let checkBatchIndex (fn: string) (count: int) (batchSize: int) (index: int) =
    if index < 0 || index >= count then
        invalidArg "index" (sprintf "%s: index must be in 0..%d (batches per epoch at batch size %d), received %d" fn (count - 1) batchSize index)

let epochBatches (fn: string) (count: int) (batchSize: int) (start: int) (order: unit -> int[]) (make: int[] -> int -> 'T) : seq<'T> =
    if start < 0 || start > count then
        invalidArg "start" (sprintf "%s: start must be in 0..%d (batches per epoch at batch size %d), received %d" fn count batchSize start)
    seq {
        let order = order ()
        for index in start .. count - 1 do
            yield make order index
    }
