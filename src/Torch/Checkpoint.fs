/// Checkpoints as `.safetensors` files, read and written in F# (readable from Python with
/// `safetensors.torch.load_file`), plus saving and restoring a whole training state.
///
/// Layout (the safetensors format): 8 bytes, the header length N as a little-endian uint64; N
/// bytes of UTF-8 JSON, padded with spaces to a multiple of 8 so the data stays aligned:
///   { "__metadata__": { string: string },
///     "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
/// then the tensors' raw little-endian row-major bytes, offsets counted from the end of the
/// header. The regions tile the data exactly: no gap, no overlap, nothing after the last one.
///
/// Our "__metadata__" entries: "format" = "pt", "checkpoint_format" = "reconstruct/1",
/// "pipeline", "config" (the configuration as JSON text), "step" (decimal), "data_sha256" (the
/// SHA-256 of the data region, which the format itself does not protect), plus free entries.
/// Files without them (e.g. written by Python) load with defaults and no checksum check.
/// Random state is stored as tensors, not metadata: "rng.<name>" is a generator's state, a uint8
/// vector with the bytes of `torch.Generator.get_state()` (so Python can `set_state` it directly).
/// A training state adds "optim.<param>.<key>" tensors (see `Optim.Optimizer.State`).
module Reconstruct.Torch.Checkpoint

#nowarn "9"

open System
open System.Buffers.Binary
open System.Collections.Generic
open System.IO
open System.Runtime.InteropServices
open System.Security.Cryptography
open System.Text
open System.Text.Encodings.Web
open System.Text.Json
open Reconstruct.Torch.Native

/// A checkpoint file is unreadable or inconsistent, or cannot be written. The message is one
/// line: "checkpoint <path>: <what is wrong>".
exception CheckpointError of path: string * problem: string
    with override this.Message = sprintf "checkpoint %s: %s" this.path this.problem

let private fail path problem = raise (CheckpointError(path, problem))

/// The checkpoint's metadata block.
type Metadata =
    { /// Which pipeline wrote it, e.g. "unicorn".
      Pipeline: string
      /// The configuration as JSON text ("{}" when none).
      Config: string
      /// Optimizer steps taken when it was written.
      Step: int64
      /// Other "__metadata__" entries (string to string).
      Extra: Map<string, string> }

    static member empty = { Pipeline = ""; Config = "{}"; Step = 0L; Extra = Map.empty }

/// The "__metadata__" keys this module owns; `Extra` must not use them.
let reservedKeys = set [ "format"; "checkpoint_format"; "pipeline"; "config"; "step"; "data_sha256" ]

/// "__metadata__" key of the SHA-256 (lowercase hex) of the whole data region, the bytes after
/// the header: `hashlib.sha256(data[8 + N:]).hexdigest()`.
[<Literal>]
let ChecksumKey = "data_sha256"

[<Literal>]
let FormatVersion = "reconstruct/1"

/// Tensors and metadata read from a file. Tensors are in file order; they are owned by the
/// current disposal scope if any, else by this record (dispose it).
type Contents =
    { Path: string
      Tensors: (string * Tensor) list
      Metadata: Metadata }

    member c.TryFind(name: string) = c.Tensors |> List.tryPick (fun (n, t) -> if n = name then Some t else None)

    member c.Find(name: string) =
        match c.TryFind name with
        | Some t -> t
        | None -> fail c.Path (sprintf "no tensor named '%s'" name)

    interface IDisposable with
        member c.Dispose() =
            for _, t in c.Tensors do
                (t :> IDisposable).Dispose()

// ------------------------------------------------------------------------------ format

/// safetensors dtype names, and the writer's order: larger elements first so every region
/// starts aligned to its element size (the reference writer's order, restricted to our dtypes).
let private dtypeName =
    function
    | Dtype.Int64 -> "I64"
    | Dtype.Float64 -> "F64"
    | Dtype.Float32 -> "F32"
    | Dtype.Int32 -> "I32"
    | Dtype.UInt8 -> "U8"
    | Dtype.Bool -> "BOOL"
    | Dtype.Float16 -> "F16"

let private dtypeRank =
    function
    | Dtype.Int64 -> 0
    | Dtype.Float64 -> 1
    | Dtype.Float32 -> 2
    | Dtype.Int32 -> 3
    | Dtype.Float16 -> 4
    | Dtype.UInt8 -> 5
    | Dtype.Bool -> 6

let private dtypeOfName =
    function
    | "I64" -> Some Dtype.Int64
    | "F64" -> Some Dtype.Float64
    | "F32" -> Some Dtype.Float32
    | "I32" -> Some Dtype.Int32
    | "U8" -> Some Dtype.UInt8
    | "BOOL" -> Some Dtype.Bool
    | "F16" -> Some Dtype.Float16
    | _ -> None

/// The reference reader refuses headers above 100 MB; so do we (a corrupted length field
/// otherwise asks for gigabytes).
[<Literal>]
let MaxHeaderBytes = 100_000_000L

let private oneLine (s: string) = s.Replace("\r", " ").Replace("\n", " ")

/// One tensor's header entry.
type private Entry =
    { Name: string
      Dtype: Dtype
      Shape: int64[]
      Begin: int64
      End: int64 }

let private checkHost () =
    if not BitConverter.IsLittleEndian then
        raise (PlatformNotSupportedException "checkpoints are little-endian; this machine is big-endian")

// ------------------------------------------------------------------------------ writing

let private jsonOptions = JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false)

let private metadataEntries (what: string) (m: Metadata) =
    if isNull m.Pipeline || isNull m.Config || isNull (box m.Extra) then
        invalidArg "metadata" (sprintf "%s: Pipeline, Config and Extra must not be null" what)
    for KeyValue (k, v) in m.Extra do
        if isNull v then invalidArg "metadata" (sprintf "%s: Extra '%s' is null" what k)
        if reservedKeys.Contains k then
            invalidArg "metadata" (sprintf "%s: Extra key '%s' is reserved (%s)" what k (String.Join(", ", reservedKeys)))
    if m.Step < 0L then invalidArg "metadata" (sprintf "%s: Step must be >= 0, received %d" what m.Step)
    try
        use _ = JsonDocument.Parse(m.Config)
        ()
    with :? JsonException as e ->
        invalidArg "metadata" (sprintf "%s: Config is not valid JSON: %s" what (oneLine e.Message))
    [ "format", "pt"
      "checkpoint_format", FormatVersion
      "pipeline", m.Pipeline
      "config", m.Config
      "step", string m.Step ]
    @ (m.Extra |> Map.toList)

/// The header bytes (padded with spaces to a multiple of 8) for entries in data order.
let private headerBytes (metadata: (string * string) list) (entries: Entry list) =
    use buffer = new MemoryStream()
    do
        use w = new Utf8JsonWriter(buffer, jsonOptions)
        w.WriteStartObject()
        w.WriteStartObject "__metadata__"
        for k, v in metadata do
            w.WriteString(k, v)
        w.WriteEndObject()
        for e in entries do
            w.WriteStartObject e.Name
            w.WriteString("dtype", dtypeName e.Dtype)
            w.WriteStartArray "shape"
            for s in e.Shape do
                w.WriteNumberValue s
            w.WriteEndArray()
            w.WriteStartArray "data_offsets"
            w.WriteNumberValue e.Begin
            w.WriteNumberValue e.End
            w.WriteEndArray()
            w.WriteEndObject()
        w.WriteEndObject()
    let json = buffer.ToArray()
    let padded = (json.Length + 7) / 8 * 8
    Array.append json (Array.create (padded - json.Length) (byte ' '))

/// Writes `tensors` and `metadata` to `path` (atomically: temporary file, then rename).
/// tensors: any dtype, shape and layout; names unique and non-empty. Regions are ordered by
/// element size (largest first) then name, as the reference writer does.
let save (path: string) (tensors: (string * Tensor) list) (metadata: Metadata) : unit =
    checkHost ()
    let what = sprintf "Checkpoint.save %s" path
    let meta = metadataEntries what metadata
    let seen = HashSet<string>()
    for name, t in tensors do
        if String.IsNullOrEmpty name then invalidArg "tensors" (sprintf "%s: a tensor has an empty name" what)
        if name = "__metadata__" then invalidArg "tensors" (sprintf "%s: the name '__metadata__' is reserved" what)
        if not (seen.Add name) then invalidArg "tensors" (sprintf "%s: tensor name '%s' appears twice" what name)
        if isNull t || t.IsDisposed then invalidArg "tensors" (sprintf "%s: tensor '%s' is null or disposed" what name)
    let sorted =
        tensors
        |> List.map (fun (name, t) -> name, t, t.Dtype)
        |> List.sortWith (fun (n1, _, d1) (n2, _, d2) ->
            match compare (dtypeRank d1) (dtypeRank d2) with
            | 0 -> String.CompareOrdinal(n1, n2)
            | c -> c)
    let entries, _ =
        sorted
        |> List.mapFold
            (fun offset (name, t: Tensor, dtype) ->
                let shape = t.Shape |> Array.map int64
                let bytes = (Array.fold (*) 1L shape) * int64 (Dtype.size dtype)
                { Name = name; Dtype = dtype; Shape = shape; Begin = offset; End = offset + bytes }, offset + bytes)
            0L
    let largest = entries |> List.fold (fun m e -> max m (e.End - e.Begin)) 0L
    if largest > int64 Array.MaxLength then
        invalidArg "tensors" (sprintf "%s: a tensor holds %d bytes, more than this writer supports (%d)" what largest Array.MaxLength)
    // The checksum goes in the header but covers the data written after it; its hex text has a
    // fixed length, so the data is written first at its final place and the header last.
    let placeholder = headerBytes (meta @ [ ChecksumKey, String('0', 64) ]) entries
    try
        Files.writeAtomically path (fun stream ->
            use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
            stream.Position <- 8L + int64 placeholder.Length
            let buffer = Array.zeroCreate<byte> (int largest)
            for e, (_, t, _) in List.zip entries sorted do
                let n = int (e.End - e.Begin)
                if n > 0 then
                    let pin = GCHandle.Alloc(buffer, GCHandleType.Pinned)
                    try check (rc_tensor_copy_to (t.Ptr, pin.AddrOfPinnedObject(), int64 n))
                    finally pin.Free()
                    GC.KeepAlive t
                    stream.Write(buffer, 0, n)
                    hash.AppendData(buffer, 0, n)
            let header = headerBytes (meta @ [ ChecksumKey, Convert.ToHexStringLower(hash.GetHashAndReset()) ]) entries
            if header.Length <> placeholder.Length then failwith "Checkpoint.save: header length changed with the checksum"
            let length = Array.zeroCreate<byte> 8
            BinaryPrimitives.WriteUInt64LittleEndian(Span<byte>(length), uint64 header.Length)
            stream.Position <- 0L
            stream.Write(length, 0, 8)
            stream.Write(header, 0, header.Length))
    with Files.FileWriteError (_, problem) -> fail path problem

// ------------------------------------------------------------------------------ reading

let private strictUtf8 = UTF8Encoding(false, true)

/// Parses and validates the header; returns metadata, entries in data order, and where the data
/// starts in the file.
let private readHeader (path: string) (stream: FileStream) =
    let fileLength = stream.Length
    if fileLength < 8L then fail path (sprintf "file is %d bytes, too short for the 8-byte header length (truncated?)" fileLength)
    let lengthBytes = Array.zeroCreate<byte> 8
    stream.ReadExactly(lengthBytes, 0, 8)
    let n = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan<byte>(lengthBytes))
    if n > uint64 MaxHeaderBytes then fail path (sprintf "header length %d is over the %d-byte limit (corrupted?)" n MaxHeaderBytes)
    let n = int64 n
    if 8L + n > fileLength then fail path (sprintf "header length %d exceeds the file size %d (truncated?)" n fileLength)
    if n < 2L then fail path (sprintf "header length %d is too short for a JSON object" n)
    let bytes = Array.zeroCreate<byte> (int n)
    stream.ReadExactly(bytes, 0, bytes.Length)
    if bytes.[0] <> byte '{' then fail path (sprintf "header does not start with '{' (byte 0x%02x)" bytes.[0])
    let text =
        try strictUtf8.GetString bytes
        with :? DecoderFallbackException -> fail path "header is not valid UTF-8"
    use doc =
        try JsonDocument.Parse(text)
        with :? JsonException as e -> fail path (sprintf "header is not valid JSON: %s" (oneLine e.Message))
    let root = doc.RootElement
    if root.ValueKind <> JsonValueKind.Object then fail path "header is not a JSON object"
    let names = HashSet<string>()
    let mutable rawMetadata = []
    let entries = List<Entry>()
    let int64Array (name: string) (field: string) (e: JsonElement) =
        if e.ValueKind <> JsonValueKind.Array then fail path (sprintf "tensor '%s': '%s' is not an array" name field)
        [| for v in e.EnumerateArray() do
               let mutable x = 0L
               if v.ValueKind = JsonValueKind.Number && v.TryGetInt64(&x) && x >= 0L then yield x
               else fail path (sprintf "tensor '%s': '%s' holds %s, not a non-negative integer" name field (oneLine (v.GetRawText()))) |]
    for p in root.EnumerateObject() do
        if not (names.Add p.Name) then fail path (sprintf "header names '%s' twice" p.Name)
        if p.Name = "__metadata__" then
            if p.Value.ValueKind <> JsonValueKind.Object then fail path "'__metadata__' is not a JSON object"
            let keys = HashSet<string>()
            rawMetadata <-
                [ for m in p.Value.EnumerateObject() do
                      if not (keys.Add m.Name) then fail path (sprintf "'__metadata__' names '%s' twice" m.Name)
                      if m.Value.ValueKind <> JsonValueKind.String then
                          fail path (sprintf "'__metadata__' entry '%s' is not a string" m.Name)
                      yield m.Name, m.Value.GetString() ]
        else
            let name = p.Name
            if p.Value.ValueKind <> JsonValueKind.Object then fail path (sprintf "tensor '%s': entry is not a JSON object" name)
            let field (f: string) =
                match p.Value.TryGetProperty f with
                | true, v -> v
                | _ -> fail path (sprintf "tensor '%s': no '%s'" name f)
            let dtypeElement = field "dtype"
            let dtypeText = if dtypeElement.ValueKind = JsonValueKind.String then dtypeElement.GetString() else dtypeElement.GetRawText()
            let dtype =
                match dtypeOfName dtypeText with
                | Some d -> d
                | None -> fail path (sprintf "tensor '%s': dtype %s is not supported (F32, F64, I64, I32, U8, BOOL)" name (oneLine dtypeText))
            let shape = int64Array name "shape" (field "shape")
            let offsets = int64Array name "data_offsets" (field "data_offsets")
            if offsets.Length <> 2 then fail path (sprintf "tensor '%s': data_offsets has %d values, not 2" name offsets.Length)
            let b, e = offsets.[0], offsets.[1]
            if e < b then fail path (sprintf "tensor '%s': data_offsets [%d, %d] end before they begin" name b e)
            let needed =
                try Array.fold (fun acc s -> Checked.(*) acc s) 1L shape |> fun c -> Checked.(*) c (int64 (Dtype.size dtype))
                with :? OverflowException -> fail path (sprintf "tensor '%s': shape %s overflows" name (Shape.text64 shape))
            if e - b <> needed then
                fail path (sprintf "tensor '%s': data_offsets [%d, %d] hold %d bytes, but %s %s needs %d" name b e (e - b) dtypeText (Shape.text64 shape) needed)
            entries.Add { Name = name; Dtype = dtype; Shape = shape; Begin = b; End = e }
    let dataLength = fileLength - 8L - n
    let ordered = entries |> Seq.sortBy (fun e -> e.Begin, e.End) |> List.ofSeq
    let mutable position = 0L
    let mutable previous = None
    for e in ordered do
        if e.Begin < position then
            let p = previous.Value
            fail path (sprintf "tensor '%s' [%d, %d] overlaps tensor '%s' [%d, %d]" e.Name e.Begin e.End p.Name p.Begin p.End)
        if e.Begin > position then
            fail path (sprintf "data bytes [%d, %d) belong to no tensor (before tensor '%s')" position e.Begin e.Name)
        if e.End > dataLength then
            fail path (sprintf "tensor '%s': data_offsets [%d, %d] go past the end of the data (%d bytes; truncated?)" e.Name e.Begin e.End dataLength)
        position <- e.End
        previous <- Some e
    if position <> dataLength then
        fail path (sprintf "the tensors cover %d data bytes but the file holds %d" position dataLength)
    let raw = Map.ofList rawMetadata
    let extra = raw |> Map.filter (fun k _ -> not (reservedKeys.Contains k))
    let step =
        match raw.TryFind "step" with
        | None -> 0L
        | Some s ->
            match Int64.TryParse(s, Globalization.NumberStyles.None, Globalization.CultureInfo.InvariantCulture) with
            | true, v -> v
            | _ -> fail path (sprintf "metadata 'step' is not a non-negative integer: '%s'" (oneLine s))
    let config = defaultArg (raw.TryFind "config") "{}"
    (try
        use _ = JsonDocument.Parse(config)
        ()
     with :? JsonException as e -> fail path (sprintf "metadata 'config' is not valid JSON: %s" (oneLine e.Message)))
    let metadata = { Pipeline = defaultArg (raw.TryFind "pipeline") ""; Config = config; Step = step; Extra = extra }
    let checksum = raw.TryFind ChecksumKey
    match checksum with
    | Some c when c.Length <> 64 || not (c |> Seq.forall Uri.IsHexDigit) -> fail path (sprintf "metadata '%s' is not 64 hex digits: '%s'" ChecksumKey (oneLine c))
    | _ -> ()
    metadata, ordered, 8L + n, checksum

let private openRead (path: string) =
    try new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)
    with
    | :? FileNotFoundException
    | :? DirectoryNotFoundException -> fail path "file not found"
    | :? IOException
    | :? UnauthorizedAccessException as e -> fail path (sprintf "cannot open: %s" (oneLine e.Message))

/// The metadata only (the header is read and fully validated; the data is not read).
let readMetadata (path: string) : Metadata =
    use stream = openRead path
    let metadata, _, _, _ = readHeader path stream
    metadata

/// Reads every tensor and the metadata, validating the whole file first: header length, JSON,
/// dtypes, shapes against offsets, offsets tiling the data exactly, BOOL bytes 0 or 1.
let load (path: string) : Contents =
    checkHost ()
    use stream = openRead path
    let metadata, entries, dataStart, checksum = readHeader path stream
    use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
    if entries |> List.exists (fun e -> e.End - e.Begin > int64 Array.MaxLength) then
        fail path (sprintf "a tensor is larger than this reader supports (%d bytes)" Array.MaxLength)
    let created = List<string * Tensor>()
    try
        for e in entries do
            let n = int (e.End - e.Begin)
            let buffer = Array.zeroCreate<byte> (max n 1)
            stream.Seek(dataStart + e.Begin, SeekOrigin.Begin) |> ignore
            (try stream.ReadExactly(buffer, 0, n)
             with :? EndOfStreamException -> fail path (sprintf "tensor '%s': file ended inside its data (changed while reading?)" e.Name))
            // Entries tile the data in order, so this hashes the whole data region.
            hash.AppendData(buffer, 0, n)
            if e.Dtype = Dtype.Bool then
                match Array.tryFindIndex (fun b -> b > 1uy) (Array.sub buffer 0 n) with
                | Some k -> fail path (sprintf "tensor '%s': BOOL element %d is byte %d, not 0 or 1" e.Name k buffer.[k])
                | None -> ()
            let pin = GCHandle.Alloc(buffer, GCHandleType.Pinned)
            let t =
                try Tensor.OfPtr(rc_tensor_from_data (pin.AddrOfPinnedObject(), int64 n, Dtype.code e.Dtype, e.Shape, e.Shape.Length))
                finally pin.Free()
            created.Add((e.Name, t))
        match checksum with
        | Some expected when not (String.Equals(expected, Convert.ToHexStringLower(hash.GetHashAndReset()), StringComparison.OrdinalIgnoreCase)) ->
            fail path (sprintf "tensor data does not match its '%s' checksum (corrupted)" ChecksumKey)
        | _ -> ()
        { Path = path; Tensors = List.ofSeq created; Metadata = metadata }
    with _ ->
        for _, t in created do
            (t :> IDisposable).Dispose()
        reraise ()

// ------------------------------------------------------------------------------ training state

/// Name prefix of generator states in a checkpoint.
[<Literal>]
let RngPrefix = "rng."

/// What resuming training needs, by reference to the live objects. In the file, parameters and
/// buffers keep their own names (like a PyTorch state_dict), the optimizer's state is under
/// "optim.", each generator's state is "rng.<name>".
type TrainingState =
    { /// Trained tensors (leaves requiring grad).
      Parameters: (string * Tensor) list
      /// Other model state (e.g. running statistics).
      Buffers: (string * Tensor) list
      Optimizer: Optim.Optimizer option
      Generators: (string * Generator) list }

    /// Parameters only (for inference or fine-tuning from weights).
    static member model(parameters: (string * Tensor) list) =
        { Parameters = parameters; Buffers = []; Optimizer = None; Generators = [] }

let private checkNames (what: string) (state: TrainingState) =
    for name, _ in state.Parameters @ state.Buffers do
        if name.StartsWith Optim.StatePrefix || name.StartsWith RngPrefix then
            invalidArg "state" (sprintf "%s: model tensor name '%s' uses a reserved prefix ('%s' or '%s')" what name Optim.StatePrefix RngPrefix)

/// Saves parameters, buffers, optimizer state and generator states; `metadata.Extra` gets
/// "optimizer" = the algorithm name when there is an optimizer.
let saveTraining (path: string) (state: TrainingState) (metadata: Metadata) : unit =
    checkNames (sprintf "Checkpoint.saveTraining %s" path) state
    use scope = DisposalScope.Open()
    let optimizer = state.Optimizer |> Option.map (fun o -> o.State()) |> Option.defaultValue []
    let rng = state.Generators |> List.map (fun (name, g) -> RngPrefix + name, g.GetState())
    let metadata =
        match state.Optimizer with
        | Some o -> { metadata with Extra = metadata.Extra.Add("optimizer", o.Algorithm) }
        | None -> metadata
    save path (state.Parameters @ state.Buffers @ optimizer @ rng) metadata

// ArgumentException appends " (Parameter 'x')"; the file name is what matters here.
let private argumentMessage (e: ArgumentException) =
    let suffix = sprintf " (Parameter '%s')" e.ParamName
    if not (isNull e.ParamName) && e.Message.EndsWith suffix then e.Message.Substring(0, e.Message.Length - suffix.Length)
    else e.Message

let private describe (t: Tensor) = Shape.describe t.Dtype t.Shape

let private isTrainingState (name: string) = name.StartsWith Optim.StatePrefix || name.StartsWith RngPrefix

/// Pairs each of `model`'s tensors with the file's tensor of its name, checking names and shapes
/// (and dtypes unless `cast`): every model tensor must be in the file, and every tensor of the
/// file must be a model tensor or one `spare` names.
let private matchModel (path: string) (contents: Contents) (model: (string * Tensor) list) (spare: string -> bool) (cast: bool) =
    let byName = dict contents.Tensors
    let wanted = HashSet<string>(model |> List.map fst)
    for name, _ in contents.Tensors do
        if not (spare name || wanted.Contains name) then
            fail path (sprintf "tensor '%s' matches no parameter or buffer of the model" name)
    [ for name, target in model do
          match byName.TryGetValue name with
          | false, _ -> fail path (sprintf "no tensor '%s' (the model's %s)" name (describe target))
          | true, source ->
              if source.Shape <> target.Shape || (not cast && source.Dtype <> target.Dtype) then
                  fail path (sprintf "tensor '%s' is %s, the model expects %s" name (describe source) (describe target))
              yield target, source ]

/// Copies a checkpoint's weights into `model`'s tensors in place (no-grad), each cast to its
/// tensor's dtype (a float16 file into a float32 model). Names and shapes are checked as
/// `restoreTraining` checks them; the file's optimizer and generator states, and the tensors
/// `spare` names, are left unread. Nothing changes if a check fails. Returns the metadata.
let restoreWeights (path: string) (model: (string * Tensor) list) (spare: string -> bool) : Metadata =
    use scope = DisposalScope.Open()
    use contents = load path
    let copies = matchModel path contents model (fun name -> isTrainingState name || spare name) true
    use _ = Autograd.noGrad ()
    for target, source in copies do
        target.copy_ source |> ignore
    contents.Metadata

/// Restores a checkpoint written by `saveTraining` into the live objects: values are copied into
/// the existing parameters and buffers in place (no-grad), after checking every name, shape and
/// dtype; the optimizer (if given) and generators get their saved state. Every model tensor of
/// the file must be used, and every requested one present. Nothing changes if a check fails.
/// Returns the metadata (its Step is where to resume).
let restoreTraining (path: string) (state: TrainingState) : Metadata =
    checkNames (sprintf "Checkpoint.restoreTraining %s" path) state
    use scope = DisposalScope.Open()
    use contents = load path
    let byName = dict contents.Tensors
    let copies = matchModel path contents (state.Parameters @ state.Buffers) isTrainingState false
    let generators =
        [ for name, g in state.Generators do
              let key = RngPrefix + name
              match byName.TryGetValue key with
              | false, _ -> fail path (sprintf "no generator state '%s'" key)
              | true, source ->
                  use current = g.GetState()
                  if source.Dtype <> Dtype.UInt8 || source.Shape <> current.Shape then
                      fail path (sprintf "generator state '%s' is %s, expected %s" key (describe source) (describe current))
                  yield g, source ]
    match state.Optimizer with
    | Some o ->
        match contents.Metadata.Extra.TryFind "optimizer" with
        | Some saved when saved <> o.Algorithm -> fail path (sprintf "saved with optimizer %s, restoring into %s" saved o.Algorithm)
        | _ -> ()
        try o.LoadState contents.Tensors
        with :? ArgumentException as e -> fail path (oneLine (argumentMessage e))
    | None -> ()
    for g, source in generators do
        g.SetState source
    do
        use _ = Autograd.noGrad ()
        for target, source in copies do
            target.copy_ source
    contents.Metadata
